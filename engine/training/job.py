"""A run on several processes: ``python -m engine.training.job RUN_DIR [--resume] [--machine-rank N]``.

Started detached by ``engine.contract.launch`` in place of the worker when the
run's ``[distributed]`` section asks for more than one process (or by hand on
each machine of a multi-machine job, see ``rft launch-command``). It holds
``worker.lock`` for the whole job, so the run reads as running while any rank
lives, and runs ``torchrun`` with one worker per process. When torchrun ends:

- a rank ran out of memory (it left ``out_of_memory.json``): the setup shrinks
  as a single process's would (``engine.training.oom_recovery``), the change is
  recorded, and the job starts again from its newest complete checkpoint;
- a rank died (killed, crashed) before the run reached a final state: torchrun
  has ended the others, and the run is marked ``crashed``, resumable.

SIGTERM to the job is a polite stop, as to a single worker. Only machine 0's
job writes the run directory; the others run their ranks and wait.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from typing import Any

from engine.contract.job_command import torchrun_command, visible_gpu_count
from engine.contract.launch import worker_env
from engine.contract.privacy import no_telemetry
from engine.contract.protocol import EventWriter
from engine.contract.runs import RunDir, checkpoint_step
from engine.training import oom_recovery
from engine.training.oom_inject import ENV as INJECT_OOM_ENV
from engine.training.worker import EXIT_BUSY, EXIT_FAILED, JOB_LOCK_ENV, acquire_lock

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the torchrun child: get SIGTERM when the job dies, so no rank trains on unwatched (Linux)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


class Job:
    """Runs the ranks of one run on this machine until the run ends, restarting them after an OOM."""

    def __init__(self, run: RunDir, machine_rank: int):
        self.run, self.machine_rank = run, machine_rank
        self.writes = machine_rank == 0  # machine 0 writes the run directory, as its rank 0 does
        self.env = worker_env()
        self.env[JOB_LOCK_ENV] = "1"

    def run_to_end(self, resume: bool) -> int:
        while True:
            config = self.run.load_config()
            processes = config.distributed.processes_per_machine(visible_gpu_count())
            command = torchrun_command(self.run.path, config.distributed, self.machine_rank, processes, resume)
            started = time.monotonic()
            code = subprocess.call(command, env=self.env, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
            note = oom_recovery.take_job_out_of_memory(self.run.path)
            status = self.run.read_status_file()
            if not self.writes or status.is_final:
                return code
            if note is not None:
                if not self._shrink(config, note):
                    return EXIT_FAILED
                resume = True
                # The test hook fakes one OOM per worker process; a job's relaunched workers are that worker's.
                self.env.pop(INJECT_OOM_ENV, None)
                continue
            seconds = time.monotonic() - started
            status.state = "crashed"
            status.message = (f"a process of the job ended without finishing (torchrun exit code {code}, after "
                              f"{seconds:.0f} s); see worker.log for which rank and why. It resumes from its newest "
                              "complete checkpoint.")
            status.finished_at = time.time()
            self.run.write_status(status)
            events = EventWriter(self.run.events_path)
            events.emit("status", state="crashed", message=status.message)
            events.close()
            return code or EXIT_FAILED

    def _shrink(self, config: Any, note: dict[str, Any]) -> bool:
        """Record a smaller setup after a rank's OOM; False (the run failed) when nothing is left to shrink."""
        events = EventWriter(self.run.events_path)
        at_step, reason = int(note.get("at_step", 0)), str(note.get("error", "out of memory"))
        try:
            changes = oom_recovery.shrink(config)
        except oom_recovery.CannotShrink as error:
            message = f"{error} (step {at_step}: {reason})"
            status = self.run.read_status_file()
            status.state, status.message, status.error, status.finished_at = "failed", message, message, time.time()
            self.run.write_status(status)
            events.emit("error", message=message, traceback="")
            events.emit("status", state="failed", message=message)
            events.close()
            return False
        oom_recovery.save_to_run_config(self.run.config_path, changes)
        checkpoint = self.run.latest_checkpoint()
        step = checkpoint_step(checkpoint) if checkpoint else 0
        where = f"resuming from {checkpoint.name}" if checkpoint else "starting again (no checkpoint was saved)"
        message = (f"out of memory in step {at_step} on rank {note.get('rank', '?')}: "
                   f"{oom_recovery.summary(changes, config)}; {where}")
        events.emit("adjusted", reason="out of memory", error=reason, at_step=at_step, step=step, stage=1,
                    changes=[c.as_dict() for c in changes], saved=True, message=message)
        events.close()
        return True


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    resume = "--resume" in argv
    argv = [a for a in argv if a != "--resume"]
    machine_rank = None
    if "--machine-rank" in argv:
        at = argv.index("--machine-rank")
        try:
            machine_rank = int(argv[at + 1])
        except (IndexError, ValueError):
            print("--machine-rank needs a number, e.g. --machine-rank 1", file=sys.stderr)
            return 2
        del argv[at:at + 2]
    if len(argv) != 1:
        print("usage: python -m engine.training.job RUN_DIR [--resume] [--machine-rank N]", file=sys.stderr)
        return 2
    no_telemetry()
    run = RunDir(argv[0])
    if not run.exists():
        print(f"{run.path} is not a run directory (no config.toml)", file=sys.stderr)
        return 2
    if machine_rank is None:
        machine_rank = run.load_config().distributed.machine_rank
    lock = acquire_lock(run) if machine_rank == 0 else True
    if lock is None:
        print(f"another worker is already running {run.path}", file=sys.stderr)
        return EXIT_BUSY
    if machine_rank == 0:
        signal.signal(signal.SIGTERM, lambda *_: run.send_command("stop"))
    else:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # machine 0's stop reaches every rank
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    return Job(run, machine_rank).run_to_end(resume)


if __name__ == "__main__":
    sys.exit(main())
