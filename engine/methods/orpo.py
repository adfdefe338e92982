"""ORPO: supervised fine-tuning plus an odds-ratio preference term, in one step,
with no reference model."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from engine.contract.schema_base import StrictModel

FORMATS = ("preference",)


class Params(StrictModel):
    """Parameters of Odds Ratio Preference Optimization."""

    name: Literal["orpo"] = "orpo"
    beta: float = Field(0.1, gt=0.0, le=10.0, description="Weight of the odds-ratio term against the SFT loss "
                        "(the paper's lambda).")

