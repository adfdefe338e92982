"""Whether this machine can run a run's ``[distributed]`` strategy, GRPO's vLLM mode and its trackers (no torch).

The schema lets a config ask for ZeRO, FSDP2 or vLLM anywhere (it may be
written on a laptop for a GPU server); what this machine lacks is found here,
before anything starts, with what to change: the Setup verdict shows it and
``rft train`` refuses with it. CUDA is judged as the UI judges it, from the
GPUs ``nvidia-smi`` lists (``visible_gpu_count``); a package by whether it
can be imported, without importing it. The worker's trainer finds out for
certain.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from engine.contract.config import RunConfig
from engine.contract.distributed_config import STRATEGIES
from engine.contract.job_command import visible_gpu_count
from engine.tracking import TRACKER_INFO


@dataclass(frozen=True)
class Capability:
    """One thing a run asks of the machine that the machine lacks: the config key and what to do."""

    path: str
    message: str


def importable(package: str) -> bool:
    """Whether ``package`` is installed, found without importing it."""
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def missing(config: RunConfig, gpus: int | None = None) -> list[Capability]:
    """What ``config`` needs that this machine (with ``gpus`` visible, None: count them) lacks."""
    section = config.distributed
    gpus = visible_gpu_count() if gpus is None else gpus
    found: list[Capability] = []
    if section.sharded:
        name = f"distributed.strategy = {section.strategy!r}"
        if gpus == 0:
            found.append(Capability("distributed.strategy", f"{name} ({STRATEGIES[section.strategy]}) needs CUDA "
                                    "GPUs, one per process, and this machine shows none (nvidia-smi lists no GPU). "
                                    "Set distributed.strategy = 'ddp', which runs on a CPU too."))
        elif section.strategy in {"zero2", "zero3"} and not importable("deepspeed"):
            found.append(Capability("distributed.strategy", f"{name} trains through DeepSpeed, which is not "
                                    "installed: `pip install deepspeed` in rft's environment, or set "
                                    "distributed.strategy = 'fsdp2' (PyTorch's own sharding) or 'ddp'."))
        if config.model.load_in_4bit:
            found.append(Capability("model.load_in_4bit", f"{name} shards 16-bit weights; rft does not shard "
                                    "4-bit (QLoRA) weights yet. Set model.load_in_4bit = false, or "
                                    "distributed.strategy = 'ddp' (each GPU holds the 4-bit model)."))
    if gpus and section.num_processes != "auto" and section.num_processes > gpus:
        found.append(Capability("distributed.num_processes", f"asks for {section.num_processes} processes, one per "
                                f"GPU, and this machine shows {gpus} GPU(s); set distributed.num_processes = "
                                f"{gpus} or 'auto'."))
    mode = getattr(config.method, "vllm_mode", "off")
    if mode != "off":
        if gpus == 0:
            found.append(Capability("method.vllm_mode", f"method.vllm_mode = {mode!r} generates with vLLM, which "
                                    "needs a CUDA GPU; this machine shows none. Set method.vllm_mode = 'off'."))
        elif not importable("vllm"):
            found.append(Capability("method.vllm_mode", f"method.vllm_mode = {mode!r} needs vLLM: `pip install "
                                    "vllm` in rft's environment, or set method.vllm_mode = 'off'."))
    for tracker in config.output.report_to:
        info = TRACKER_INFO[tracker]
        if not importable(info.package):
            found.append(Capability("output.report_to", f"output.report_to names {tracker}, which is not installed "
                                    f"here: {info.install}, or take {tracker!r} out of output.report_to."))
    return found


def processes_line(config: RunConfig, gpus: int | None = None) -> str | None:
    """The Setup verdict's line on how the run is split across processes, and why it does not train on
    Unsloth where sharding or vLLM is the reason; None for one process on the usual backend."""
    section = config.distributed
    parts = []
    if section.several:
        world = section.world_size(visible_gpu_count() if gpus is None else gpus)
        machines = f" on {section.num_machines} machines" if section.num_machines > 1 else ""
        parts.append(f"{world} processes{machines} · {section.strategy}: {STRATEGIES[section.strategy]}")
    if config.lora.unsloth_trains and not config.unsloth_trains and config.model.backend == "auto":
        why = "ZeRO/FSDP sharding" if section.sharded else "vLLM generation"
        parts.append(f"transformers+peft, not Unsloth: Unsloth does not train under {why}")
    return " · ".join(parts) or None
