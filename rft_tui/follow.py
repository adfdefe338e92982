"""Follow a run from its events and draw progress in the terminal (``rft train``).

On a terminal this is a live bar (step/total, loss, ETA, tokens/s); elsewhere
(CI logs, pipes) one plain line per logged step. Either way it reads the same
``events.jsonl`` the dashboard reads, so what it prints is what happened.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from engine.contract.runs import FINAL_STATES, RunDir

POLL_S = 0.25


@dataclass
class FollowState:
    """What the follower has learned from the events so far."""

    state: str = "queued"
    step: int = 0
    total: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    first_step: tuple[int, float] | None = None
    error: str | None = None

    def eta_s(self, now: float) -> float | None:
        """Seconds left, from the pace since the first logged step."""
        if not self.first_step or not self.total or self.step <= self.first_step[0]:
            return None
        per_step = (now - self.first_step[1]) / (self.step - self.first_step[0])
        return per_step * (self.total - self.step)

    def apply(self, event: dict) -> str | None:
        """Update from one event; returns a line worth printing, if any."""
        kind = event["type"]
        if kind == "status":
            self.state = event["state"]
            message = event.get("message")
            return f"[{self.state}] {message}" if message else f"[{self.state}]"
        if kind == "stage":
            self.step, self.total, self.first_step, self.metrics = 0, event.get("max_steps"), None, {}
            return f"== stage {event['index']}/{event['total']}: {event['name']} ({event.get('max_steps')} steps)"
        if kind == "metrics":
            self.step, self.total = event["step"], event.get("total") or self.total
            self.metrics.update(event.get("values", {}))
            if self.first_step is None:
                self.first_step = (self.step, event["t"])
            return None
        if kind == "log":
            prefix = "warning: " if event.get("level") == "warning" else ""
            return f"{prefix}{event['message']}"
        if kind == "error":
            self.error = event["message"]
            return f"error: {event['message']}"
        if kind == "adjusted":
            return f"adjusted: {event.get('message')}"
        if kind == "checkpoint":
            return f"checkpoint at step {event['step']}: {event['path']}"
        return None


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "ETA --:--"
    minutes, secs = divmod(int(seconds), 60)
    return f"ETA {minutes:02d}:{secs:02d}"


def metrics_text(state: FollowState) -> str:
    parts = []
    if "loss" in state.metrics:
        parts.append(f"loss {state.metrics['loss']:.4f}")
    parts.append(format_eta(state.eta_s(time.time())))
    if "tokens_per_s" in state.metrics:
        parts.append(f"{state.metrics['tokens_per_s']:.0f} tok/s")
    return " · ".join(parts)


def follow(run: RunDir, console: Console, on_interrupt=None) -> FollowState:
    """Print a run's progress until it reaches a final state; returns what was seen.

    ``on_interrupt`` is called on Ctrl+C; if it returns False, following stops
    (the run goes on in the background).
    """
    state = FollowState(total=run.read_status_file().total)
    tail = run.events()
    live = console.is_terminal
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(), console=console, transient=False, disable=not live,
    )
    task = progress.add_task(state.state, total=state.total, info="")
    printed_step = -1
    with progress:
        while True:
            try:
                for event in tail.read_new():
                    line = state.apply(event)
                    if line:
                        progress.console.print(line, markup=False, highlight=False)
                progress.update(task, description=state.state, completed=state.step, total=state.total,
                                info=metrics_text(state))
                if not live and state.step != printed_step and state.metrics:
                    printed_step = state.step
                    console.print(f"step {state.step}/{state.total} · {metrics_text(state)}", markup=False,
                                  highlight=False)
                status = run.status()
                if status.state in FINAL_STATES:
                    for event in tail.read_new():
                        line = state.apply(event)
                        if line:
                            progress.console.print(line, markup=False, highlight=False)
                    state.state = status.state
                    state.error = state.error or status.error or (status.message if status.state == "crashed" else None)
                    return state
                time.sleep(POLL_S)
            except KeyboardInterrupt:
                if on_interrupt is None or on_interrupt() is False:
                    return state
