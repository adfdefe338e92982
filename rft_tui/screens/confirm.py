"""A yes/no question before anything is overwritten or deleted."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label

from rft_tui.widgets.key_footer import KeyFooter


class Confirm(ModalScreen[bool]):
    """y confirms, n or escape declines."""

    BINDINGS = [Binding("y", "answer(True)", "yes"), Binding("n", "answer(False)", "no"),
                Binding("escape", "answer(False)", "no", show=False)]
    DEFAULT_CSS = """
    Confirm { align: center middle; }
    Confirm > Vertical { width: 64; height: auto; border: round $warning; padding: 1 2; background: $surface; }
    """

    def __init__(self, question: str):
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question)
            yield Label("[b]y[/b] yes   [b]n[/b] no")
        yield KeyFooter()  # this dialog's keys, not those of the screen behind it

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
