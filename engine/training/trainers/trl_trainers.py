"""The trainers TRL provides, each built from a ``TrainerContext`` (worker only; imports TRL inside).

One function per method, all of the same shape: read the method's parameters
from the run config, add them to the arguments every TRL config shares
(``TrainerContext.training_arguments``), and hand over the model, data and
callbacks.
"""

from __future__ import annotations

from typing import Any

from engine.contract.config import ConfigError
from engine.methods import dpo, grpo, kto, orpo, rm, sft
from engine.methods.sft import PACKING_NEEDS
from engine.training.trainer_context import TrainerContext


def build_sft(ctx: TrainerContext) -> Any:
    """TRL's SFTTrainer: cross-entropy on the completion (or on assistant turns)."""
    from trl import SFTConfig, SFTTrainer

    params: sft.Params = ctx.config.method  # type: ignore[assignment]
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
        neftune_noise_alpha=ctx.config.training.neftune_noise_alpha,
    )
    return SFTTrainer(
        model=ctx.model,
        args=args,
        train_dataset=ctx.train_dataset, eval_dataset=ctx.eval_dataset,
        processing_class=ctx.tokenizer,
        callbacks=ctx.callbacks,
    )


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
    if backend == "unsloth" or (attention or "").startswith("flash_attention"):
        return
    raise ConfigError([("method.packing", f"{PACKING_NEEDS}, which keeps packed examples apart; with this model's "
                        f"{attention or 'default'} attention on the {backend} backend the packed examples would "
                        "attend to each other. Set method.packing = false.")])


def build_dpo(ctx: TrainerContext) -> Any:
    """TRL's DPOTrainer; the reference is the policy with its adapter disabled."""
    from trl import DPOConfig, DPOTrainer

    params: dpo.Params = ctx.config.method  # type: ignore[assignment]
    args = DPOConfig(
        **ctx.training_arguments(),
        beta=params.beta,
        loss_type=[params.loss_type],
        label_smoothing=params.label_smoothing,
        max_length=ctx.config.model.max_seq_length,
    )
    return DPOTrainer(model=ctx.model, args=args, train_dataset=ctx.train_dataset,
                      eval_dataset=ctx.eval_dataset, processing_class=ctx.tokenizer,
                      callbacks=ctx.callbacks)


def build_grpo(ctx: TrainerContext) -> Any:
    """TRL's GRPOTrainer: a group of answers per prompt, scored by the run's reward functions."""
    from trl import GRPOConfig, GRPOTrainer

    params: grpo.Params = ctx.config.method  # type: ignore[assignment]
    base = ctx.training_arguments()
    base["per_device_train_batch_size"] = ctx.config.training.batch_size * params.num_generations
    args = GRPOConfig(
        **base,
        num_generations=params.num_generations,
        max_completion_length=params.max_completion_length,
        temperature=params.temperature,
        beta=params.beta,
        epsilon=params.epsilon,
        loss_type=params.loss_type,
        scale_rewards=params.scale_rewards,
        num_iterations=params.num_iterations,
        reward_weights=ctx.reward_weights,
        steps_per_generation=1,
        # vLLM only where the pre-flight found CUDA and vllm (engine.planning.capabilities).
        **({"use_vllm": True, "vllm_mode": params.vllm_mode, "vllm_server_base_url": params.vllm_server_url}
           if params.vllm_mode != "off" else {}),
    )
    return GRPOTrainer(model=ctx.model, reward_funcs=ctx.reward_funcs, args=args, train_dataset=ctx.train_dataset,
                       processing_class=ctx.tokenizer, callbacks=ctx.callbacks)


def build_kto(ctx: TrainerContext) -> Any:
    """TRL's KTOTrainer: unpaired answers labelled good or bad."""
    from trl import KTOConfig, KTOTrainer

    params: kto.Params = ctx.config.method  # type: ignore[assignment]
    args = KTOConfig(
        **ctx.training_arguments(),
        beta=params.beta,
        desirable_weight=params.desirable_weight,
        undesirable_weight=params.undesirable_weight,
        max_length=ctx.config.model.max_seq_length,
    )
    return KTOTrainer(model=ctx.model, args=args, train_dataset=ctx.train_dataset,
                      eval_dataset=ctx.eval_dataset, processing_class=ctx.tokenizer,
                      callbacks=ctx.callbacks)


def build_orpo(ctx: TrainerContext) -> Any:
    """TRL's ORPOTrainer (``trl.experimental.orpo``): SFT plus an odds-ratio term, no reference."""
    from trl.experimental.orpo import ORPOConfig, ORPOTrainer

    params: orpo.Params = ctx.config.method  # type: ignore[assignment]
    args = ORPOConfig(**ctx.training_arguments(), beta=params.beta, max_length=ctx.config.model.max_seq_length)
    return ORPOTrainer(model=ctx.model, args=args, train_dataset=ctx.train_dataset,
                      eval_dataset=ctx.eval_dataset, processing_class=ctx.tokenizer,
                       callbacks=ctx.callbacks)


def build_rm(ctx: TrainerContext) -> Any:
    """TRL's RewardTrainer on a one-output sequence-classification head."""
    from trl import RewardConfig, RewardTrainer

    params: rm.Params = ctx.config.method  # type: ignore[assignment]
    args = RewardConfig(**ctx.training_arguments(), max_length=ctx.config.model.max_seq_length,
                        center_rewards_coefficient=params.center_rewards_coefficient)
    return RewardTrainer(model=ctx.model, args=args, train_dataset=ctx.train_dataset,
                      eval_dataset=ctx.eval_dataset, processing_class=ctx.tokenizer,
                         callbacks=ctx.callbacks)
