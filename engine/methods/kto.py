"""KTO: learn from unpaired thumbs-up/thumbs-down answers with a prospect-theory loss."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from engine.contract.schema_base import StrictModel

if TYPE_CHECKING:  # pragma: no cover
    from engine.training.trainer_context import TrainerContext

FORMATS = ("unpaired",)


class Params(StrictModel):
    """Parameters of Kahneman-Tversky Optimization."""

    name: Literal["kto"] = "kto"
    beta: float = Field(0.1, gt=0.0, le=10.0, description="How far the policy may move from the reference.")
    desirable_weight: float = Field(1.0, gt=0.0, description="Weight of the thumbs-up examples' loss.")
    undesirable_weight: float = Field(1.0, gt=0.0, description="Weight of the thumbs-down examples' loss.")


def build_trainer(ctx: "TrainerContext") -> Any:
    from trl import KTOConfig, KTOTrainer

    params: Params = ctx.config.method  # type: ignore[assignment]
    args = KTOConfig(
        **ctx.training_arguments(),
        beta=params.beta,
        desirable_weight=params.desirable_weight,
        undesirable_weight=params.undesirable_weight,
        max_length=ctx.config.model.max_seq_length,
    )
    return KTOTrainer(model=ctx.model, args=args, train_dataset=ctx.train_dataset, processing_class=ctx.tokenizer,
                      callbacks=ctx.callbacks)
