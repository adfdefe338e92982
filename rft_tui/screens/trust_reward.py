"""Before code from outside the rewards folder runs: show it, and ask."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, TextArea

from rft_tui.widgets.key_footer import KeyFooter


class TrustRewardCode(ModalScreen[bool]):
    """The file's code, read-only; y copies it into the rewards folder and uses it, n declines."""

    BINDINGS = [Binding("y", "answer(True)", "copy it and use it"), Binding("n", "answer(False)", "no"),
                Binding("escape", "answer(False)", "no", show=False)]
    DEFAULT_CSS = """
    TrustRewardCode { align: center middle; }
    TrustRewardCode > Vertical { width: 100; height: 30; border: round $warning; background: $surface; padding: 0 1; }
    TrustRewardCode TextArea { height: 1fr; }
    """

    def __init__(self, ref: str, path: str, code: str):
        super().__init__()
        self.ref, self.path, self.code = ref, path, code

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"This setup runs reward code from outside your rewards folder: {self.path}")
            yield TextArea.code_editor(self.code, language="python", read_only=True, id="trusted-code")
            yield Label("Read it. [b]y[/b] copies it into your rewards folder and uses it; [b]n[/b] does not run it.")
        yield KeyFooter()  # this dialog's keys, not those of the screen behind it

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
