"""Chat templates by name, and what a template implies: its end-of-turn token, system role and thinking switch.

``model.chat_template`` is ``'auto'`` (the tokenizer's own), one of the named
templates below (for base models that have none, or to replace a broken one),
or a path to a Jinja file. Whichever it is, rft derives the token that ends an
assistant turn from the template itself, by rendering a two-turn chat and
reading what follows the answer, and uses that token as the stop token
everywhere: the training labels end with it, sampling and the playground stop
on it, exports carry it as the tokenizer's EOS and the Modelfile's stop.

``model.enable_thinking`` is baked into the template (a ``set`` at its top), so
an adapter, a merged model or a GGUF answers with the same thinking setting in
transformers, llama.cpp and Ollama. Nothing here imports torch: the Setup
screen and the pre-flight check use it before a model loads.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.contract.template_setting import TEMPLATE_NAMES

ANSWER_PROBE = "rft-answer-probe-7f3"
SYSTEM_PROBE = "rft-system-probe-7f3"
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"


@dataclass(frozen=True)
class NamedTemplate:
    """A chat template rft ships, with the special tokens its text needs in the vocabulary."""

    name: str
    family: str
    jinja: str
    tokens: tuple[str, ...]


_CHATML = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
_LLAMA3 = (
    "{{- bos_token }}"
    "{%- for message in messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + "
    "'<|eot_id|>' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"
)
# Gemma has no system role: like Gemma 3's own template, the system text opens the first user turn.
_GEMMA = (
    "{{- bos_token }}"
    "{%- if messages[0]['role'] == 'system' %}"
    "{%- set first_user_prefix = messages[0]['content'] | trim + '\\n\\n' %}{%- set loop_messages = messages[1:] %}"
    "{%- else %}{%- set first_user_prefix = '' %}{%- set loop_messages = messages %}{%- endif %}"
    "{%- for message in loop_messages %}"
    "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "{{- '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else '') + message['content'] | trim + "
    "'<end_of_turn>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<start_of_turn>model\\n' }}{%- endif %}"
)
# Qwen3's shape: the last answer carries a <think> block (empty when the data has no reasoning), earlier
# answers drop theirs, and enable_thinking = false opens the answer with an empty block.
_QWEN3 = (
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' %}"
    "{%- set content = message['content'] %}{%- set reasoning = message.get('reasoning_content') or '' %}"
    "{%- if not reasoning and '</think>' in content %}"
    "{%- set reasoning = content.split('</think>')[0].split('<think>')[-1].strip('\\n') %}"
    "{%- set content = content.split('</think>')[-1].lstrip('\\n') %}{%- endif %}"
    "{%- if loop.last %}"
    "{{- '<|im_start|>assistant\\n<think>\\n' + reasoning.strip('\\n') + '\\n</think>\\n\\n' + content.lstrip('\\n') "
    "+ '<|im_end|>\\n' }}"
    "{%- else %}{{- '<|im_start|>assistant\\n' + content + '<|im_end|>\\n' }}{%- endif %}"
    "{%- else %}{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}"
    "{%- endif %}"
)

NAMED_TEMPLATES: dict[str, NamedTemplate] = {
    t.name: t for t in (
        NamedTemplate("chatml", "ChatML (Qwen2.5, SmolLM, many others)", _CHATML, ("<|im_start|>", "<|im_end|>")),
        NamedTemplate("llama3", "Llama 3.x", _LLAMA3, ("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>")),
        NamedTemplate("gemma", "Gemma 2 and 3", _GEMMA, ("<start_of_turn>", "<end_of_turn>")),
        NamedTemplate("qwen3", "Qwen3 (thinking)", _QWEN3, ("<|im_start|>", "<|im_end|>")),
    )
}


assert tuple(NAMED_TEMPLATES) == TEMPLATE_NAMES, "the schema's template names are the templates shipped here"


class TemplateError(ValueError):
    """A template that cannot be used; ``key`` is the setting to change, the message says why and how."""

    def __init__(self, message: str, key: str = "model.chat_template"):
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class ChatFormat:
    """How chats are written for one model under one setup, and how its turns end."""

    template: str | None  # the Jinja text, thinking fixed; None: the model has no template (text only)
    end_of_turn: str | None  # the token that closes an answer: the stop token
    system_role: bool  # False: a system prompt is folded into the first user turn
    thinking: bool  # the template has a thinking switch
    origin: str  # for people: "the tokenizer's own", "'chatml'", "the file …"


def chat_format(setting: str, enable_thinking: bool | None, own: str | None, special_tokens: list[str],
                bos: str = "", eos: str = "", vocabulary: set[str] | None = None) -> ChatFormat:
    """The chat format ``model.chat_template`` and ``model.enable_thinking`` give a model whose own template
    is ``own``; ``vocabulary`` (when known) must hold a named template's special tokens."""
    template = template_text(setting, own)
    origin = ("the tokenizer's own" if setting == "auto" else f"{setting!r}" if setting in NAMED_TEMPLATES
              else f"the file {setting}")
    if template is None:
        if enable_thinking is not None:
            raise TemplateError("model.enable_thinking is set but the model has no chat template to pass it to; "
                                "remove it, or set model.chat_template = 'qwen3'", key="model.enable_thinking")
        return ChatFormat(None, eos or None, False, False, "none")
    if setting in NAMED_TEMPLATES and vocabulary is not None:
        missing = [t for t in NAMED_TEMPLATES[setting].tokens if t not in vocabulary]
        if missing:
            raise TemplateError(
                f"the {setting!r} template writes the special tokens {', '.join(missing)}, which this model's "
                "tokenizer does not have (they would be split into pieces and never stop an answer); pick the "
                f"template of the model's family ({', '.join(n for n in NAMED_TEMPLATES if n != setting)}) or "
                "a .jinja file that uses the model's own tokens")
    problem = two_turn_problem(template, bos, eos)
    if problem:
        raise TemplateError(f"the chat template ({origin}) cannot be used: {problem}. Fix the template, or set "
                            "model.chat_template to one of " + ", ".join(NAMED_TEMPLATES))
    thinking = has_thinking_switch(template)
    if enable_thinking is not None and not thinking:
        raise TemplateError(f"model.enable_thinking is set, but the chat template ({origin}) has no thinking "
                            "switch (no 'enable_thinking' in it); remove model.enable_thinking, or use a "
                            "thinking template such as model.chat_template = 'qwen3'", key="model.enable_thinking")
    tokens = list(special_tokens) + (list(NAMED_TEMPLATES[setting].tokens) if setting in NAMED_TEMPLATES else [])
    template = with_thinking(template, enable_thinking)
    return ChatFormat(template, end_of_turn(template, tokens, bos, eos), has_system_role(template, bos, eos),
                      thinking, origin)


def template_text(setting: str, own: str | None) -> str | None:
    """The Jinja text ``setting`` stands for; ``own`` is the tokenizer's template (used for 'auto')."""
    if setting == "auto":
        return own
    if setting in NAMED_TEMPLATES:
        return NAMED_TEMPLATES[setting].jinja
    path = Path(setting).expanduser()
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TemplateError(f"the chat template file {str(path)!r} does not exist; check model.chat_template") \
            from None
    except (OSError, UnicodeDecodeError) as error:
        raise TemplateError(f"the chat template file {str(path)!r} cannot be read ({error})") from None


def with_thinking(template: str, enable_thinking: bool | None) -> str:
    """The template with ``enable_thinking`` fixed, so every reader of the saved template renders alike."""
    if enable_thinking is None:
        return template
    flag = "true" if enable_thinking else "false"
    marker = "{%- set enable_thinking = "
    if template.startswith(marker):  # already baked (a tokenizer saved by an earlier run): replace it
        template = template.split("%}", 1)[1]
    return f"{marker}{flag} %}}" + template


def has_thinking_switch(template: str | None) -> bool:
    return bool(template) and "enable_thinking" in template


def render(template: str, messages: list[dict[str, Any]], generation_prompt: bool, bos: str = "",
           eos: str = "", **kwargs: Any) -> str:
    """Render with jinja2's sandbox as transformers does (its ``tojson``, ``strftime_now``, ``{% generation %}``
    and loop controls), so a model's own template reads the same here; ``raise_exception`` raises
    ``TemplateError``."""
    from jinja2.exceptions import TemplateError as JinjaError

    try:
        return _compiled(template).render(messages=messages, add_generation_prompt=generation_prompt,
                                          bos_token=bos, eos_token=eos, **kwargs)
    except TemplateError:
        raise
    except (JinjaError, TypeError, KeyError, AttributeError, IndexError, ValueError) as error:
        raise TemplateError(f"{type(error).__name__}: {error}") from None


@functools.lru_cache(maxsize=32)
def _compiled(template: str) -> Any:
    """A template compiled once: prompts are rendered again at every sampling and evaluation step."""
    return _environment().from_string(template)


@functools.cache
def _environment() -> Any:
    import jinja2
    from jinja2.ext import Extension
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class GenerationBlock(Extension):
        """``{% generation %}…{% endgeneration %}`` marks the assistant's part for masking; here it renders its body."""

        tags = {"generation"}

        def parse(self, parser: Any) -> Any:
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return jinja2.nodes.CallBlock(self.call_method("_body"), [], [], body).set_lineno(lineno)

        def _body(self, caller: Any) -> str:
            return caller()

    def raise_exception(message: str) -> None:
        raise TemplateError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationBlock, "jinja2.ext.loopcontrols"])
    env.filters["tojson"] = lambda value, ensure_ascii=False, indent=None, separators=None, sort_keys=False: \
        json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return env


def has_system_role(template: str, bos: str = "", eos: str = "") -> bool:
    """Whether the template renders a system turn (Gemma's raise on one, or drop it)."""
    chat = [{"role": "system", "content": SYSTEM_PROBE}, {"role": "user", "content": "hi"}]
    try:
        return SYSTEM_PROBE in render(template, chat, True, bos, eos)
    except TemplateError:
        return False


def merge_system(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A chat's system turn folded into its first user turn (what Gemma's own template does)."""
    if not turns or turns[0]["role"] != "system":
        return turns
    system, rest = turns[0]["content"], turns[1:]
    for i, turn in enumerate(rest):
        if turn["role"] == "user":
            merged = dict(turn, content=f"{system.strip()}\n\n{turn['content']}")
            return rest[:i] + [merged] + rest[i + 1:]
    return [{"role": "user", "content": system}] + rest


def end_of_turn(template: str, special_tokens: list[str], bos: str = "", eos: str = "") -> str | None:
    """The special token that closes an assistant turn in this template (``eos`` when none follows)."""
    chat = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": ANSWER_PROBE}]
    text = render(template, chat, False, bos, eos)
    if ANSWER_PROBE not in text:
        return None
    after = text.split(ANSWER_PROBE, 1)[1].lstrip()
    for token in sorted({t for t in special_tokens if t}, key=len, reverse=True):
        if after.startswith(token):
            return token
    return eos or None


def two_turn_problem(template: str, bos: str = "", eos: str = "") -> str | None:
    """Why the template cannot serve a chat: it fails to render, or loses the question or the answer."""
    chat = [{"role": "user", "content": "rft-question-probe"}, {"role": "assistant", "content": ANSWER_PROBE}]
    try:
        full = render(template, chat, False, bos, eos)
        prompt = render(template, chat[:1], True, bos, eos)
    except TemplateError as error:
        return f"it does not render a two-turn chat ({error})"
    if "rft-question-probe" not in full or ANSWER_PROBE not in full:
        return "it renders a two-turn chat without the user's question or the assistant's answer"
    if "rft-question-probe" not in prompt:
        return "it renders a prompt (add_generation_prompt) without the user's question"
    return None


def split_thinking(answer: str) -> tuple[str, str]:
    """An answer's rendered text split after its ``</think>`` block (and the blank lines after it)."""
    if THINK_CLOSE not in answer:
        return "", answer
    head, _, tail = answer.partition(THINK_CLOSE)
    rest = tail.lstrip("\n")
    return head + THINK_CLOSE + tail[: len(tail) - len(rest)], rest
