"""The values ``model.chat_template`` may take, checked without reading any template (pure Python).

The templates themselves, and what rft derives from them, are in ``engine.models.templates``.
"""

from __future__ import annotations

TEMPLATE_NAMES = ("chatml", "llama3", "gemma", "qwen3")


def is_template_file(setting: str) -> bool:
    return setting.endswith((".jinja", ".j2", ".jinja2")) or "/" in setting


def setting_problem(setting: str) -> str | None:
    """What is wrong with the setting itself, before any model is known (an unknown name)."""
    if setting == "auto" or setting in TEMPLATE_NAMES or is_template_file(setting):
        return None
    return (f"unknown chat template {setting!r}; use 'auto' (the tokenizer's own), one of "
            f"{', '.join(TEMPLATE_NAMES)}, or the path of a .jinja file")
