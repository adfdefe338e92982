"""The numbers that matter, large and live: state, stage, progress, ETA, speed."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from rft_tui.run_watch import RunWatch, clock

STATE_STYLE = {
    "queued": "dim", "loading": "yellow", "training": "bold green", "saving": "cyan", "done": "bold green",
    "stopped": "bold yellow", "failed": "bold red", "crashed": "bold red",
}


class RunHeader(Static):
    """Two lines: the run, its state and its best evaluation; a progress bar with step/total, elapsed, ETA,
    tok/s."""

    def show(self, watch: RunWatch, width: int = 40) -> None:
        status = watch.status
        title = Text()
        title.append(watch.run.name, style="bold")
        title.append("  ")
        title.append(status.state, style=STATE_STYLE.get(status.state, ""))
        if (status.world_size or 1) > 1:  # a job of several processes (``[distributed]``), one writing here
            title.append(f"  on {status.world_size} processes", style="cyan")
        if watch.stage_label():
            title.append(f"  ({watch.stage_label()})")
        if status.message and status.state in {"queued", "loading", "saving"}:
            title.append(f"  {status.message}", style="dim")
        best = watch.best
        if best:  # the held-out evaluation's best so far, and whether the adapter is that step's
            kept = " (the adapter)" if best.get("adapter") else ""
            title.append(f"  best {best['metric']} {best['value']:.4g} at step {best['step']}{kept}", style="cyan")
        total = watch.total or 0
        step = watch.progress_step  # the charts' last step, not status.json's (a step ahead of them)
        done = min(step, total) if total else 0
        filled = int(width * done / total) if total else 0
        bar = Text("█" * filled, style="green") + Text("░" * (width - filled), style="dim")
        parts = [f" {step}/{total or '?'} steps", f"{clock(watch.elapsed_s())} elapsed",
                 f"ETA {clock(watch.eta_s())}"]
        speed = watch.latest("tokens_per_s")
        if speed is not None:
            parts.append(f"{speed:.0f} tok/s")
        memory = watch.latest("memory_gb")
        if memory is not None:
            util = watch.latest("gpu_util")
            parts.append(f"{memory:.1f} GB" + (f" · GPU {util:.0f}%" if util is not None else ""))
        loss = watch.latest("loss")
        if loss is not None:
            parts.append(f"loss {loss:.4f}")
        reward = watch.latest("reward")
        if reward is not None:
            parts.append(f"reward {reward:.3f}")
        # Two lines always (its height is fixed in the stylesheet): a new text needs no new layout.
        self.update(Text("\n").join([title, bar + Text(" · ".join(parts))]), layout=False)
