"""Experiment trackers (``output.report_to``): TensorBoard, trackio and W&B fed from the run's own events.

The data flow: the worker's ``EventWriter`` hands each event it writes to a
``TrackerFeed`` (``feed.py``, rank 0 only), which turns metrics, evaluations,
samples and the config into calls on one sink per tracker
(``tensorboard_sink.py``, ``trackio_sink.py``, ``wandb_sink.py``). The trackers
see what ``events.jsonl`` says, under its names, and nothing else: the
trainers' own ``report_to`` stays off. Each sink writes with its tracker's own
library into the run directory. A tracker that breaks while a run trains is
switched off with a warning; it never stops the training.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TrackerInfo:
    """What a tracker needs installed, and how a person opens what it wrote."""

    package: str  # the module that must import
    install: str  # the command that installs it
    open_hint: str  # how to look at a run's records; {runs} is the runs folder, {run} the run directory
    folder: str  # what it writes in the run directory


TRACKER_INFO = {
    "tensorboard": TrackerInfo("tensorboard", "pip install tensorboard (rft's set-up installs it)",
                               "tensorboard --logdir {runs}", "tensorboard"),
    "trackio": TrackerInfo("trackio", "pip install -e '.[trackio]' (or pip install trackio)",
                           "TRACKIO_DIR={run}/trackio trackio show --project rft", "trackio"),
    "wandb": TrackerInfo("wandb", "pip install -e '.[wandb]' (or pip install wandb)",
                         "wandb sync {run}/wandb/offline-run-* (offline runs), or the W&B web page", "wandb"),
}


def open_hints(runs: list[Path], runs_dir: Path | str) -> list[str]:
    """How to open the trackers' records of ``runs`` (newest first), one line per tracker some run wrote to;
    the per-run ones name the newest such run."""
    hints = []
    for name, info in TRACKER_INFO.items():
        having = [run for run in runs if (run / info.folder).is_dir()]
        if having:
            hints.append(f"{name}: {info.open_hint.format(runs=runs_dir, run=having[0])}")
    return hints
