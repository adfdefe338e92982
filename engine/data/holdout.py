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

from engine.contract.config import DatasetConfig, RunConfig
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


def distinct_prompts(rows: list[dict[str, Any]]) -> int:
    """How many different prompts ``rows`` ask (what ``eval.size`` counts)."""
    return len({prompt_key(row) for row in rows})


def eval_dataset_config(config: RunConfig) -> DatasetConfig | None:
    """``eval.source`` as a dataset read like the training data (same column settings), or None when the
    eval rows are held out of the training data."""
    if config.eval.source is None:
        return None
    return config.dataset.model_copy(update={"source": config.eval.source, "max_rows": None,
                                             "split": config.eval.split or config.dataset.split})


def eval_split(config: RunConfig, formats: tuple[str, ...], method: str, rows: list[dict[str, Any]], chat: bool,
               answers: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """``(training rows, eval rows, eval prompts)`` of one stage, from its prepared training ``rows``.

    The eval rows are ``eval.source``'s, or those held out of ``rows`` (by prompt, seeded). The eval
    prompts are the first ``eval.prompts`` distinct ones among them, with the columns the reward functions
    read (the training rows may have dropped those), for a model that ``answers`` and a run with rewards.
    """
    from engine.data.probes import distinct_prompt_rows
    from engine.data.rows import prepare

    ev, keep_extra = config.eval, answers and bool(config.rewards)
    source = eval_dataset_config(config)
    if source is not None:
        try:
            held = prepare(source, formats, chat=chat, method=method, keep_extra=keep_extra).rows
        except DatasetError as error:
            raise DatasetError(f"eval.source: the eval dataset {ev.source!r}: {error}") from None
        return rows, held, distinct_prompt_rows(held, ev.prompts) if keep_extra else []
    train, held = split_held_out(rows, ev.size, config.training.seed)
    if not held or not keep_extra:
        return train, held, []
    # The same prompts held out of the rows with every column (the split depends only on prompts and seed).
    full = prepare(config.dataset, formats, chat=chat, method=method, keep_extra=True).rows
    return train, held, distinct_prompt_rows(split_held_out(full, ev.size, config.training.seed)[1], ev.prompts)
