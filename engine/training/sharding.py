"""The trainer arguments of ``[distributed]``'s sharded strategies: DeepSpeed ZeRO-2/3 and FSDP2.

The job starts every rank under ``torchrun``; the Trainer (through accelerate)
then shards the model itself when its arguments carry a DeepSpeed config or
an FSDP config, as LLaMA-Factory and Axolotl hand it theirs. rft writes no
sharding of its own. The pre-flight (``engine.planning.capabilities``) has
refused these strategies where they cannot run (no CUDA, no deepspeed), so
here they are only translated. "auto" lets the Trainer fill in the batch
sizes, precision and clipping from its own arguments, so the two never
disagree.
"""

from __future__ import annotations

from typing import Any

from engine.contract.distributed_config import DistributedConfig


def deepspeed_config(stage: int) -> dict[str, Any]:
    """A ZeRO ``stage`` (2 or 3) DeepSpeed config, every size taken from the Trainer's arguments."""
    zero: dict[str, Any] = {"stage": stage, "overlap_comm": True, "contiguous_gradients": True}
    if stage == 3:
        # The adapter (and a full fine-tune's weights) are gathered whole when saved, so the run directory's
        # files load anywhere without DeepSpeed.
        zero["stage3_gather_16bit_weights_on_model_save"] = True
    return {"zero_optimization": zero, "bf16": {"enabled": "auto"}, "fp16": {"enabled": "auto"},
            "train_micro_batch_size_per_gpu": "auto", "train_batch_size": "auto",
            "gradient_accumulation_steps": "auto", "gradient_clipping": "auto"}


def sharding_arguments(section: DistributedConfig, world_size: int, on_gpu: bool) -> dict[str, Any]:
    """Trainer arguments for ``section``'s strategy; none for DDP, one process, or a CPU."""
    if section.strategy == "ddp" or world_size < 2 or not on_gpu:
        return {}
    if section.strategy in {"zero2", "zero3"}:
        return {"deepspeed": deepspeed_config(2 if section.strategy == "zero2" else 3)}
    # FSDP2 (fully_shard): each decoder layer is its own shard unit; the full state is gathered on save.
    return {"fsdp": True, "fsdp_config": {"version": 2, "reshard_after_forward": True,
                                          "auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
                                          "state_dict_type": "FULL_STATE_DICT"}}
