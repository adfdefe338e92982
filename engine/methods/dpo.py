"""DPO: raise the log-probability of chosen over rejected answers, relative to
the reference (the same network with the adapter disabled); no reward model."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from engine.contract.schema_base import StrictModel

FORMATS = ("preference",)


class Params(StrictModel):
    """Parameters of Direct Preference Optimization."""

    name: Literal["dpo"] = "dpo"
    beta: float = Field(0.1, gt=0.0, le=10.0, description="How far the policy may move from the reference "
                        "(higher keeps it closer).")
    loss_type: Literal["sigmoid", "ipo", "hinge", "robust"] = Field("sigmoid", description="DPO loss variant.")
    label_smoothing: float = Field(0.0, ge=0.0, lt=0.5, description="Assumed share of flipped preference labels.")

