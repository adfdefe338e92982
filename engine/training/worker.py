"""The engine worker: ``python -m engine.training.worker RUN_DIR [--resume]`` trains one run.

It is its own process, started detached by ``engine.contract.launch``, so a crash, an
OOM or a hung reward function never takes the UI down, and closing the UI
does not stop training. It reads ``config.toml``, reports through
``events.jsonl`` and ``status.json``, and obeys ``control``. States go
queued → loading → training → saving → done | stopped | failed. With
``--resume`` it continues a stopped, failed or crashed run from its last
complete checkpoint; stages that finished before are kept. An out-of-memory
error during training does not end the run: the worker saves the step, makes
the micro-batch smaller (``engine.training.oom_recovery``), records that as an
``adjusted`` event and in ``config.toml``, and resumes in this same process.
``RFT_INJECT_OOM_AT_STEP`` fakes such an error, for tests (``engine.training.oom_inject``).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from engine.contract.config import ConfigError
from engine.contract.errors import describe_error, first_line
from engine.contract.privacy import no_telemetry
from engine.contract.protocol import EventWriter
from engine.contract.runs import RunDir, checkpoint_step, holds_weights, latest_checkpoint
from engine.training import oom_recovery
from engine.training.oom_recovery import JobOutOfMemory, StageOutOfMemory
from engine.training.ranks import Ranks, SharedCommands, SilentEvents, follower_run
from engine.training.stage_runner import StageRunner

JOB_LOCK_ENV = "RFT_JOB_HOLDS_LOCK"  # set by engine.training.job for the ranks it starts
EXIT_OK, EXIT_FAILED, EXIT_BUSY, EXIT_OUT_OF_MEMORY = 0, 1, 3, 4


class Worker:
    """Runs one run directory from start to a final state."""

    def __init__(self, run: RunDir, ranks: Ranks | None = None):
        self.ranks = ranks or Ranks()
        # Rank 0 writes the run directory; the other ranks of a job train alongside it and write nothing.
        self.run = run if self.ranks.is_main else follower_run(run)
        self.events = EventWriter(run.events_path) if self.ranks.is_main else SilentEvents()
        self.status = run.read_status_file()
        self.commands = SharedCommands(run.command_reader(), self.ranks)
        self.prepared: dict[str, Any] = {}  # datasets the pre-flight check read, by reading key, for the stages
        self.trackers: Any = None  # the TrackerFeed of output.report_to, once the config is read

    def set_state(self, state: str, message: str | None = None) -> None:
        self.status.state = state
        self.status.message = message
        if state in {"done", "stopped", "failed"}:
            self.status.finished_at = time.time()
        self.run.write_status(self.status)
        self.events.emit("status", state=state, **({"message": message} if message else {}))
        self.events.sync()

    def log(self, message: str, level: str = "info") -> None:
        self.events.emit("log", level=level, message=message)

    def run_to_end(self, resume: bool = False) -> int:
        self.status.pid = os.getpid()
        trained_by = self.status.world_size or 1
        self.status.world_size = self.ranks.world_size
        if resume:
            self.status.error, self.status.finished_at, self.status.message = None, None, None
        if not resume or self.status.started_at is None:
            self.status.started_at = time.time()
        try:
            if resume and trained_by != self.ranks.world_size:
                raise ConfigError([("distributed.num_processes", _world_size_change(trained_by, self.ranks.world_size))])
            state = self._train(resume)
        except JobOutOfMemory as error:
            # One rank of several ran out: the others wait in a collective, so no rank can save. The job ends
            # here and engine.training.job shrinks the setup and starts it again from the last checkpoint.
            error.record(self.run)
            return EXIT_OUT_OF_MEMORY
        except Exception as error:  # every failure becomes an event, never a silent exit
            message = describe_error(error)
            # A reward function's own traceback (from its process) comes first: it is the one to read.
            user_traceback = getattr(error, "traceback", None) or ""
            self.events.emit("error", message=message, traceback=user_traceback + traceback.format_exc())
            self.status.error = message
            if self.ranks.several and _in_a_collective(error):
                # A collective broke: another rank of the job died (killed, crashed). Not this run's setup: the
                # job (engine.training.job) marks the run crashed, resumable, once torchrun has ended every rank.
                self.status.message = f"another process of the job stopped answering ({first_line(error)})"
                self.run.write_status(self.status)
                return EXIT_FAILED
            self.set_state("failed", message)
            return EXIT_FAILED
        finally:
            if self.trackers is not None:
                self.trackers.close()  # the trackers' files complete, whatever the ending
        self.set_state(state)
        return EXIT_OK

    def _train(self, resume: bool = False) -> str:
        self.set_state("loading", "resuming" if resume else "reading the config")
        config = self.run.load_config()
        from engine.models.backend import choose_backend
        from engine.planning.stages import plan_stages

        stages = plan_stages(config, self.run)
        self._preflight(config, stages)
        # Unsloth must be imported before trl/transformers/peft: choose first.
        backend = choose_backend(config.model.backend, config.model.load_in_4bit, config.model.dtype,
                             peft_only=not config.unsloth_trains)
        self._open_trackers(config)
        for stage in stages:
            checkpoint = latest_checkpoint(stage.checkpoints_dir, self.ranks.world_size) if resume else None
            if resume and _finished_before(stage, len(stages), checkpoint):
                self.log(f"stage {stage.index} ({stage.name}) finished before; its adapter is kept")
                continue
            if len(stages) > 1:
                self.status.stage, self.status.stage_index, self.status.stage_count = stage.name, stage.index, len(stages)
                self.status.step = 0
                if checkpoint is None:  # a resumed stage keeps its curves: no fresh stage marker
                    self.events.emit("stage", index=stage.index, total=len(stages), name=stage.name,
                                     max_steps=stage.config.training.max_steps)
            if resume:
                step = checkpoint_step(checkpoint) if checkpoint else 0
                self.status.step = step
                self.events.emit("resume", step=step, stage=stage.index,
                                 checkpoint=str(checkpoint.relative_to(self.run.path)) if checkpoint else None)
                self.log(f"resuming from {checkpoint.name}" if checkpoint else
                         f"no checkpoint of stage {stage.index} was saved; it starts again from step 0")
            outcome = self._run_stage(stage, backend, checkpoint, last=stage.index == len(stages))
            resume = False  # only the stage that was cut short resumes; the ones after it start afresh
            if outcome == "stopped" and stage.index < len(stages) and self.ranks.is_main:
                # The user stopped an early stage: its adapter is the run's result.
                shutil.copytree(stage.adapter_dir, self.run.adapter_dir, dirs_exist_ok=True)
            if outcome == "stopped":
                return "stopped"
        return "done"

    def _open_trackers(self, config: Any) -> None:
        """Feed ``output.report_to``'s trackers from this worker's events (rank 0: the one writer)."""
        if not config.output.report_to or not self.ranks.is_main:
            return
        from engine.tracking.feed import TrackerFeed

        self.trackers = TrackerFeed.for_run(self.run.path, self.run.name, config.output.report_to,
                                            config.model_dump(mode="json"), self.run.config_path.read_text(),
                                            self.run.events_path, warn=lambda message: self.log(message, "warning"))
        self.events.listeners.append(self.trackers)
        self.log(f"reporting to {', '.join(config.output.report_to)} in {self.run.path}")

    def _preflight(self, config: Any, stages: list[Any]) -> None:
        """Refuse what would fail, and leave out what only scores samples and cannot, before any model loads
        (the app and ``rft train`` ran the same check; a run started another way gets it here). The datasets
        read for it are kept for the stages, so none is read twice."""
        from engine.data import DatasetError, prepare
        from engine.planning import preflight

        def read(dataset: Any, spec: Any) -> preflight.DatasetReading:
            try:
                prepared = prepare(dataset, spec.formats, method=spec.title)
            except DatasetError as error:
                return preflight.DatasetReading(error=str(error))
            self.prepared[preflight.reading_key(dataset, spec)] = prepared
            return preflight.DatasetReading.of(prepared)

        readings = preflight.read_datasets(config, read)
        report = preflight.check(config, readings)
        if report.problems:
            raise report.error()
        for warning in report.warnings:
            self.log(warning.message, level="warning")
        from engine.methods import get_method
        from engine.planning.epochs import training_rows, with_epochs_as_steps

        for stage in stages:
            stage.config = report.adjusted(stage.index, stage.config)
            epochs = stage.config.training.num_epochs
            reading = readings.get(preflight.reading_key(stage.config.dataset, get_method(stage.name)))
            if epochs is not None and reading is not None:
                stage.config = with_epochs_as_steps(stage.config, reading.rows, reading.prompts)
                t = stage.config.training
                self.log(f"training.num_epochs = {epochs:g}: {t.max_steps} steps over "
                         f"{training_rows(stage.config, reading.rows, reading.prompts)} training rows, "
                         f"{t.batch_size * t.gradient_accumulation_steps} a step")
                self.status.total = t.max_steps  # the progress bar's total before the model loads

    def _run_stage(self, stage: Any, backend: Any, checkpoint: Path | None, last: bool) -> str:
        """Run one stage; after each out-of-memory error, shrink the setup and resume from its checkpoint."""
        while True:
            try:
                return StageRunner(self, stage, backend, checkpoint).run()
            except StageOutOfMemory as error:
                oom = (str(error), error.at_step, error.step, error.checkpoint)
            # Here, past the except block, the failed attempt's trainer and model are unreferenced.
            checkpoint = self._recover_from_oom(stage, *oom, save=last)

    def _recover_from_oom(self, stage: Any, reason: str, at_step: int, step: int, checkpoint: Path | None,
                          save: bool) -> Path | None:
        """Shrink the stage's setup (events, config.toml), free the GPU, and say where training resumes."""
        import gc

        before = stage.config
        try:
            changes = oom_recovery.shrink(before)
        except oom_recovery.CannotShrink as error:
            raise oom_recovery.CannotShrink(f"{error} (step {at_step}: {reason})") from None
        stage.config = oom_recovery.apply(before, changes)
        if save:
            # config.toml describes the run's last stage; an earlier stage's change lasts for this worker.
            oom_recovery.save_to_run_config(self.run.config_path, changes)
        where = f"resuming from {checkpoint.name}" if checkpoint else "starting again (no step had finished)"
        message = f"out of memory in step {at_step}: {oom_recovery.summary(changes, before)}; {where}"
        self.events.emit("adjusted", reason="out of memory", error=reason, at_step=at_step, step=step,
                         stage=stage.index, changes=[c.as_dict() for c in changes], saved=save, message=message)
        import torch

        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()  # the failed attempt's blocks go back before the model loads again
        self.status.step = step
        self.events.emit("resume", step=step, stage=stage.index,
                         checkpoint=str(checkpoint.relative_to(self.run.path)) if checkpoint else None)
        return checkpoint


def _finished_before(stage: Any, stage_count: int, checkpoint: Path | None) -> bool:
    """An earlier stage that saved its adapter after all its steps (one stopped early has a checkpoint
    short of its max_steps and is resumed, not skipped)."""
    if stage.index == stage_count or not holds_weights(stage.adapter_dir):
        return False
    return checkpoint is None or checkpoint_step(checkpoint) >= stage.config.training.max_steps


def _in_a_collective(error: BaseException) -> bool:
    """Whether ``error`` came from a collective (a broadcast, DDP's all-reduce): what a rank sees when a peer
    of its job is gone. The communication backends raise plain RuntimeErrors, from Python frames of
    torch.distributed or DDP, or from the backward pass's C++ with only their name in the message."""
    frames = traceback.extract_tb(error.__traceback__)
    places = (f"torch{os.sep}distributed{os.sep}", f"torch{os.sep}nn{os.sep}parallel{os.sep}")
    return any(place in frame.filename for frame in frames for place in places) or \
        any(name in str(error) for name in ("gloo", "NCCL", "ProcessGroup"))


def _world_size_change(before: int, now: int) -> str:
    """Why a run trained by ``before`` processes does not resume on ``now``, and what to do."""
    return (f"this run trained on {before} process(es) and would resume on {now}: the batches each process "
            f"reads, and the generator states its checkpoints hold, are those of {before}. Resume it with "
            f"distributed.num_processes = {before} (in its config.toml), or start a new run from its adapter "
            "(model.start_from).")


def acquire_lock(run: RunDir, wait_s: float = 5.0) -> Any:
    """Hold ``worker.lock`` for this process's life, or return None if another worker has it."""
    handle = open(run.lock_path, "a+")
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            # Readers probe with a brief shared lock; a live worker never lets go.
            if time.monotonic() > deadline:
                handle.close()
                return None
            time.sleep(0.05)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    resume = "--resume" in argv
    argv = [a for a in argv if a != "--resume"]
    if len(argv) != 1:
        print("usage: python -m engine.training.worker RUN_DIR [--resume]", file=sys.stderr)
        return 2
    no_telemetry()  # also when started by hand, not through engine.contract.launch
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    run = RunDir(argv[0])
    if not run.exists():
        print(f"{run.path} is not a run directory (no config.toml)", file=sys.stderr)
        return 2
    ranks = Ranks.from_env()
    # Under engine.training.job the job holds the lock for all its ranks; torchrun started by hand: rank 0 does.
    lock = acquire_lock(run) if ranks.is_main and not os.environ.get(JOB_LOCK_ENV) else True
    if lock is None:
        print(f"another worker is already running {run.path}", file=sys.stderr)
        return EXIT_BUSY
    # SIGTERM (e.g. `kill`, a closing session) is a polite stop: save, then exit. The other ranks of a job
    # stop with rank 0, at the same step; torchrun, ending a job, kills what is left after its grace period.
    signal.signal(signal.SIGTERM, (lambda *_: run.send_command("stop")) if ranks.is_main else signal.SIG_IGN)
    ranks.join()
    try:
        return Worker(run, ranks).run_to_end(resume)
    finally:
        ranks.leave()


if __name__ == "__main__":
    sys.exit(main())
