"""trackio's local store under ``runs/<run>/trackio/`` (project 'rft', one trackio run per rft run).

trackio keeps its store where ``TRACKIO_DIR`` says when it is imported, so
the sink sets it first; ``TRACKIO_DIR=runs/<run>/trackio trackio show``
opens it. It cannot take a step back, so a resumed run sends each step once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from engine.tracking.sink import SAMPLE_COLUMNS, flat_config, tag

PROJECT = "rft"


class TrackioSink:
    """Metrics through ``trackio.log`` at their step, the flat config, samples as ``trackio.Table``."""

    replaces_resumed_steps = False

    def __init__(self, folder: Path, run_name: str, config: dict[str, Any]):
        os.environ["TRACKIO_DIR"] = str(folder)
        import trackio

        self._trackio = trackio
        self._run = trackio.init(project=PROJECT, name=run_name, config=flat_config(config), resume="allow",
                                 auto_log_gpu=False, auto_log_cpu=False, embed=False)

    def scalars(self, stage: str | None, step: int, values: dict[str, float]) -> None:
        self._run.log({tag(stage, name): value for name, value in values.items()}, step=step)

    def samples(self, stage: str | None, step: int, rows: list[dict[str, Any]], name: str = "samples") -> None:
        table = self._trackio.Table(columns=list(SAMPLE_COLUMNS), data=[[row.get(c) for c in SAMPLE_COLUMNS]
                                                                        for row in rows])
        self._run.log({tag(stage, name): table}, step=step)

    def resumed(self, stage: str | None, step: int) -> None:
        pass  # the feed sends each step once

    def flush(self) -> None:
        pass  # the library writes on its own schedule

    def close(self) -> None:
        self._run.finish()
