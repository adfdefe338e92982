"""Below the charts: what the worker changed to keep a run going, and its latest warning."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from rft_tui.run_watch import RunWatch

MAX_LINES = 3


def adjusted_text(event: dict) -> str:
    """One ``adjusted`` event in words."""
    message = event.get("message")
    if message:
        return message
    changes = ", ".join(f"{c['key']} {c['from']} → {c['to']}" for c in event.get("changes", []))
    return f"{event.get('reason', 'adjusted')}: {changes}"


class RunNotices(Static):
    """Each setup change (e.g. a smaller batch after running out of memory), then the latest warning."""

    DEFAULT_CSS = "RunNotices { height: auto; }"

    shown: Text | None = None

    def show(self, watch: RunWatch) -> None:
        lines = [Text.assemble(("⚙ adjusted: ", "bold yellow"), adjusted_text(e)) for e in watch.adjustments]
        adjusted = {adjusted_text(e) for e in watch.adjustments}
        warning = next((w for w in reversed(watch.warnings) if w not in adjusted), None)
        if warning:
            lines.append(Text.assemble(("⚠ ", "bold yellow"), (warning, "yellow")))
        text = Text("\n").join(lines[-MAX_LINES:])
        if text != self.shown:  # most ticks change nothing here; an update would lay the screen out anew
            self.shown = text
            self.update(text)
