"""Base against tuned, prompt by prompt: one reward function's scores on both sides, summarised.

Pure Python: ``rft eval`` (through ``engine.generation.compare``) and the
playground's running table both summarise with it, so "better" means the same
on the command line and on the screen.
"""

from __future__ import annotations

import statistics
from typing import Any


def compare_scores(name: str, base: list[float], tuned: list[float]) -> dict[str, Any]:
    """Each side's mean, and the share of prompts where the tuned answer scored better, the same or worse
    than the base model's answer to the same prompt (``base[i]`` and ``tuned[i]`` answer prompt ``i``)."""
    if len(base) != len(tuned) or not base:
        raise ValueError(f"{name}: {len(base)} base and {len(tuned)} tuned scores; need the same number, at least 1")
    n = len(base)
    better = sum(t > b for b, t in zip(base, tuned))
    worse = sum(t < b for b, t in zip(base, tuned))
    return {"name": name, "base": statistics.fmean(base), "tuned": statistics.fmean(tuned), "better": better / n,
            "equal": (n - better - worse) / n, "worse": worse / n, "prompts": n}
