"""A failed run's error in words first, the traceback folded below it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Collapsible, Static


class ErrorPanel(Vertical):
    """Hidden until a run reports an error or reads as crashed."""

    DEFAULT_CSS = """
    ErrorPanel { height: auto; max-height: 16; border: round $error; display: none; padding: 0 1; }
    ErrorPanel.-visible { display: block; }
    ErrorPanel #error-message { color: $error; text-style: bold; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="error-message")
        with Collapsible(title="traceback", collapsed=True):
            yield Static(id="error-traceback")

    def show(self, message: str | None, traceback: str | None = None) -> None:
        self.set_class(bool(message), "-visible")
        if message:
            self.border_title = "Error"
            self.query_one("#error-message", Static).update(message)
            self.query_one("#error-traceback", Static).update(traceback or "(no traceback: see worker.log)")
