"""Held-out rows: the part of a dataset a run evaluates on and never trains on.

Rows are held out by prompt, not one by one: two rows with the same prompt (a
preference pair's twin, a KTO prompt with a good and a bad answer, a GRPO prompt
that appears twice) go to the same side, so the model is never scored on a
prompt it trained on. Which prompts are held out depends only on the rows and
the seed, so a resumed run holds out the same ones.

``size`` is a share of the prompts when below 1 (``0.1``: a tenth), a number
of prompts from 1 up, or ``"auto"``: a tenth, at least ``AUTO_MIN`` and at
most ``AUTO_MAX`` prompts, and none for a dataset under ``AUTO_FROM`` prompts,
where every row is needed for training.
"""

from __future__ import annotations

import json
import random
from typing import Any

from engine.data.errors import DatasetError

AUTO_SHARE = 0.1
AUTO_FROM = 50
AUTO_MIN = 5
AUTO_MAX = 200


def prompt_key(row: dict[str, Any]) -> str:
    """What a row asks, as one string: its prompt, or its conversation before the last answer, or its text."""
    if "prompt" in row:
        asked = row["prompt"]
    elif "messages" in row:
        turns = row["messages"] or []
        asked = turns[:-1] if turns and turns[-1].get("role") == "assistant" else turns
    else:
        asked = row.get("text")
    return json.dumps(asked, sort_keys=True, ensure_ascii=False, default=str)


def held_out_count(prompts: int, size: float | int | str) -> int:
    """How many of ``prompts`` distinct prompts ``size`` holds out."""
    if size == "auto":
        if prompts < AUTO_FROM:
            return 0
        return min(AUTO_MAX, max(AUTO_MIN, round(prompts * AUTO_SHARE)))
    if isinstance(size, bool) or not isinstance(size, (int, float)) or size < 0:
        raise ValueError(f"a held-out size is a share below 1, a number of prompts, or 'auto'; got {size!r}")
    if size < 1:
        return max(1, round(prompts * size)) if size > 0 else 0
    return int(size)


def split_held_out(rows: list[dict[str, Any]], size: float | int | str, seed: int,
                   where: str = "eval.size") -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(training rows, held-out rows)``, each in the dataset's order; refuses a split that leaves no training.

    ``where`` names the setting in the message, so the person knows what to change.
    """
    groups: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        groups.setdefault(prompt_key(row), []).append(index)
    count = held_out_count(len(groups), size)
    if count == 0:
        return list(rows), []
    if count >= len(groups):
        raise DatasetError(f"{where} = {size!r} holds out {count} of the dataset's {len(groups)} distinct prompts, "
                           "which leaves none to train on. Hold out fewer (a share such as 0.1, or a smaller "
                           "number), or name a separate eval dataset.")
    keys = sorted(groups)  # a stable order, whatever order the rows came in
    held = set(random.Random(seed).sample(keys, count))
    held_rows = {i for key in held for i in groups[key]}
    return ([row for i, row in enumerate(rows) if i not in held_rows],
            [row for i, row in enumerate(rows) if i in held_rows])
