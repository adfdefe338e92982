"""Weights & Biases files under ``runs/<run>/wandb/``: offline unless ``WANDB_API_KEY`` is set.

Nothing is sent unless the user gave W&B a key: without one the run is
written in offline mode, for ``wandb sync`` later. The W&B run id is the rft
run's name, so a resumed run continues the same W&B run; W&B takes steps only
forward, so a resumed run sends each step once, and the stages of a run of
several are drawn against their own step.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from engine.tracking.sink import SAMPLE_COLUMNS, tag

PROJECT = "rft"


def wandb_run_id(run_name: str) -> str:
    """A W&B run id from the run directory's name (W&B allows letters, digits, '-' and '_')."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", run_name)[:64]


class WandbSink:
    """Metrics through ``run.log(step=…)``, the nested config, samples as ``wandb.Table``."""

    replaces_resumed_steps = False

    def __init__(self, folder: Path, run_name: str, config: dict[str, Any]):
        import wandb

        self._wandb = wandb
        folder.mkdir(parents=True, exist_ok=True)
        mode = "online" if os.environ.get("WANDB_API_KEY") else "offline"
        self._run = wandb.init(project=os.environ.get("WANDB_PROJECT", PROJECT), name=run_name,
                               id=wandb_run_id(run_name), dir=str(folder.parent), config=config, mode=mode,
                               resume="allow", settings=wandb.Settings(console="off", silent=True))

        self._stages: set[str] = set()

    def _log(self, stage: str | None, step: int, values: dict[str, Any]) -> None:
        if stage is None:
            self._run.log(values, step=step)
            return
        # A later stage counts its steps from 1 again, and W&B's own step only goes forward: each stage's
        # metrics are drawn against the stage's step instead.
        if stage not in self._stages:
            self._run.define_metric(f"{stage}/step")
            self._run.define_metric(f"{stage}/*", step_metric=f"{stage}/step")
            self._stages.add(stage)
        self._run.log({**values, f"{stage}/step": step})

    def scalars(self, stage: str | None, step: int, values: dict[str, float]) -> None:
        self._log(stage, step, {tag(stage, name): value for name, value in values.items()})

    def samples(self, stage: str | None, step: int, rows: list[dict[str, Any]], name: str = "samples") -> None:
        table = self._wandb.Table(columns=list(SAMPLE_COLUMNS), data=[[row.get(c) for c in SAMPLE_COLUMNS]
                                                                      for row in rows])
        self._log(stage, step, {tag(stage, name): table})

    def resumed(self, stage: str | None, step: int) -> None:
        pass  # the feed sends each step once

    def flush(self) -> None:
        pass  # the library writes on its own schedule

    def close(self) -> None:
        self._run.finish()
