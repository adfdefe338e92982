"""RM+PPO: one run, two stages. Stage 1 trains a reward model on preference
pairs; stage 2 runs PPO against it (plus any reward functions)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from engine.methods import ppo

FORMATS = ppo.FORMATS


class Params(ppo.Params):
    """PPO's parameters plus the reward-model stage's."""

    name: Literal["rm_ppo"] = "rm_ppo"  # type: ignore[assignment]
    rm_dataset: str = Field("builtin:arithmetic-preference", description="Preference pairs (prompt, chosen, "
                            "rejected) the reward model learns from in stage 1.")
    rm_steps: int = Field(40, ge=1, description="Optimizer steps of the reward-model stage.")
    rm_learning_rate: float = Field(1e-3, gt=0.0, le=1.0, description="Learning rate of the reward-model stage.")

