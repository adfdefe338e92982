"""Which columns each format needs, and detecting the format of a dataset."""

from __future__ import annotations

from typing import Any

from engine.contract.config import DatasetConfig
from engine.data.errors import DatasetError

FORMAT_COLUMNS = {
    "messages": ("messages",),
    "prompt_completion": ("prompt", "completion"),
    "text": ("text",),
    "preference": ("prompt", "chosen", "rejected"),
    "unpaired": ("prompt", "completion", "label"),
    "prompt_only": ("prompt",),
}
# Columns that hold the reasoning before an answer, when dataset.reasoning_column does not name one.
REASONING_COLUMNS = ("reasoning", "thinking")
# Columns a format can do without (the prompt of a preference set can be implicit).
OPTIONAL_COLUMNS = {"preference": ("prompt",)}
# The preset setting that maps each canonical column.
COLUMN_SETTINGS = {
    "messages": "messages_column",
    "prompt": "prompt_column",
    "completion": "completion_column",
    "text": "text_column",
    "chosen": "chosen_column",
    "rejected": "rejected_column",
    "label": "label_column",
}


def _mapped_columns(cfg: DatasetConfig) -> dict[str, str]:
    """Canonical column name → the dataset's column name."""
    # getattr: the chosen/rejected/label settings are newer than some configs.
    return {
        "messages": cfg.messages_column or "messages",
        "prompt": cfg.prompt_column or "prompt",
        "completion": cfg.completion_column or "completion",
        "text": cfg.text_column or "text",
        "chosen": getattr(cfg, "chosen_column", None) or "chosen",
        "rejected": getattr(cfg, "rejected_column", None) or "rejected",
        "label": getattr(cfg, "label_column", None) or "label",
    }


def _detection_mapping(columns: set[str], cfg: DatasetConfig) -> dict[str, str]:
    """The column mapping, with ShareGPT's and Alpaca's column names recognised."""
    mapping = _mapped_columns(cfg)
    if "conversations" in columns and "messages" not in columns and not cfg.messages_column:
        mapping["messages"] = "conversations"
    if {"instruction", "output"} <= columns and not cfg.prompt_column:
        mapping["prompt"], mapping["completion"] = "instruction", "output"
    reasoning = getattr(cfg, "reasoning_column", None)
    mapping["reasoning"] = reasoning or next((c for c in REASONING_COLUMNS if c in columns), "")
    return mapping


def _required(fmt: str) -> list[str]:
    return [c for c in FORMAT_COLUMNS[fmt] if c not in OPTIONAL_COLUMNS.get(fmt, ())]


def _quoted(names: list[str]) -> str:
    return ", ".join(repr(name) for name in names)


def detect_format(columns: set[str], cfg: DatasetConfig, accepted: tuple[str, ...], method: str | None = None) -> str:
    """The first accepted format whose columns are all present, or a ``DatasetError``.

    ``method`` (e.g. ``"dpo"``) only makes the error say who needs what.
    """
    mapping = _detection_mapping(columns, cfg)
    who = method.upper() if method else "this method"
    candidates = [cfg.format] if cfg.format != "auto" else list(accepted)
    for fmt in candidates:
        if fmt in accepted and all(mapping[c] in columns for c in _required(fmt)):
            return fmt
    if cfg.format != "auto" and cfg.format not in accepted:
        raise DatasetError(f"dataset.format = {cfg.format!r} does not suit {who}; it accepts {', '.join(accepted)}.")
    needs, settings = [], []
    for fmt in candidates:
        wanted = [mapping[c] for c in FORMAT_COLUMNS[fmt]]
        missing = [c for c in _required(fmt) if mapping[c] not in columns]
        settings += [s for s in (f"dataset.{COLUMN_SETTINGS[c]}" for c in missing) if s not in settings]
        missing_names = [mapping[c] for c in missing]
        need = (f"{fmt}: column{'s' if len(wanted) > 1 else ''} {_quoted(wanted)} "
                f"(missing column{'s' if len(missing) > 1 else ''} {_quoted(missing_names)}")
        for optional in OPTIONAL_COLUMNS.get(fmt, ()):
            need += (f"; {mapping[optional]!r} may be left out when {mapping['chosen']!r} and "
                     f"{mapping['rejected']!r} are whole conversations")
        needs.append(need + ")")
    fits = f"none of the formats {who} accepts fits" if len(candidates) > 1 else f"it does not fit {who}"
    raise DatasetError(
        f"The dataset's columns are {sorted(columns)}; {fits}. "
        f"{who[0].upper() + who[1:]} needs {'one of: ' if len(needs) > 1 else ''}{'; or '.join(needs)}. "
        f"Rename your columns or map them in the preset ({', '.join(settings)}), "
        "e.g. dataset.prompt_column = \"question\"."
    )


def prompt_text(prompt: Any) -> str:
    """The user's words of a prompt: the last user turn of a chat, or the string itself."""
    if isinstance(prompt, list):
        users = [turn["content"] for turn in prompt if turn.get("role") == "user"]
        return users[-1] if users else (prompt[-1]["content"] if prompt else "")
    return str(prompt)
