"""A failed run's error in words first; below it the frames of the user's own code, folded, if any.

rft's own frames are never shown here (``engine.contract.user_traceback``): the run's
``worker.log`` and ``events.jsonl`` keep the whole traceback, and the panel
says so.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Collapsible, Static

from engine.contract.user_traceback import user_traceback

DETAILS = "the full traceback is in the run folder's worker.log and events.jsonl"


class ErrorPanel(Vertical):
    """Hidden until a run reports an error or reads as crashed."""

    DEFAULT_CSS = """
    ErrorPanel { height: auto; max-height: 16; border: round $error; display: none; padding: 0 1; }
    ErrorPanel.-visible { display: block; }
    ErrorPanel #error-message { color: $error; text-style: bold; }
    ErrorPanel #error-details { color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="error-message")
        with Collapsible(title="traceback of your code", collapsed=True, id="error-frames"):
            yield Static(id="error-traceback")
        yield Static(DETAILS, id="error-details")

    def show(self, message: str | None, traceback: str | None = None) -> None:
        self.set_class(bool(message), "-visible")
        if message:
            self.border_title = "Error"
            self.query_one("#error-message", Static).update(Text(message))
            frames = user_traceback(traceback)
            self.query_one("#error-traceback", Static).update(Text(frames))
            self.query_one("#error-frames", Collapsible).display = bool(frames)
            self.query_one("#error-details", Static).display = not frames
