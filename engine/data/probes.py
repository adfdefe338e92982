"""The probe prompts of a run: the first distinct prompts of its dataset.

Training answers them every few steps (the samples panel); export answers them
to check what it wrote; the playground offers them as starting points.
"""

from __future__ import annotations

from typing import Any

from engine import data
from engine.contract.config import RunConfig
from engine.methods import MethodSpec

_ANSWER_COLUMNS = {"prompt", "completion", "chosen", "rejected", "label", "messages"}


def probe_rows(config: RunConfig, spec: MethodSpec, chat: bool, n: int,
               prepared: data.PreparedDataset | None = None) -> list[dict[str, Any]]:
    """Up to ``n`` distinct prompts, with their other columns when reward functions need them."""
    if prepared is None or config.rewards:
        prepared = data.prepare(config.dataset, spec.formats, chat=chat, method=spec.title,
                                keep_extra=bool(config.rewards))
    if prepared.format == "text":
        return []
    return distinct_prompt_rows(prepared.rows, n)


def distinct_prompt_rows(rows: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """The first ``n`` distinct prompts of normalised rows, each with the columns a reward function reads
    (the answers are left out: they are what the model is asked to write)."""
    probes, seen = [], set()
    for row in rows:
        prompt = row.get("prompt")
        if prompt is None and "messages" in row:
            turns = row["messages"]
            prompt = turns[:-1] if turns[-1]["role"] == "assistant" else turns
        key = repr(prompt)
        if prompt is None or key in seen:
            continue
        seen.add(key)
        probes.append({"prompt": prompt, **{k: v for k, v in row.items() if k not in _ANSWER_COLUMNS}})
        if len(probes) == n:
            break
    return probes
