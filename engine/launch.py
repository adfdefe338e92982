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

from engine.config import RunConfig
from engine.fsutil import atomic_write_text
from engine.privacy import no_telemetry
from engine.runs import FINAL_STATES, RunDir, create_run


def launch_worker(run: RunDir, python: str | None = None, resume: bool = False) -> subprocess.Popen:
    """Start ``python -m engine.worker RUN_DIR [--resume]`` in the background; returns the process."""
    env = no_telemetry(dict(os.environ))  # HF_TOKEN, if set, passes on: the hub may need it; nothing writes it
    env.setdefault("PYTHONUNBUFFERED", "1")
    # Set iteration order follows string hashing, which Python randomises per process; PEFT gathers
    # "all-linear" targets in a set. A fixed hash seed keeps such orders, and so which module gets
    # which random draw, the same from run to run.
    env["PYTHONHASHSEED"] = "0"
    with open(run.log_path, "ab") as log:
        process = subprocess.Popen(
            [python or sys.executable, "-m", "engine.worker", str(run.path.resolve())] + (["--resume"] if resume else []),
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


def start_run(config: RunConfig, runs_dir: str | None = None) -> tuple[RunDir, subprocess.Popen]:
    """Create a run directory for ``config`` and launch its worker."""
    run = create_run(config, runs_dir)
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
    # Commands the last worker already obeyed (a stop, say) must not reach the new one.
    run.control_path.unlink(missing_ok=True)
    run.launch_path.unlink(missing_ok=True)
    status.state, status.message, status.error, status.finished_at = "queued", "resuming", None, None
    status.queued_at = time.time()  # the queued grace period counts from now
    run.write_status(status)
    return launch_worker(run, python, resume=True)

