"""A small dialog that asks for a name (saving a preset)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from rft_tui.widgets.key_footer import KeyFooter


class AskName(ModalScreen[str | None]):
    """Returns the typed name on enter, None on escape; ``check`` may refuse a name with a message."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]
    DEFAULT_CSS = """
    AskName { align: center middle; }
    AskName > Vertical { width: 64; height: auto; border: round $accent; padding: 1 2; background: $surface; }
    AskName #ask-error { color: $error; height: auto; }
    """

    def __init__(self, prompt: str, check=None, value: str = ""):
        super().__init__()
        self.prompt, self.check, self.value = prompt, check, value

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.prompt)
            yield Input(self.value, id="ask-input")
            yield Static("", id="ask-error")
        yield KeyFooter()  # this dialog's keys, not those of the screen behind it

    def on_input_submitted(self, event: Input.Submitted) -> None:
        name = event.value.strip()
        if self.check is not None:
            try:
                self.check(name)
            except ValueError as error:
                self.query_one("#ask-error", Static).update(str(error))
                return
        self.dismiss(name)

    def action_cancel(self) -> None:
        self.dismiss(None)
