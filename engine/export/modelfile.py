"""An Ollama ``Modelfile`` for a GGUF export, carrying the model's chat template and stop tokens.

Ollama templates are Go templates, not Jinja. The model's Jinja template is
rendered with marker messages to learn what wraps each role's words (for
ChatML: ``<|im_start|>user\\n`` … ``<|im_end|>\\n``) and what opens the
answer; those pieces become a Go template. The derivation is checked by
rendering a conversation both ways; a template that cannot be taken apart
this way is left to Ollama, which reads the GGUF's own template.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.models.chat_template import render_chat

_MARK = {"system": "\x01SYSTEM\x01", "user": "\x01USER\x01", "assistant": "\x01ASSISTANT\x01"}


@dataclass
class RoleWrapping:
    """Text before and after each role's content, the answer opener, and a default system prompt."""

    around: dict[str, tuple[str, str]]
    generation_prompt: str
    default_system: str | None
    start: str = ""  # what opens every conversation, e.g. a BOS token

    def render(self, messages: list[dict[str, str]]) -> str:
        """The conversation as the Go template renders it (used to check the derivation)."""
        if self.default_system is not None and (not messages or messages[0]["role"] != "system"):
            messages = [{"role": "system", "content": self.default_system}] + messages
        text = "".join(self.around[m["role"]][0] + m["content"] + self.around[m["role"]][1] for m in messages)
        return self.start + text + self.generation_prompt

    def go_template(self) -> str:
        branches = "".join(
            f'{{{{ {"if" if i == 0 else "else if"} eq .Role "{role}" }}}}{pre}{{{{ .Content }}}}{post}'
            for i, (role, (pre, post)) in enumerate(self.around.items())
        )
        return f"{self.start}{{{{ range .Messages }}}}{branches}{{{{ end }}}}{{{{ end }}}}{self.generation_prompt}"


def _split(block: str, role: str) -> tuple[str, str]:
    if block.count(_MARK[role]) != 1:
        raise ValueError(role)
    pre, post = block.split(_MARK[role])
    return pre, post


def role_wrapping(template: str, config: dict[str, Any]) -> RoleWrapping | None:
    """Take the Jinja template apart into per-role wrappings, or None if it does not decompose."""
    render = lambda messages, gen=False: render_chat(template, config, messages, gen)
    turn = lambda role: {"role": role, "content": _MARK[role]}
    try:
        start = render([])
        strip = lambda text: text[len(start):] if text.startswith(start) else None
        system = strip(render([turn("system")]))
        with_user = strip(render([turn("system"), turn("user")]))
        with_answer = strip(render([turn("system"), turn("user"), turn("assistant")]))
        prompt = strip(render([turn("system"), turn("user")], gen=True))
        user_only = strip(render([turn("user")]))
        if None in (system, with_user, with_answer, prompt, user_only):
            return None
        if not (with_user.startswith(system) and with_answer.startswith(with_user) and prompt.startswith(with_user)):
            return None
        around = {"system": _split(system, "system"), "user": _split(with_user[len(system):], "user"),
                  "assistant": _split(with_answer[len(with_user):], "assistant")}
        user_block = with_user[len(system):]
        default_system = None
        if user_only != user_block:  # the template adds a system prompt of its own
            prefix = user_only[: len(user_only) - len(user_block)] if user_only.endswith(user_block) else None
            pre, post = around["system"]
            if prefix is None or not (prefix.startswith(pre) and prefix.endswith(post)):
                return None
            default_system = prefix[len(pre): len(prefix) - len(post)]
        wrapping = RoleWrapping(around, prompt[len(with_user):], default_system, start)
    except Exception:  # a template that raises for marker messages (e.g. strict role order)
        return None
    sample = [{"role": "user", "content": "What is 2 plus 3?"}, {"role": "assistant", "content": "5"},
              {"role": "user", "content": "And 4 plus 4?"}]
    return wrapping if wrapping.render(sample) == render(sample, True) else None


def stop_tokens(wrapping: RoleWrapping | None, eos_token: str | None, special_tokens: list[str]) -> list[str]:
    """The end-of-sequence token and any special token that closes an answer."""
    stops = [eos_token] if eos_token else []
    closing = wrapping.around["assistant"][1] if wrapping else ""
    stops += [t for t in special_tokens if t and t in closing and t not in stops]
    return stops


def modelfile(gguf_name: str, template: str | None, config: dict[str, Any], eos_token: str | None,
              special_tokens: list[str]) -> str:
    """The Modelfile text for ``ollama create NAME -f Modelfile`` next to the GGUF file."""
    wrapping = role_wrapping(template, config) if template else None
    lines = [f"FROM ./{gguf_name}", ""]
    if wrapping is not None:
        lines.append(f'TEMPLATE """{wrapping.go_template()}"""')
        if wrapping.default_system is not None:
            lines.append(f'SYSTEM """{wrapping.default_system}"""')
    else:
        lines.append("# The chat template could not be translated; Ollama reads the GGUF's own template.")
    lines += [f'PARAMETER stop "{token}"' for token in stop_tokens(wrapping, eos_token, special_tokens)]
    return "\n".join(lines) + "\n"
