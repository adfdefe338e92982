"""SFT: next-token cross-entropy on demonstrations, through TRL's SFTTrainer.

Datasets arrive normalised by ``engine.data`` to one of three shapes TRL
understands: conversational ``messages``, ``prompt``/``completion`` (strings or
message lists), or plain ``text``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from engine.contract.schema_base import StrictModel

if TYPE_CHECKING:  # pragma: no cover
    from engine.training.trainer_context import TrainerContext

FORMATS = ("messages", "prompt_completion", "text")


class Params(StrictModel):
    """Parameters of supervised fine-tuning."""

    name: Literal["sft"] = "sft"
    completion_only_loss: bool = Field(
        True,
        description="Train only on the answer tokens, not on the prompt "
        "(prompt/completion datasets; for messages, only assistant turns count).",
    )
    packing: bool = Field(
        False,
        description="Pack several short examples into one sequence of max length "
        "(faster on GPUs, changes what one step sees). Needs the Unsloth backend (CUDA).",
    )


def build_trainer(ctx: "TrainerContext") -> Any:
    """Build TRL's SFTTrainer for the run described by ``ctx``."""
    from trl import SFTConfig, SFTTrainer

    params: Params = ctx.config.method  # type: ignore[assignment]
    if params.packing:
        check_packing(ctx.backend.name, getattr(ctx.model.config, "_attn_implementation", None))
    fmt = ctx.dataset_format
    args = SFTConfig(
        **ctx.training_arguments(),
        max_length=ctx.config.model.max_seq_length,
        packing=params.packing,
        # engine.data turns a conversation ending in an assistant turn into
        # prompt/completion, so this masks the prompt for any chat template.
        completion_only_loss=params.completion_only_loss if fmt == "prompt_completion" else None,
        dataset_text_field="text",
    )
    return SFTTrainer(
        model=ctx.model,
        args=args,
        train_dataset=ctx.train_dataset,
        processing_class=ctx.tokenizer,
        callbacks=ctx.callbacks,
    )


PACKING_NEEDS = "packing needs the Unsloth backend (a CUDA GPU with unsloth installed)"


def check_packing(backend: str, attention: str | None) -> None:
    """Refuse packing where packed examples would see each other.

    TRL packs examples into one row and restarts the positions at each; only
    varlen attention (FlashAttention, or Unsloth's kernels) keeps each example
    to itself, and rft asks transformers for neither. With transformers' SDPA
    or eager attention an example attends to every one packed before it, so
    training would quietly learn from the wrong context (measured here: the
    second of two packed sequences' logits differ by ~23 from the same sequence
    alone).
    """
    from engine.contract.config import ConfigError

    if backend == "unsloth" or (attention or "").startswith("flash_attention"):
        return
    raise ConfigError([("method.packing", f"{PACKING_NEEDS}, which keeps packed examples apart; with this model's "
                        f"{attention or 'default'} attention on the {backend} backend the packed examples would "
                        "attend to each other. Set method.packing = false.")])


def packing_warning(requested_backend: str, load_in_4bit: bool) -> str | None:
    """For the Setup screen (no torch): why the worker will refuse packing here, or None when it will not.

    rft loads models with transformers' default attention (SDPA), so only Unsloth packs safely.
    """
    from engine.models.resolve import predict_backend

    if predict_backend(requested_backend, load_in_4bit).startswith("unsloth"):
        return None
    return f"method.{PACKING_NEEDS}; here the run would stop before its first step. Set method.packing = false."
