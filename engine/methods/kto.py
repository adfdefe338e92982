"""KTO: learn from unpaired thumbs-up/thumbs-down answers with a prospect-theory loss."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from engine.contract.schema_base import StrictModel

FORMATS = ("unpaired",)


class Params(StrictModel):
    """Parameters of Kahneman-Tversky Optimization."""

    name: Literal["kto"] = "kto"
    beta: float = Field(0.1, gt=0.0, le=10.0, description="How far the policy may move from the reference.")
    desirable_weight: float = Field(1.0, gt=0.0, description="Weight of the thumbs-up examples' loss.")
    undesirable_weight: float = Field(1.0, gt=0.0, description="Weight of the thumbs-down examples' loss.")

