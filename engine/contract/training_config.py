"""The ``[lora]`` and ``[training]`` sections of a run's config: the adapter and the optimisation loop."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from engine.contract.schema_base import StrictModel


FULL_FINE_TUNING_METHODS = ("sft", "orpo")  # the ones that need no frozen copy of the weights beside them


class LoraConfig(StrictModel):
    """The LoRA adapter that is trained; the base weights stay frozen. ``enabled = false``: every weight
    trains instead (full fine-tuning), and the result is a whole model."""

    enabled: bool = Field(
        True, description="false: full fine-tuning. Every weight trains, not an adapter: about 16 bytes a parameter "
        "in float32 (weights, gradients, AdamW's two moments), so only small models fit; SFT and ORPO, on "
        "transformers, without 4-bit. The result is a whole model (export 'merged' or 'gguf'). It wants a lower "
        "learning rate than LoRA: 1e-5 to 5e-5.")
    r: int = Field(16, ge=1, le=1024, description="Adapter rank: capacity of the update.")
    alpha: int = Field(32, ge=1, le=4096, description="Scale of the update (often 2 × r).")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="Dropout on the adapter's input.")
    target_modules: list[str] | Literal["all-linear"] = Field(
        "all-linear", description="Layers that get an adapter: 'all-linear' or a list of module names."
    )
    use_dora: bool = Field(
        False, description="DoRA: train each weight's magnitude apart from its direction. Often better than LoRA "
        "at a low rank, at some cost per step; trains on transformers+peft (Unsloth's kernels are LoRA's).")
    use_rslora: bool = Field(
        False, description="Rank-stabilised LoRA: scale the update by alpha/sqrt(r) instead of alpha/r, so a high "
        "rank keeps learning rather than shrinking its update.")

    @property
    def result_name(self) -> str:
        """What a run of this setup saves, in words."""
        return "adapter" if self.enabled else "fine-tuned model"

    @property
    def unsloth_trains(self) -> bool:
        """Whether Unsloth's kernels train this: plain LoRA does; DoRA and full fine-tuning go to transformers."""
        return self.enabled and not self.use_dora


class TrainingConfig(StrictModel):
    """The optimisation loop."""

    max_steps: int = Field(30, ge=1, le=10_000_000, description="Optimizer steps to run (worked out from "
                           "num_epochs when that is set).")
    num_epochs: float | None = Field(
        None, gt=0.0, le=1000.0, description="Passes over the training rows (1.5: one and a half), instead of a "
        "number of steps: max_steps becomes ceil(epochs × ceil(rows / (batch_size × gradient_accumulation_steps))), "
        "counted on the rows left after the held-out share. Unset: max_steps counts.")
    learning_rate: float = Field(2e-4, gt=0.0, le=1.0, description="Peak learning rate.")
    batch_size: int = Field(4, ge=1, le=4096, description="Examples per device per micro-batch.")
    gradient_accumulation_steps: int = Field(1, ge=1, le=4096, description="Micro-batches per optimizer step.")
    lr_scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup"] = Field(
        "linear", description="How the learning rate changes over the run."
    )
    warmup_steps: int = Field(0, ge=0, description="Steps of linear warm-up from 0 to the peak learning rate.")
    weight_decay: float = Field(0.0, ge=0.0, le=1.0, description="AdamW weight decay.")
    max_grad_norm: float = Field(1.0, gt=0.0, description="Gradients are clipped to this norm.")
    seed: int = Field(42, ge=0, description="Random seed: the same seed gives the same run.")
    logging_steps: int = Field(1, ge=1, description="Log metrics every N steps.")
    save_steps: int = Field(0, ge=0, description="Save a checkpoint every N steps (0: only at the end or on stop).")
    save_total_limit: int | None = Field(3, ge=1, description="Keep at most this many checkpoints.")
    gradient_checkpointing: bool = Field(
        False, description="Recompute activations in the backward pass: about a third more compute a step for much "
        "less memory. Off until needed: a run that runs out of memory turns it on by itself.")
    neftune_noise_alpha: float | None = Field(
        None, gt=0.0, le=100.0, description="NEFTune (SFT only): noise on the input embeddings while training, "
        "scaled by this over the square root of length × width; 5 is the paper's value. Unset: none.")
    train_on_thinking: bool = Field(
        True, description="SFT on answers with a <think>…</think> block: true learns the reasoning and the "
        "answer; false shows the reasoning as context only, so the loss covers the final answer alone.")
    sample_every: int = Field(
        10, ge=0, description="Every N steps, answer the probe prompts and log the answers (0: never). "
        "GRPO and PPO log every rollout instead."
    )
    sample_prompts: int = Field(2, ge=1, le=32, description="How many of the dataset's prompts serve as probes.")
    sample_max_new_tokens: int = Field(64, ge=1, le=4096, description="Longest probe answer, in tokens.")
    reward_timeout_s: float = Field(10.0, gt=0.0, le=3600.0, description="Longest a reward function of yours may "
                                    "take for one batch before it is stopped and reported.")
    on_reward_error: Literal["stop", "skip"] = Field(
        "stop", description="When a reward function raises, hangs or returns bad scores: 'stop' fails the run "
        "with the message; 'skip' leaves that function out of this batch's reward and warns."
    )
