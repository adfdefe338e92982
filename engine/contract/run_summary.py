"""A run at a glance: state, method, model, progress and last metrics (no torch).

Built from ``status.json``, ``config.toml`` and the tail of ``events.jsonl``;
``rft runs`` prints these and the Runs screen shows them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.contract.config import ConfigError
from engine.contract.protocol import EventTail
from engine.contract.runs import RunDir, RunStatus


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
    best: dict[str, Any] | None = None  # the best held-out evaluation: {metric, value, step}

    @property
    def progress(self) -> str:
        return f"{self.step}/{self.total}" if self.total else str(self.step)

    @property
    def best_text(self) -> str:
        """The best evaluation, short: 'loss 0.412 @ 20' ('-' for a run never evaluated)."""
        if not self.best:
            return "-"
        return f"{self.best['metric'].removeprefix('eval_')} {self.best['value']:.4g} @ {self.best['step']}"


class RunSummarizer:
    """Summaries that read each run's events once: later calls read only what was appended.

    A runs list refreshed every few seconds would otherwise re-read every run's
    whole events file each time.
    """

    def __init__(self):
        self._seen: dict[str, tuple[EventTail, dict[str, Any], str | None, dict[str, Any] | None]] = {}

    def summarize(self, run: RunDir) -> RunSummary:
        """Read a run directory into a ``RunSummary``; a broken config reads as '?'."""
        status: RunStatus = run.status()
        try:
            config = run.load_config()
            method, model = config.method_name, config.model.name
        except (ConfigError, OSError):
            method = model = "?"
        tail, metrics, error, best = self._seen.get(str(run.path), (run.events(), {}, None, None))
        for event in tail.read_new():
            if event["type"] == "metrics":
                metrics.update(event.get("values", {}))
            elif event["type"] == "error":
                error = event.get("message")
            elif event["type"] == "eval" and event.get("best"):
                best = event["best"]
            elif event["type"] == "stage":
                best = None  # a later stage's evaluations are the run's
        self._seen[str(run.path)] = (tail, metrics, error, best)
        error = error or status.error or (status.message if status.state == "crashed" else None)
        return RunSummary(
            name=run.name, state=status.state, method=method, model=model, step=status.step, total=status.total,
            started_at=status.started_at or status.created_at, metrics=dict(metrics), error=error,
            best=status.best or best,
        )


def summarize(run: RunDir) -> RunSummary:
    """A one-off summary of ``run`` (``RunSummarizer`` for repeated ones)."""
    return RunSummarizer().summarize(run)
