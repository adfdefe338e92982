"""Run directories: creating, reading, listing and commanding runs.

A run lives in ``runs/<name>/``::

    config.toml     the resolved RunConfig (written once, at creation)
    events.jsonl    what happened (see engine.contract.protocol), written by the worker
    status.json     state, pid, step/total, timestamps; atomically replaced
    control         commands to the worker, one JSON line each (stop, save-now)
    launch.json     how and when the worker was started (pid), by the launcher
    worker.lock     held (flock) by the live worker for its whole life
    worker.log      the worker's stdout and stderr
    checkpoints/    trainer checkpoints (weights, optimizer, scheduler, RNG)
    adapter/        the final LoRA adapter and tokenizer

The worker is the only writer of ``status.json`` and ``events.jsonl``. A run
whose status is not final but whose worker no longer holds ``worker.lock`` died
without saying so: it reads as ``crashed``.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.contract.config import RunConfig, config_from_dict, parse_toml
from engine.contract.atomic_files import atomic_write_json, atomic_write_text
from engine.contract.protocol import EventTail, JsonLinesTail

STATES = ("queued", "loading", "training", "saving", "done", "stopped", "failed", "crashed")
FINAL_STATES = frozenset({"done", "stopped", "failed", "crashed"})
COMMANDS = ("stop", "save-now")

# A queued run whose launcher recorded no live pid for this long never started.
QUEUED_GRACE_S = 30.0


def default_runs_dir() -> Path:
    """``$RFT_RUNS_DIR`` if set, else ``./runs``."""
    return Path(os.environ.get("RFT_RUNS_DIR", "runs"))


def _slug(text: str) -> str:
    text = text.rstrip("/").split("/")[-1].lower()
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    return text[:40] or "model"


def model_slug(model_name: str) -> str:
    """A short name for a model in run names ('default' → 'smollm2-135m')."""
    return "smollm2-135m" if model_name == "default" else _slug(model_name)


@dataclass
class RunStatus:
    """What ``status.json`` says, plus the state as a reader should believe it."""

    state: str
    pid: int | None = None
    step: int = 0
    total: int | None = None
    created_at: float | None = None
    queued_at: float | None = None  # the last time a worker was asked for (creation or resume)
    started_at: float | None = None
    updated_at: float | None = None
    finished_at: float | None = None
    message: str | None = None
    error: str | None = None
    stage: str | None = None
    stage_index: int | None = None
    stage_count: int | None = None
    best: dict[str, Any] | None = None  # the best evaluation so far: {metric, value, step[, adapter]}
    world_size: int | None = None  # processes that trained it (``[distributed]``); None: one, before it was recorded

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunStatus":
        known = {key: data[key] for key in cls.__dataclass_fields__ if key in data}
        return cls(**known)

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES


class RunDir:
    """One run directory and the operations on it."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    name = property(lambda self: self.path.name)
    config_path = property(lambda self: self.path / "config.toml")
    events_path = property(lambda self: self.path / "events.jsonl")
    status_path = property(lambda self: self.path / "status.json")
    control_path = property(lambda self: self.path / "control")
    launch_path = property(lambda self: self.path / "launch.json")
    lock_path = property(lambda self: self.path / "worker.lock")
    log_path = property(lambda self: self.path / "worker.log")
    checkpoints_dir = property(lambda self: self.path / "checkpoints")
    adapter_dir = property(lambda self: self.path / "adapter")

    def exists(self) -> bool:
        return self.config_path.is_file()

    def load_config(self) -> RunConfig:
        text = self.config_path.read_text(encoding="utf-8")
        return config_from_dict(parse_toml(text, str(self.config_path)), str(self.config_path))

    # -- status ---------------------------------------------------------------

    def read_status_file(self) -> RunStatus:
        """``status.json`` as written (no crash detection)."""
        try:
            data = json.loads(self.status_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return RunStatus(state="queued")
        return RunStatus.from_dict(data)

    def write_status(self, status: RunStatus, durable: bool = True) -> None:
        """Replace ``status.json`` atomically (the worker's job); ``durable=False`` skips the fsync."""
        status.updated_at = time.time()
        atomic_write_json(self.status_path, {k: getattr(status, k) for k in RunStatus.__dataclass_fields__}, durable)

    def status(self) -> RunStatus:
        """The status a reader should believe: a dead worker's run reads as crashed."""
        status = self.read_status_file()
        if status.is_final or self.worker_alive():
            return status
        # The worker may have written its final state and exited between the two looks above.
        status = self.read_status_file()
        if status.is_final:
            return status
        if status.state == "queued" and self._launcher_pid_alive():
            return status
        queued_at = status.queued_at or status.created_at
        if status.state == "queued" and queued_at and time.time() - queued_at < QUEUED_GRACE_S \
                and not self.launch_path.exists():
            return status
        status.state = "crashed"
        status.message = status.message or "the worker stopped without saying why; see worker.log"
        return status

    def worker_alive(self) -> bool:
        """True while a worker holds ``worker.lock``."""
        try:
            handle = open(self.lock_path, "a+")
        except FileNotFoundError:
            return False
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False

    def _launcher_pid_alive(self) -> bool:
        try:
            pid = json.loads(self.launch_path.read_text(encoding="utf-8"))["pid"]
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            return False
        return pid_alive(pid)

    # -- commands -------------------------------------------------------------

    def send_command(self, command: str) -> None:
        """Ask the worker to do something at its next step boundary."""
        if command not in COMMANDS:
            raise ValueError(f"unknown command {command!r}; known: {', '.join(COMMANDS)}")
        line = json.dumps({"command": command, "t": time.time()}) + "\n"
        # One small O_APPEND write: concurrent senders never interleave.
        fd = os.open(self.control_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    def command_reader(self) -> "CommandReader":
        return CommandReader(self.control_path)

    def events(self) -> EventTail:
        return EventTail(self.events_path)

    def latest_checkpoint(self) -> Path | None:
        """The run's (last stage's) newest complete checkpoint, if any."""
        return latest_checkpoint(self.checkpoints_dir)


class CommandReader:
    """Reads commands appended to ``control`` since it last looked."""

    def __init__(self, path: Path):
        # Commands sent before the worker started (e.g. an early stop) still count.
        self._tail = JsonLinesTail(path)

    def poll(self) -> list[str]:
        commands = []
        for line in self._tail.read_new():
            command = line.get("command")
            if command in COMMANDS:
                commands.append(command)
        return commands


# What a checkpoint holds only to continue training; the rest is the adapter a run keeps.
TRAINING_STATE_FILES = ("optimizer", "scheduler", "rng_state", "trainer_state", "training_args")


def checkpoint_step(checkpoint: Path) -> int:
    """The step of a ``checkpoint-N`` folder."""
    return int(checkpoint.name.split("-")[-1])


def is_whole_model(folder: Path) -> bool:
    """True if ``folder`` holds a whole model's weights (what full fine-tuning saves), not an adapter."""
    return (not (folder / "adapter_config.json").is_file() and (folder / "config.json").is_file()
            and any(folder.glob("model*.safetensors")))


def holds_weights(folder: Path) -> bool:
    """True if ``folder`` holds a trained result: an adapter, or a whole model (``lora.enabled = false``)."""
    return (folder / "adapter_config.json").is_file() or is_whole_model(folder)


def complete_checkpoints(folder: Path, world_size: int | None = None) -> list[Path]:
    """The complete ``checkpoint-N`` folders in ``folder``, oldest first. One a kill mid-save left half
    written is passed over: trainers write ``trainer_state.json`` last, and not atomically, so it is either
    missing or cut off part way. A checkpoint of several processes is complete only with every rank's
    ``rng_state_{rank}.pth`` (each rank writes its own, in no set order); ``world_size`` None: as many
    ranks as any checkpoint in ``folder`` has."""
    candidates = [p for p in folder.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()
                  and holds_weights(p) and _whole_json(p / "trainer_state.json")]
    ranks = {p: _ranks_saved(p) for p in candidates}
    if world_size is None:
        world_size = max((max(saved) + 1 for saved in ranks.values() if saved), default=1)
    every_rank = set(range(world_size))
    complete = [p for p in candidates if not ranks[p] or every_rank <= ranks[p]]
    return sorted(complete, key=checkpoint_step)


def _ranks_saved(checkpoint: Path) -> set[int]:
    """The ranks whose generator states ``checkpoint`` holds (none for a single process's checkpoint)."""
    found = set()
    for path in checkpoint.glob("rng_state_*.pth"):
        rank = path.stem.rpartition("_")[2]
        if rank.isdigit():
            found.add(int(rank))
    return found


def _whole_json(path: Path) -> bool:
    """True if ``path`` holds one whole JSON object (a trainer state is a few kilobytes)."""
    try:
        return isinstance(json.loads(path.read_text()), dict)
    except (OSError, ValueError):
        return False


def latest_checkpoint(folder: Path, world_size: int | None = None) -> Path | None:
    """The newest complete checkpoint in ``folder`` (of a job of ``world_size`` processes), or None."""
    found = complete_checkpoints(folder, world_size)
    return found[-1] if found else None


def pid_alive(pid: int) -> bool:
    """True if ``pid`` is a live process (a zombie counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return True


def new_run_name(config: RunConfig, runs_dir: Path, now: datetime | None = None) -> str:
    """``<method>-<model>-<MMDD-HHMM>``, with a suffix if that name is taken."""
    now = now or datetime.now()
    base = config.output.run_name or f"{config.method_name}-{model_slug(config.model.name)}-{now:%m%d-%H%M}"
    name, n = base, 2
    while (runs_dir / name).exists():
        name, n = f"{base}-{n}", n + 1
    return name


def create_run(config: RunConfig, runs_dir: str | Path | None = None) -> RunDir:
    """Make a new run directory holding the config and a queued status."""
    runs_dir = Path(runs_dir) if runs_dir is not None else Path(config.output.runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    while True:
        name = new_run_name(config, runs_dir)
        try:
            (runs_dir / name).mkdir()  # atomic claim: two launchers never share a name
            break
        except FileExistsError:
            continue
    run = RunDir(runs_dir / name)
    atomic_write_text(run.config_path, config.to_toml())
    run.write_status(RunStatus(state="queued", created_at=time.time(), total=config.training.max_steps))
    return run


def list_runs(runs_dir: str | Path | None = None) -> list[RunDir]:
    """Every run directory under ``runs_dir``, newest first."""
    runs_dir = Path(runs_dir) if runs_dir is not None else default_runs_dir()
    if not runs_dir.is_dir():
        return []
    runs = [RunDir(p) for p in runs_dir.iterdir() if (p / "config.toml").is_file()]
    return sorted(runs, key=lambda r: r.read_status_file().created_at or r.config_path.stat().st_mtime, reverse=True)


def find_run(name_or_path: str, runs_dir: str | Path | None = None) -> RunDir:
    """A run by path or by name under ``runs_dir``."""
    path = Path(name_or_path)
    if not (path / "config.toml").is_file():
        path = (Path(runs_dir) if runs_dir is not None else default_runs_dir()) / name_or_path
    run = RunDir(path)
    if not run.exists():
        raise FileNotFoundError(f"no run {name_or_path!r} (looked in {path.parent}); `rft runs` lists them")
    return run
