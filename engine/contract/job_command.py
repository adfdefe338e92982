"""The commands that start a run on several processes: ``torchrun`` around the worker (no torch here).

A run whose ``[distributed]`` section asks for more than one process is started
as ``python -m engine.training.job RUN`` (one per machine), which holds the
run's lock and runs ``torchrun`` with one worker per process. On one machine
torchrun's ``--standalone`` rendezvous picks a free port itself, so two jobs
never collide; on several, every machine meets at ``main_process_ip:port``
with its ``--node_rank``. ``rft launch-command RUN`` prints each machine's job
command, for Slurm, SkyPilot or a terminal per machine.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from engine.contract.distributed_config import DistributedConfig


def visible_gpu_count() -> int:
    """GPUs a job may use: those ``CUDA_VISIBLE_DEVICES`` names, else those ``nvidia-smi -L`` lists; 0 without
    either (what ``num_processes = 'auto'`` counts, asked without importing torch)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return len([part for part in visible.split(",") if part.strip() and part.strip() != "-1"])
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return 0
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=5, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for line in out.splitlines() if line.startswith("GPU "))


def torchrun_command(run_path: str | Path, section: DistributedConfig, machine_rank: int, processes: int,
                     resume: bool = False, python: str | None = None) -> list[str]:
    """``torchrun`` starting ``processes`` workers of the run on machine ``machine_rank``."""
    command = [python or sys.executable, "-m", "torch.distributed.run", "--max_restarts", "0"]
    if section.num_machines == 1:
        command += ["--standalone"]
    else:
        command += ["--nnodes", str(section.num_machines), "--node_rank", str(machine_rank),
                    "--master_addr", section.main_process_ip, "--master_port", str(section.main_process_port)]
    command += ["--nproc_per_node", str(processes), "-m", "engine.training.worker", str(run_path)]
    return command + (["--resume"] if resume else [])


def job_command(run_path: str | Path, machine_rank: int | None = None, resume: bool = False,
                python: str | None = None) -> list[str]:
    """The command that runs the job's share on one machine (``machine_rank`` None: the config's)."""
    command = [python or sys.executable, "-m", "engine.training.job", str(run_path)]
    if machine_rank is not None:
        command += ["--machine-rank", str(machine_rank)]
    return command + (["--resume"] if resume else [])


def launch_lines(run_path: str | Path, section: DistributedConfig, resume: bool = False,
                 python: str | None = None) -> list[str]:
    """One shell line per machine: ``machine N: <command>`` (what ``rft launch-command`` prints)."""
    path = Path(run_path).resolve()
    return [f"machine {rank}: cd {shlex.quote(str(Path.cwd()))} && "
            + shlex.join(job_command(path, rank, resume, python or "python"))
            for rank in range(section.num_machines)]
