"""A run at a glance: state, method, model, progress and last metrics (no torch).

Built from ``status.json``, ``config.toml`` and the tail of ``events.jsonl``;
``rft runs`` prints these and the Runs screen shows them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.config import ConfigError
from engine.runs import RunDir, RunStatus


@dataclass
class RunSummary:
    """What a runs list shows for one run."""

    name: str
    state: str
    method: str
    model: str
    step: int
    total: int | None
    started_at: float | None
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None

    @property
    def progress(self) -> str:
        return f"{self.step}/{self.total}" if self.total else str(self.step)


def summarize(run: RunDir) -> RunSummary:
    """Read a run directory into a ``RunSummary``; a broken config reads as '?'."""
    status: RunStatus = run.status()
    try:
        config = run.load_config()
        method, model = config.method_name, config.model.name
    except (ConfigError, OSError):
        method = model = "?"
    metrics: dict[str, Any] = {}
    error = status.error
    for event in run.events().read_new():
        if event["type"] == "metrics":
            metrics.update(event.get("values", {}))
        elif event["type"] == "error":
            error = event.get("message")
    if status.state == "crashed" and not error:
        error = status.message
    return RunSummary(
        name=run.name, state=status.state, method=method, model=model, step=status.step, total=status.total,
        started_at=status.started_at or status.created_at, metrics=metrics, error=error,
    )
