"""A model's chat template: rendering prompts and rows the way the model will see them.

The template is Jinja text in the model folder (``chat_template.jinja`` or
``tokenizer_config.json``); rendering it with jinja2 shows a person what the
model will see, and which part of it is trained (the answer) and which is
only context (the prompt), before any model loads. The UI uses this; the
engine's processes use the tokenizer itself (``render_prompts``), which needs no
torch either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class RenderedExample:
    """A row as the model sees it: ``context`` is masked from the loss, ``trained`` is learnt."""

    context: str
    trained: str


def chat_template(model_dir: Path) -> tuple[str | None, dict[str, Any]]:
    """The folder's chat template (or None) and its tokenizer_config (for special tokens)."""
    config: dict[str, Any] = {}
    config_path = model_dir / "tokenizer_config.json"
    if config_path.is_file():
        config = json.loads(config_path.read_text(encoding="utf-8"))
    jinja = model_dir / "chat_template.jinja"
    if jinja.is_file():
        return jinja.read_text(encoding="utf-8"), config
    template = config.get("chat_template")
    if isinstance(template, list):  # several named templates: the default one
        template = next((t["template"] for t in template if t.get("name") == "default"), None)
    return template, config


def _token(config: dict[str, Any], key: str) -> str:
    value = config.get(key)
    return value.get("content", "") if isinstance(value, dict) else (value or "")


def render_chat(template: str, config: dict[str, Any], messages: list[dict[str, str]], generation_prompt: bool) -> str:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = lambda message: (_ for _ in ()).throw(ValueError(message))
    return env.from_string(template).render(
        messages=messages, add_generation_prompt=generation_prompt, bos_token=_token(config, "bos_token"),
        eos_token=_token(config, "eos_token"),
    )


def render_example(row: dict[str, Any], model_dir: Path | None) -> RenderedExample:
    """Show ``row`` (a prepared row) as text, split into context and trained part."""
    answer = row.get("completion", row.get("chosen"))
    prompt = row.get("prompt")
    if "text" in row:
        return RenderedExample("", row["text"])
    if "messages" in row:
        turns = row["messages"]
        prompt, answer = (turns[:-1], turns[-1:]) if turns[-1]["role"] == "assistant" else (turns, None)
    template, config = chat_template(model_dir) if model_dir else (None, {})
    if isinstance(prompt, list) and template:
        context = render_chat(template, config, prompt, generation_prompt=True)
        if answer is None:
            return RenderedExample(context, "")
        full = render_chat(template, config, prompt + list(answer), generation_prompt=False)
        if full.startswith(context):
            return RenderedExample(context, full[len(context):])
        return RenderedExample(context, render_chat(template, config, list(answer), generation_prompt=False))
    text = lambda value: value if isinstance(value, str) else "\n".join(t["content"] for t in value or [])
    return RenderedExample(text(prompt), text(answer) if answer is not None else "")


def render_prompts(tokenizer: Any, prompts: list[Any]) -> list[str]:
    """Chat prompts through the chat template (ready for the answer); strings as they are."""
    return [
        tokenizer.apply_chat_template(p, add_generation_prompt=True, tokenize=False) if isinstance(p, list) else p
        for p in prompts
    ]
