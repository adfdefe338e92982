"""How many optimizer steps ``training.num_epochs`` passes over a stage's training rows take.

The count is made before the run starts, from the dataset reading the pre-flight check already has, and
written into the stage's ``max_steps``: the progress bar, the ETA, checkpoints and a resumed run then all
know the total, exactly as for a run given in steps. An epoch is every training row once (every prompt
once for GRPO and PPO, whose batch counts prompts), like the Trainer's own epochs.
"""

from __future__ import annotations

import math

from engine.contract.config import RunConfig


def training_rows(config: RunConfig, rows: int, prompts: int) -> int:
    """The rows left to train on once the held-out share of the prompts is set aside."""
    from engine.data.holdout import held_out_count

    held = held_out_count(prompts, config.eval.size) if config.eval.holds_out and prompts else 0
    return rows - round(rows * held / prompts) if held else rows


def epoch_steps(config: RunConfig, rows: int, prompts: int) -> int:
    """``max_steps`` for ``config.training.num_epochs`` over a dataset of ``rows`` rows and ``prompts`` prompts."""
    t = config.training
    per_epoch = math.ceil(training_rows(config, rows, prompts) / (t.batch_size * t.gradient_accumulation_steps))
    return max(1, math.ceil((t.num_epochs or 1) * per_epoch))


def with_epochs_as_steps(config: RunConfig, rows: int, prompts: int) -> RunConfig:
    """``config`` with ``max_steps`` worked out from ``num_epochs`` (unchanged when that is unset)."""
    if config.training.num_epochs is None:
        return config
    steps = epoch_steps(config, rows, prompts)
    return config.model_copy(update={"training": config.training.model_copy(update={"max_steps": steps})})
