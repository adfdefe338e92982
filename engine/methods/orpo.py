"""ORPO: supervised fine-tuning plus an odds-ratio preference term, in one step,
with no reference model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from engine.contract.schema_base import StrictModel

if TYPE_CHECKING:  # pragma: no cover
    from engine.training.trainer_context import TrainerContext

FORMATS = ("preference",)


class Params(StrictModel):
    """Parameters of Odds Ratio Preference Optimization."""

    name: Literal["orpo"] = "orpo"
    beta: float = Field(0.1, gt=0.0, le=10.0, description="Weight of the odds-ratio term against the SFT loss "
                        "(the paper's lambda).")


def build_trainer(ctx: "TrainerContext") -> Any:
    from trl.experimental.orpo import ORPOConfig, ORPOTrainer

    params: Params = ctx.config.method  # type: ignore[assignment]
    args = ORPOConfig(**ctx.training_arguments(), beta=params.beta, max_length=ctx.config.model.max_seq_length)
    return ORPOTrainer(model=ctx.model, args=args, train_dataset=ctx.train_dataset, processing_class=ctx.tokenizer,
                       callbacks=ctx.callbacks)
