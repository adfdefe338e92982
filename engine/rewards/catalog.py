"""The catalog of built-in rewards: what the UI lists, what the run schema checks names against.

Each entry names a reward, says in a line what it scores, builds it from its
parameters, and says which dataset columns it reads given those parameters
(so a missing column is caught before a run starts). Pure Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from engine.rewards import text_checks
from engine.rewards.builtin import RewardFunction, make_correctness_reward, make_format_reward, make_length_reward


@dataclass(frozen=True)
class RewardInfo:
    """One built-in reward: its name, a one-line summary for the UI, its factory and accepted parameters,
    and the dataset columns it reads given those parameters (checked before a run starts)."""

    name: str
    summary: str
    factory: Callable[..., Callable]
    params: tuple[str, ...] = ()
    columns: Callable[..., tuple[str, ...]] = lambda **params: ()


BUILTIN_REWARDS: dict[str, RewardInfo] = {
    info.name: info
    for info in (
        RewardInfo(
            name="format",
            summary="partial credit for <think>…</think><answer>…</answer> (0.25 per check)",
            factory=make_format_reward,
        ),
        RewardInfo(
            name="correctness",
            summary="1.0 if the <answer> matches the dataset's answer column (0.5 for an untagged match)",
            factory=make_correctness_reward,
            params=("column",),
            columns=lambda column="answer", **_: (column,),
        ),
        RewardInfo(
            name="length",
            summary="1.0 near a target length in characters, falling to 0 far from it",
            factory=make_length_reward,
            params=("target_chars", "tolerance"),
        ),
        RewardInfo(
            name="regex",
            summary="1.0 when a regular expression (params.pattern) is found in the answer",
            factory=lambda **p: text_checks.make_regex_reward(**p),
            params=("pattern", "flags"),
        ),
        RewardInfo(
            name="valid_json",
            summary="1.0 for a JSON object with the required keys (0.5 if keys are missing)",
            factory=lambda **p: text_checks.make_json_reward(**p),
            params=("required_keys",),
        ),
        RewardInfo(
            name="keywords",
            summary="the share of params.keywords the answer contains",
            factory=lambda **p: text_checks.make_keyword_reward(**p),
            params=("keywords", "case_sensitive"),
        ),
    )
}


def make_reward(name: str, **params: Any) -> RewardFunction:
    """Build the built-in reward ``name`` with ``params``; ValueError for an unknown name or parameter."""
    info = BUILTIN_REWARDS.get(name)
    if info is None:
        raise ValueError(f"unknown reward {name!r}; built-in rewards: {', '.join(sorted(BUILTIN_REWARDS))}")
    for param in params:
        if param not in info.params:
            accepted = ", ".join(info.params) if info.params else "none"
            raise ValueError(f"reward {name!r} has no parameter {param!r} (accepted: {accepted})")
    return info.factory(**params)
