"""TensorBoard event files under ``runs/<run>/tensorboard/`` (one folder per stage in runs of several).

Written with torch's ``SummaryWriter``. A resume reopens the stage's writer
with ``purge_step`` just past the resume step: TensorBoard then drops the
earlier attempt's later points, as rft's own readers do, so every step shows
once with the value it was trained to in the end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.tracking.sink import SAMPLE_COLUMNS, flat_config


class TensorBoardSink:
    """Scalars under their event names, the config as text and hyper-parameters, samples as a text table."""

    replaces_resumed_steps = True

    def __init__(self, folder: Path, config: dict[str, Any], config_text: str):
        self.folder = folder
        self.config, self.config_text = config, config_text
        self._writers: dict[str | None, Any] = {}

    def _writer(self, stage: str | None, purge_step: int | None = None) -> Any:
        from torch.utils.tensorboard import SummaryWriter

        if stage in self._writers and purge_step is None:
            return self._writers[stage]
        if stage in self._writers:
            self._writers.pop(stage).close()
        fresh = not (self.folder / (stage or "")).is_dir() or not any((self.folder / (stage or "")).glob("events.*"))
        writer = SummaryWriter(log_dir=str(self.folder / stage) if stage else str(self.folder),
                               purge_step=purge_step, flush_secs=10)
        if fresh:
            self._hparams(writer)
        self._writers[stage] = writer
        return writer

    def _hparams(self, writer: Any) -> None:
        from torch.utils.tensorboard.summary import hparams

        writer.add_text("config", "```toml\n" + self.config_text + "\n```", 0)
        for summary in hparams(flat_config(self.config), {}):
            writer.file_writer.add_summary(summary)

    def scalars(self, stage: str | None, step: int, values: dict[str, float]) -> None:
        writer = self._writer(stage)
        for name, value in values.items():
            writer.add_scalar(name, value, step)

    def samples(self, stage: str | None, step: int, rows: list[dict[str, Any]], name: str = "samples") -> None:
        def cell(value: Any) -> str:
            text = "" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)
            return text.replace("|", "\\|").replace("\n", "<br>")

        lines = ["| " + " | ".join(SAMPLE_COLUMNS) + " |", "|" + "---|" * len(SAMPLE_COLUMNS)]
        lines += ["| " + " | ".join(cell(row.get(c)) for c in SAMPLE_COLUMNS) + " |" for row in rows]
        self._writer(stage).add_text(name, "\n".join(lines), step)

    def resumed(self, stage: str | None, step: int) -> None:
        self._writer(stage, purge_step=step + 1)

    def flush(self) -> None:
        for writer in self._writers.values():
            writer.flush()

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
