"""RM: a reward model, a scalar head that learns to rank chosen above rejected.

The base model gets a one-output sequence-classification head; LoRA trains the
body and the head is trained in full. The result (adapter + head) is what PPO
and GRPO load as a reward model.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from engine.contract.schema_base import StrictModel

FORMATS = ("preference",)
MODEL_KIND = "sequence_classification"


class Params(StrictModel):
    """Parameters of reward-model training."""

    name: Literal["rm"] = "rm"
    center_rewards_coefficient: float | None = Field(
        0.01, ge=0.0, description="Pulls the mean reward towards 0 so scores stay comparable across runs."
    )

