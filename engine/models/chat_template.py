"""A model's chat template: rendering prompts and rows the way the model will see them.

The template is Jinja text in the model folder (``chat_template.jinja`` or
``tokenizer_config.json``), or the one ``model.chat_template`` names
(``model_chat_format``); rendering it with jinja2 shows a person what the
model will see, and which part of it is trained (the answer) and which is
only context (the prompt, and the ``<think>`` part when it is not trained),
before any model loads. The UI uses this; the engine's processes use the
tokenizer itself (``render_prompts``), which needs no torch either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.models.templates import (NAMED_TEMPLATES, ChatFormat, chat_format, has_system_role, merge_system, render,
                                     split_thinking)


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


def special_tokens(config: dict[str, Any], raw: dict[str, Any]) -> list[str]:
    """The special and added tokens named by a tokenizer_config (``config``) and its tokenizer.json (``raw``)."""
    found = [_token(config, key) for key in ("bos_token", "eos_token", "pad_token", "unk_token")]
    found += [t.get("content", "") for t in (config.get("added_tokens_decoder") or {}).values() if isinstance(t, dict)]
    for key in ("additional_special_tokens", "extra_special_tokens"):
        extra = config.get(key) or []
        found += list(extra.values()) if isinstance(extra, dict) else [t for t in extra if isinstance(t, str)]
    found += [t.get("content", "") for t in raw.get("added_tokens", []) if isinstance(t, dict)]
    return [t for t in dict.fromkeys(found) if t]


def vocabulary(raw: dict[str, Any]) -> set[str] | None:
    """Every token of a tokenizer.json (None when there is none to read)."""
    if not raw:
        return None
    vocab = raw.get("model", {}).get("vocab", {})
    pieces = set(vocab) if isinstance(vocab, dict) else {entry[0] for entry in vocab}
    return pieces | {t.get("content", "") for t in raw.get("added_tokens", [])}


def tokenizer_json(model_dir: Path) -> dict[str, Any]:
    """The folder's tokenizer.json, parsed once per reader (it can be megabytes); {} when absent or broken."""
    path = model_dir / "tokenizer.json"
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError):
        return {}


def model_chat_format(model_dir: Path | None, setting: str = "auto", enable_thinking: bool | None = None,
                      check_vocabulary: bool = True) -> ChatFormat:
    """The chat format a setup gives the model in ``model_dir``, read from its files (``TemplateError`` when the
    setting cannot work). ``None`` stands for the built-in model before its first conversion (ChatML)."""
    if model_dir is None:
        own, config, tokens = NAMED_TEMPLATES["chatml"].jinja, {"eos_token": "<|im_end|>"}, ["<|im_end|>"]
        vocab = None
    else:
        own, config = chat_template(model_dir)
        raw = tokenizer_json(model_dir)
        tokens = special_tokens(config, raw)
        vocab = vocabulary(raw) if check_vocabulary and setting != "auto" else None
    return chat_format(setting, enable_thinking, own, tokens, _token(config, "bos_token"),
                       _token(config, "eos_token"), vocab)


def render_chat(template: str, config: dict[str, Any], messages: list[dict[str, str]], generation_prompt: bool) -> str:
    return render(template, messages, generation_prompt, _token(config, "bos_token"), _token(config, "eos_token"))


def render_example(row: dict[str, Any], model_dir: Path | None, chat: ChatFormat | None = None,
                   train_on_thinking: bool = True) -> RenderedExample:
    """Show ``row`` (a prepared row) as text, split into context and trained part.

    ``chat`` is the setup's chat format (default: the folder's own template); with ``train_on_thinking``
    false, an answer's ``<think>`` block is context, as the trainer will see it.
    """
    answer = row.get("completion", row.get("chosen"))
    prompt = row.get("prompt")
    if "text" in row:
        return RenderedExample("", row["text"])
    if "messages" in row:
        turns = row["messages"]
        prompt, answer = (turns[:-1], turns[-1:]) if turns[-1]["role"] == "assistant" else (turns, None)
    own, config = chat_template(model_dir) if model_dir else (None, {})
    if chat is None and own:
        chat = chat_format("auto", None, own, special_tokens(config, tokenizer_json(model_dir)),
                           _token(config, "bos_token"), _token(config, "eos_token"))
    if isinstance(prompt, list) and chat is not None and chat.template:
        if not chat.system_role:
            prompt = merge_system(prompt)
        bos, eos = _token(config, "bos_token"), _token(config, "eos_token")
        context = render(chat.template, prompt, True, bos, eos)
        if answer is None:
            return RenderedExample(context, "")
        full = render(chat.template, prompt + list(answer), False, bos, eos)
        trained = full[len(context):] if full.startswith(context) else \
            render(chat.template, list(answer), False, bos, eos)
        if not train_on_thinking:
            thought, trained = split_thinking(trained)
            context += thought
        return RenderedExample(context, trained)
    text = lambda value: value if isinstance(value, str) else "\n".join(t["content"] for t in value or [])
    return RenderedExample(text(prompt), text(answer) if answer is not None else "")


def render_prompts(tokenizer: Any, prompts: list[Any]) -> list[str]:
    """Chat prompts through the chat template (ready for the answer); strings as they are. A template
    without a system role (Gemma) gets the system prompt in the first user turn, as in training."""
    template = tokenizer.chat_template if isinstance(tokenizer.chat_template, str) else None
    fold = template is not None and any(isinstance(p, list) and p and p[0].get("role") == "system" for p in prompts) \
        and not has_system_role(template, tokenizer.bos_token or "", tokenizer.eos_token or "")
    return [
        tokenizer.apply_chat_template(merge_system(p) if fold else p, add_generation_prompt=True, tokenize=False)
        if isinstance(p, list) else p
        for p in prompts
    ]
