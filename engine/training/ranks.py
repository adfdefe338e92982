"""Which process of a job this is, and what the processes of one job agree on (worker only).

A run on several processes is one worker per process, started by ``torchrun``
(``engine.training.job``), which sets ``RANK``, ``LOCAL_RANK`` and
``WORLD_SIZE``. Every rank loads the model and builds the trainer; only rank 0
writes the run directory (events, status, the adapter). What decides the
course of training must be the same on every rank at the same step, or one
rank waits forever in a collective the others left: the commands read from
``control`` are read by rank 0 and broadcast (``SharedCommands``).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

# How long a rank waits in a collective for the others. A peer that died is noticed sooner (its sockets
# close); this bounds the case of a peer that hangs, e.g. in a reward function.
COLLECTIVE_TIMEOUT = timedelta(minutes=10)


@dataclass(frozen=True)
class Ranks:
    """This process's place in the job: global rank, rank on its machine, and how many processes there are."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Ranks":
        env = os.environ if env is None else env
        return cls(int(env.get("RANK", 0)), int(env.get("LOCAL_RANK", 0)), int(env.get("WORLD_SIZE", 1)))

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes the run directory."""
        return self.rank == 0

    @property
    def several(self) -> bool:
        return self.world_size > 1

    def join(self) -> None:
        """Join the job's process group (gloo on CPU, NCCL on CUDA) before anything else does, so the
        worker can broadcast before the trainer exists; the trainer's accelerate uses this group."""
        if not self.several:
            return
        import torch
        import torch.distributed as dist

        if dist.is_initialized():
            return
        if torch.cuda.is_available():
            torch.cuda.set_device(self.local_rank)  # "cuda" is this rank's GPU from here on
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo", timeout=COLLECTIVE_TIMEOUT)

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value``, on every rank (a collective: every rank must call it at the same point)."""
        if not self.several:
            return value
        import torch.distributed as dist

        box = [value if self.is_main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, value: Any) -> list[Any]:
        """Every rank's ``value``, in rank order, on every rank (a collective)."""
        if not self.several:
            return [value]
        import torch.distributed as dist

        gathered: list[Any] = [None] * self.world_size
        dist.all_gather_object(gathered, value)
        return gathered

    def leave(self) -> None:
        """Leave the process group at the end of a job (an unfinished group warns at exit)."""
        if not self.several:
            return
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


class SharedCommands:
    """A ``CommandReader`` whose ``poll`` gives every rank what rank 0 read, so a stop or a save-now lands
    on the same step everywhere. Every rank must poll at the same points (step ends, before training)."""

    def __init__(self, reader: Any, ranks: Ranks):
        self.reader, self.ranks = reader, ranks

    def poll(self) -> list[str]:
        return self.ranks.broadcast(self.reader.poll() if self.ranks.is_main else None)


def weights_digest(model: Any) -> str:
    """A short hash of the trainable weights: the same on every rank when data-parallel training kept them
    in step (what each rank saves would be the same adapter)."""
    digest = hashlib.sha256()
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            digest.update(name.encode())
            digest.update(parameter.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


class SilentEvents:
    """The event writer of a rank other than 0: what it would write goes nowhere (rank 0 writes the same)."""

    def emit(self, type: str, **fields: Any) -> dict[str, Any]:
        return {"type": type, **fields}

    def sync(self) -> None:
        pass

    def close(self) -> None:
        pass


def follower_run(run: Any) -> Any:
    """``run`` as a rank other than 0 sees it: readable as ever, while its status writes go nowhere."""
    from engine.contract.runs import RunDir

    class FollowerRunDir(RunDir):
        """A run directory that this rank reads and rank 0 writes."""

        def write_status(self, status: Any, durable: bool = True) -> None:
            pass

    return FollowerRunDir(run.path)


def report_agreement(ranks: Ranks, model: Any, events: Any) -> None:
    """After a stage of several processes, compare every rank's trainable weights (a collective) and record
    it: data-parallel training must keep them equal, and rank 0's adapter stands for all of them."""
    if not ranks.several:
        return
    digests = ranks.gather(weights_digest(model))
    agree = len(set(digests)) == 1
    events.emit("ranks", world_size=ranks.world_size, digests=digests, agree=agree)
    events.emit("log", level="info" if agree else "warning", message=(
        f"the trained weights of all {ranks.world_size} processes agree" if agree else
        f"the trained weights of the {ranks.world_size} processes differ ({', '.join(digests)}); the saved "
        "result is rank 0's"))


def unprepare_after_evaluation(trainer: Any) -> None:
    """Undo what a trainer's ``evaluate()`` before ``train()`` left behind under several processes.

    evaluate() hands the bare model to accelerate for evaluation and accelerate marks it prepared; train()
    then takes it as it is, without the DistributedDataParallel wrapper, and each rank trains on its own
    gradients: the ranks drift apart (measured: every LoRA weight differed after 6 steps). Forgetting the
    evaluation's preparation makes train() wrap the model as it does without an evaluation first.
    """
    trainer.accelerator.free_memory()
    for module in (trainer.model, getattr(trainer, "model_wrapped", None)):
        if module is not None and getattr(module, "_is_accelerate_prepared", False):
            del module._is_accelerate_prepared


def load_state_on_cpu_ranks(trainer: Any) -> None:
    """Let a trainer of several CPU ranks resume: it loads the optimiser state with ``map_location`` set to
    the rank's device, 'cpu:0', which torch 2.13 cannot restore ("tagged with cpu:0"); plain 'cpu' is the
    same memory. Only that load is changed, and only while it runs."""
    import torch

    original = trainer._load_optimizer_and_scheduler

    def load(checkpoint: Any) -> Any:
        real_load = torch.load

        def cpu_load(*args: Any, **kwargs: Any) -> Any:
            if str(kwargs.get("map_location", "")).startswith("cpu:"):
                kwargs["map_location"] = "cpu"
            return real_load(*args, **kwargs)

        torch.load = cpu_load
        try:
            return original(checkpoint)
        finally:
            torch.load = real_load

    trainer._load_optimizer_and_scheduler = load
