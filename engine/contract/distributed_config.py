"""The ``[distributed]`` section: one run on several processes (GPUs), and on several machines.

``num_processes = 1`` is today's single worker process. More processes run the
same worker under ``torchrun``, data-parallel (``ddp``), or sharded: ``zero2``
and ``zero3`` through DeepSpeed, ``fsdp2`` through PyTorch's FSDP, handed to
the Trainer as its arguments (``engine.training.sharding``). Whether this
machine can run them (CUDA, deepspeed) is the pre-flight's question
(``engine.planning.capabilities``), not the schema's: a config written here
may be meant for another machine. The launch itself is
``engine.training.job`` (``engine.contract.job_command``).
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, field_validator

from engine.contract.schema_base import StrictModel

STRATEGIES = {
    "ddp": "every process holds the whole model and trains on its own share of each batch (the default)",
    "zero2": "DeepSpeed ZeRO-2: gradients and optimiser state are split across the GPUs",
    "zero3": "DeepSpeed ZeRO-3: the weights too are split, for a model that does not fit one GPU",
    "fsdp2": "PyTorch FSDP2: weights, gradients and optimiser state split across the GPUs, no DeepSpeed",
}
SHARDED = ("zero2", "zero3", "fsdp2")  # the strategies Unsloth does not train under


class DistributedConfig(StrictModel):
    """How many processes train the run, how they share the work, and where they meet."""

    num_processes: int | Literal["auto"] = Field(
        1, description="Processes that train together, one per GPU: 1 (a single process), a number, or 'auto' "
        "(every visible GPU; 1 without one). On a CPU several processes share its cores (for tests).")
    strategy: Literal["ddp", "zero2", "zero3", "fsdp2"] = Field(
        "ddp", description="'ddp': each GPU holds the whole model. 'zero2': gradients and optimiser state split "
        "across GPUs (DeepSpeed). 'zero3': the weights too, for a model no single GPU holds (DeepSpeed). "
        "'fsdp2': like zero3 with PyTorch's own FSDP. The sharded ones need CUDA and train on transformers+peft.")
    num_machines: int = Field(1, ge=1, le=1024, description="Machines in the job; each runs num_processes "
                              "processes. Several need the run directory on a shared filesystem "
                              "(`rft launch-command RUN` prints each machine's command).")
    machine_rank: int = Field(0, ge=0, le=1023, description="Which machine this is, 0 to num_machines - 1; "
                              "machine 0 writes the run's events and status.")
    main_process_ip: str = Field("127.0.0.1", description="Address of machine 0, where the processes meet.")
    main_process_port: int = Field(29500, ge=1024, le=65535, description="Port on machine 0 where the "
                                   "processes meet; free on that machine.")

    @field_validator("num_processes")
    @classmethod
    def _at_least_one(cls, value: int | str) -> int | str:
        if isinstance(value, int) and not 1 <= value <= 64:
            raise ValueError("must be between 1 and 64 processes a machine, or 'auto'")
        return value

    @field_validator("main_process_ip")
    @classmethod
    def _address(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            if not value.replace("-", "").replace(".", "").isalnum():
                raise ValueError("must be an IP address or a host name of machine 0") from None
        return value

    @property
    def several(self) -> bool:
        """Whether this may start more than one process (``auto`` may, on a machine with several GPUs)."""
        return self.num_processes != 1 or self.num_machines > 1

    @property
    def sharded(self) -> bool:
        """Whether the model is split across the processes (ZeRO-2/3, FSDP2), not copied to each (DDP)."""
        return self.several and self.strategy in SHARDED

    def processes_per_machine(self, visible_gpus: int) -> int:
        """``num_processes`` with 'auto' made a number: every visible GPU, at least one."""
        return max(1, visible_gpus) if self.num_processes == "auto" else int(self.num_processes)

    def world_size(self, visible_gpus: int) -> int:
        """Processes in the whole job."""
        return self.processes_per_machine(visible_gpus) * self.num_machines

    def problems(self, method_name: str, method_title: str) -> list[tuple[str, str]]:
        """What does not go together in this section, or with the method."""
        found = []
        if self.machine_rank >= self.num_machines:
            found.append(("distributed.machine_rank", f"is {self.machine_rank} but the job has {self.num_machines} "
                          f"machine(s), numbered 0 to {self.num_machines - 1}"))
        if self.num_machines > 1 and self.main_process_ip in {"127.0.0.1", "localhost", "::1"}:
            found.append(("distributed.main_process_ip", "with several machines, give the address of machine 0 "
                          "that the others can reach, not 127.0.0.1"))
        if method_name in {"ppo", "rm_ppo"} and self.several:
            found.append(("distributed.num_processes", f"{method_title} runs rft's own PPO loop, which trains in "
                          "one process; set distributed.num_processes = 1, or use GRPO (method.name = 'grpo'), "
                          "which runs on several"))
        return found
