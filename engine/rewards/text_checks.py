"""Built-in rewards that check the text's shape: a regex, valid JSON, keywords (pure Python)."""

from __future__ import annotations

import json
import re
from typing import Any

from engine.rewards.builtin import RewardFunction, completion_text, extract_answer


def _text(completion: Any) -> str:
    return completion_text(completion)


def _answer_or_all(text: str) -> str:
    """The content of the last <answer> tag if there is one, else the whole text."""
    inside = extract_answer(text)
    return inside if inside is not None else text


def make_regex_reward(pattern: str, flags: str = "") -> RewardFunction:
    """1.0 when ``pattern`` is found in the answer, else 0.0. ``flags``: any of 'i' (ignore case), 's', 'm'."""
    bits = 0
    for flag in flags:
        if flag not in "ism":
            raise ValueError(f"regex flag {flag!r} is not one of i, s, m")
        bits |= {"i": re.IGNORECASE, "s": re.DOTALL, "m": re.MULTILINE}[flag]
    try:
        compiled = re.compile(pattern, bits)
    except re.error as error:
        raise ValueError(f"regex pattern {pattern!r} is invalid: {error}") from None

    def regex(prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float]:
        return [1.0 if compiled.search(_text(c)) else 0.0 for c in completions]

    return regex


def make_json_reward(required_keys: list[str] | None = None) -> RewardFunction:
    """1.0 for a JSON object (in <answer> if tagged) with every required key; 0.5 if keys are missing; else 0."""
    keys = list(required_keys or [])

    def valid_json(prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float]:
        scores = []
        for completion in completions:
            try:
                value = json.loads(_answer_or_all(_text(completion)).strip())
            except (json.JSONDecodeError, ValueError):
                scores.append(0.0)
                continue
            complete = isinstance(value, dict) and all(k in value for k in keys)
            scores.append(1.0 if complete or (not keys and not isinstance(value, dict)) else 0.5)
        return scores

    return valid_json


def make_keyword_reward(keywords: list[str], case_sensitive: bool = False) -> RewardFunction:
    """The share of ``keywords`` the answer contains (partial credit, so answers differ)."""
    if not keywords:
        raise ValueError("the keywords reward needs a non-empty list: params = { keywords = [\"...\"] }")
    wanted = keywords if case_sensitive else [k.lower() for k in keywords]

    def keywords_present(prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float]:
        scores = []
        for completion in completions:
            text = _text(completion) if case_sensitive else _text(completion).lower()
            scores.append(sum(k in text for k in wanted) / len(wanted))
        return scores

    keywords_present.__name__ = "keywords"
    return keywords_present
