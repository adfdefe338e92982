"""The built-in reward functions that score the answer: format, correctness and length.

All rewards follow TRL's signature ``fn(prompts, completions, **kwargs) ->
list[float | None]``. ``completions`` are plain strings or chat-message lists
(the last message's content is scored); ``kwargs`` holds the dataset's other
columns as lists aligned with ``completions`` and trainer keys
(``completion_ids``, ``trainer_state``, ...) that are ignored here. ``None``
means "no score for this row" (TRL skips it when averaging).

The expected output format is ``<think>reasoning</think><answer>72</answer>``
(see ``assets/datasets/arithmetic-sft.jsonl``). A base model emits no tags at
all, and GRPO only learns from a group of samples whose scores differ, so both
the format and the correctness rewards give partial credit.

Format scheme (``format_reward``), four checks worth 0.25 each:

1. a ``<think>…</think>`` block with non-blank content;
2. an ``<answer>…</answer>`` block with non-blank content;
3. the first such think block closes before the last such answer block
   opens (needs 1 and 2);
4. nothing but whitespace after that answer block (needs 2).

So no tags → 0.0, a lone think block → 0.25, a lone ``<answer>42</answer>`` →
0.5, think + answer with trailing text → 0.75, the full format → 1.0.

Correctness scheme (``make_correctness_reward``): if the completion has an
answer tag, its content is compared with the reference: 1.0 when equal
(numerically when both are numbers, tolerating ``$1,234``, ``72.0``, `` 72 ``,
``1/2``; otherwise case- and whitespace-insensitive text), else 0.0. Without a
tag, the last number in the text earns ``UNTAGGED_CREDIT`` (0.5) when it equals
a numeric reference, else 0.0. Rows whose reference is missing score ``None``.

Pure standard library: no torch, so the UI can import it.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any, Callable, Sequence

RewardFunction = Callable[..., list]
"""``fn(prompts, completions, **kwargs) -> list[float | None]``."""

FORMAT_CHECK_WEIGHT = 0.25
UNTAGGED_CREDIT = 0.5

# Innermost blocks: the content may not contain another opening tag.
_THINK_RE = re.compile(r"<think>((?:(?!<think>).)*?)</think>", re.DOTALL)
_ANSWER_RE = re.compile(r"<answer>((?:(?!<answer>).)*?)</answer>", re.DOTALL)
# A number in free text: optional sign (not a minus between two operands),
# thousands separators, decimals, or a simple fraction like 1/2.
_NUMBER_RE = re.compile(r"(?<![\w.])-?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:/\d+)?|\.\d+)")
_THOUSANDS_RE = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_CURRENCY = "$€£¥"


# ---------------------------------------------------------------- helpers


def completion_text(completion: Any) -> str:
    """The text of one completion: a string, or the last message's content of a message list."""
    if completion is None:
        return ""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return _content_text(completion.get("content"))
    if isinstance(completion, (list, tuple)):
        if not completion:
            return ""
        last = completion[-1]
        if isinstance(last, dict):
            return _content_text(last.get("content"))
        if isinstance(last, str):
            return last
    raise TypeError(
        f"a completion must be a string or a list of {{'role', 'content'}} messages, got {type(completion).__name__}"
    )


def _content_text(content: Any) -> str:
    """A message's content: a string, or a list of parts whose ``text`` fields are joined."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, (list, tuple)):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "".join(parts)
    return str(content)


def extract_answer(text: str) -> str | None:
    """The stripped content of the last ``<answer>…</answer>`` block, or None if there is none."""
    matches = _ANSWER_RE.findall(text)
    if not matches:
        return None
    return matches[-1].strip()


def _parse_number(text: str) -> Fraction | None:
    """``text`` as an exact number if the whole of it is one (``$1,234``, ``72.0``, ``-3``, ``1/2``), else None."""
    s = text.strip()
    for symbol in _CURRENCY:
        s = s.replace(symbol, "")
    s = _THOUSANDS_RE.sub("", s).strip().rstrip(".")
    if not s:
        return None
    try:
        value = Fraction(s)
    except (ValueError, ZeroDivisionError):
        return None
    return value


def _numbers_in(text: str) -> list[Fraction]:
    """Every number written in ``text``, in order."""
    found = []
    for match in _NUMBER_RE.finditer(text):
        value = _parse_number(match.group(0))
        if value is not None:
            found.append(value)
    return found


def _normalise_text(text: str) -> str:
    return " ".join(text.split()).casefold()


def _reference_text(reference: Any) -> str | None:
    """The reference as a string, or None when the row has none (None, blank, NaN)."""
    if reference is None:
        return None
    if isinstance(reference, float) and math.isnan(reference):
        return None
    text = str(reference).strip()
    return text or None


def _named(fn: Callable, name: str) -> Callable:
    """Set the name metrics use (``rewards/<__name__>``); ``__qualname__`` stays so pickling works."""
    fn.__name__ = name
    return fn


# ---------------------------------------------------------------- format


def _format_score(text: str) -> float:
    thinks = list(_THINK_RE.finditer(text))
    answers = list(_ANSWER_RE.finditer(text))
    think = next((m for m in thinks if m.group(1).strip()), None)
    answer = next((m for m in reversed(answers) if m.group(1).strip()), None)
    score = 0.0
    if think is not None:
        score += FORMAT_CHECK_WEIGHT
    if answer is not None:
        score += FORMAT_CHECK_WEIGHT
        if think is not None and think.end() <= answer.start():
            score += FORMAT_CHECK_WEIGHT
        if not text[answer.end():].strip():
            score += FORMAT_CHECK_WEIGHT
    return score


def format_reward(prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list[float]:
    """Partial credit in [0, 1] for the ``<think>…</think><answer>…</answer>`` format (scheme in the module doc)."""
    return [_format_score(completion_text(c)) for c in completions]


format_reward = _named(format_reward, "format")


def make_format_reward() -> RewardFunction:
    """The format reward (it takes no parameters; a factory so the registry is uniform)."""
    return format_reward


# ---------------------------------------------------------------- correctness

# Keys TRL passes besides the dataset columns; left out of error messages.
_TRAINER_KEYS = {"completion_ids", "trainer_state", "log_extra", "log_metric", "prompt_ids"}


def _correctness_score(text: str, reference: str) -> float:
    ref_number = _parse_number(reference)
    tagged = extract_answer(text)
    if tagged is not None:
        if ref_number is None:
            return 1.0 if _normalise_text(tagged) == _normalise_text(reference) else 0.0
        value = _parse_number(tagged)
        if value is None:
            inside = _numbers_in(tagged)
            value = inside[0] if len(inside) == 1 else None
        return 1.0 if value is not None and value == ref_number else 0.0
    if ref_number is None:
        return 0.0
    numbers = _numbers_in(text)
    return UNTAGGED_CREDIT if numbers and numbers[-1] == ref_number else 0.0


def make_correctness_reward(column: str = "answer") -> RewardFunction:
    """A correctness reward comparing each completion's answer with the dataset column ``column``."""
    if not isinstance(column, str) or not column:
        raise ValueError(f"correctness reward: column must be a non-empty string, got {column!r}")

    def correctness(prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        references = kwargs.get(column)
        if references is None:
            available = sorted(k for k in kwargs if k not in _TRAINER_KEYS)
            raise ValueError(
                f"correctness reward: the dataset has no {column!r} column to compare answers with "
                f"(columns passed: {', '.join(available) or 'none'})"
            )
        if isinstance(references, (str, bytes)) or not isinstance(references, Sequence):
            raise ValueError(f"correctness reward: column {column!r} must be a list aligned with the completions")
        if len(references) != len(completions):
            raise ValueError(
                f"correctness reward: column {column!r} has {len(references)} values "
                f"for {len(completions)} completions"
            )
        scores: list[float | None] = []
        for completion, reference in zip(completions, references):
            ref = _reference_text(reference)
            scores.append(None if ref is None else _correctness_score(completion_text(completion), ref))
        return scores

    return _named(correctness, "correctness")

correctness_reward = make_correctness_reward("answer")


# ---------------------------------------------------------------- length


def make_length_reward(target_chars: int = 200, tolerance: int = 100) -> RewardFunction:
    """1.0 within ``tolerance`` characters of ``target_chars``, falling linearly to 0 at 3×tolerance away.

    ``tolerance=0`` makes it a step: 1.0 at exactly ``target_chars``, else 0.0.
    """
    for label, value in (("target_chars", target_chars), ("tolerance", tolerance)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"length reward: {label} must be a non-negative integer, got {value!r}")

    def length(prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list[float]:
        scores = []
        for completion in completions:
            distance = abs(len(completion_text(completion)) - target_chars)
            if distance <= tolerance:
                scores.append(1.0)
            elif tolerance == 0:
                scores.append(0.0)
            else:
                scores.append(max(0.0, 1.0 - (distance - tolerance) / (2 * tolerance)))
        return scores

    return _named(length, "length")
