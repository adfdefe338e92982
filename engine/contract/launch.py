"""Start a worker for a run directory, detached from whoever starts it.

The worker gets its own session (so a closing terminal or UI does not take it
down) and its own log file for stdout/stderr. ``subprocess.Popen`` rather than
``multiprocessing``: inside a running Textual app ``sys.stderr.fileno()`` is -1
and a spawn start fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from engine.contract.config import RunConfig
from engine.contract.atomic_files import atomic_write_text
from engine.contract.job_command import job_command, visible_gpu_count
from engine.contract.privacy import no_telemetry
from engine.contract.recent_models import record_model_folder
from engine.contract.runs import FINAL_STATES, RunDir, create_run


# glibc's allocator, tuned for training on a CPU. By default a buffer above a threshold (128 KiB at first,
# adjusted as it goes) is mapped fresh from the kernel and handed back when freed, and freed heap above
# 128 KiB is trimmed, so each step's activations are faulted in page by page again. Buffers up to 64 MiB
# now come from the heap, and up to 128 MiB of freed heap stays with the process for the next step.
# Measured on the built-in model (SFT, 8 steps, 3 rounds in turn, docs/2026-11-22-cpu-allocator.md):
# 2.2–2.5 million page faults instead of 2.9–3.6 and 4.4 s in the kernel instead of 7.0 (medians), about
# 6 % of the run's CPU time; steps a second moved +3 %, inside this machine's noise. Setting only some of
# these is worse than none (a fixed 128 KiB threshold: 11 million faults), so they go together. Other C
# libraries ignore them.
ALLOCATOR_ENV = {"MALLOC_MMAP_THRESHOLD_": str(64 * 2**20), "MALLOC_TRIM_THRESHOLD_": str(128 * 2**20),
                 "MALLOC_TOP_PAD_": str(64 * 2**20)}


def worker_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a worker runs in: ``base`` (this process's by default) with telemetry off, the
    allocator settings above unless the user set their own, unbuffered output and a fixed hash seed."""
    env = no_telemetry(dict(os.environ if base is None else base))  # HF_TOKEN, if set, passes on; nothing writes it
    if not any(key.startswith("MALLOC_") for key in env):  # who tunes the allocator gets exactly their own
        env.update(ALLOCATOR_ENV)
    env.setdefault("PYTHONUNBUFFERED", "1")
    # Set iteration order follows string hashing, which Python randomises per process; PEFT gathers
    # "all-linear" targets in a set. A fixed hash seed keeps such orders, and so which module gets
    # which random draw, the same from run to run.
    env["PYTHONHASHSEED"] = "0"
    return env


def launch_worker(run: RunDir, python: str | None = None, resume: bool = False) -> subprocess.Popen:
    """Start ``python -m engine.training.worker RUN_DIR [--resume]`` in the background, or the job of several
    processes (``engine.training.job``) its ``[distributed]`` section asks for; returns the process."""
    env = worker_env()
    if _several_processes(run):
        command = job_command(run.path.resolve(), resume=resume, python=python)
    else:
        command = [python or sys.executable, "-m", "engine.training.worker", str(run.path.resolve())] + \
            (["--resume"] if resume else [])
    with open(run.log_path, "ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            close_fds=True,
        )
    atomic_write_text(
        run.launch_path,
        json.dumps({"pid": process.pid, "launched_at": time.time(), "python": python or sys.executable}) + "\n",
    )
    return process


def _several_processes(run: RunDir) -> bool:
    """Whether the run's config asks for a job of several processes; a config that does not load goes to a
    single worker, which reports what is wrong with it as the run's error."""
    try:
        return run.load_config().distributed.several
    except (OSError, ValueError):
        return False


def start_run(config: RunConfig, runs_dir: str | None = None) -> tuple[RunDir, subprocess.Popen]:
    """Create a run directory for ``config`` and launch its worker; a local model folder is remembered for
    the model picker (both the dashboard and ``rft train`` start runs here)."""
    run = create_run(config, runs_dir)
    record_model_folder(config.model.name)
    return run, launch_worker(run)


class ResumeError(RuntimeError):
    """The run cannot be resumed (it is running, or it finished); the message says which."""


EXIT_GRACE_S = 30.0  # how long a resume waits for a worker that has finished to exit


def resume_run(run: RunDir, python: str | None = None, exit_grace_s: float = EXIT_GRACE_S) -> subprocess.Popen:
    """Continue a stopped, failed or crashed run from its last checkpoint, in a new worker."""
    exiting = run.worker_alive() and run.read_status_file().state in FINAL_STATES
    if exiting:
        # The worker wrote its final state and is exiting (freeing the model takes a moment): a resume
        # asked for right after a stop waits for it (``exit_grace_s``) rather than refusing.
        deadline = time.monotonic() + exit_grace_s
        while run.worker_alive() and time.monotonic() < deadline:
            time.sleep(0.1)
    if run.worker_alive():
        if exiting:
            raise ResumeError(f"{run.name} has stopped and its worker is still exiting; resume again in a moment.")
        raise ResumeError(f"{run.name} is still running; there is nothing to resume.")
    status = run.read_status_file()
    if status.state == "done":
        raise ResumeError(f"{run.name} finished all its steps; train a new run to go further.")
    try:
        section = run.load_config().distributed
    except (OSError, ValueError):
        section = None  # the worker reports what is wrong with the config
    world = section.world_size(visible_gpu_count()) if section is not None and section.several else 1
    if section is not None and (status.world_size or 1) != world:
        raise ResumeError(f"{run.name} trained on {status.world_size or 1} process(es) and its config asks for "
                          f"{world} now: the batches each process reads, and the generator states its checkpoints "
                          f"hold, are those of {status.world_size or 1}. Set distributed.num_processes back in "
                          f"{run.config_path}, or start a new run from its adapter (model.start_from).")
    # Commands the last worker already obeyed (a stop, say) must not reach the new one.
    run.control_path.unlink(missing_ok=True)
    run.launch_path.unlink(missing_ok=True)
    status.state, status.message, status.error, status.finished_at = "queued", "resuming", None, None
    status.queued_at = time.time()  # the queued grace period counts from now
    run.write_status(status)
    return launch_worker(run, python, resume=True)

