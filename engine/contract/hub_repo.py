"""Hugging Face Hub repo ids as a person types them (``ORG/NAME``), checked without the network."""

from __future__ import annotations

import re

_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def repo_id_problem(text: str) -> str | None:
    """What is wrong with ``text`` as a model repo id, in words; None when the Hub would take it."""
    text = text.strip()
    if not text:
        return "give the repo as ORG/NAME (your user name or an organisation, then the model's name)"
    if text.count("/") != 1:
        return f"{text!r} is not ORG/NAME: it needs exactly one '/', like 'me/qwen-math-lora'"
    owner, name = text.split("/")
    for part, what in ((owner, "the user or organisation"), (name, "the name")):
        if not part:
            return f"{what} is missing in {text!r}"
        if not _PART.fullmatch(part):
            return (f"{what} {part!r} may hold only letters, digits, '-', '_' and '.', and must start with a "
                    "letter or digit")
        if "--" in part or ".." in part or part.endswith((".", "-")):
            return f"{what} {part!r} may not hold '--' or '..' nor end with '.' or '-'"
    if len(name) > 96:
        return f"the name is {len(name)} characters long; the Hub takes at most 96"
    return None
