"""Choose a file or folder (a local model, a dataset file, an earlier run) from a tree."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DirectoryTree, Label

from rft_tui.widgets.key_footer import KeyFooter


class PickPath(ModalScreen[str | None]):
    """enter on a file picks it; p picks the highlighted folder; escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "cancel"), Binding("p", "pick_folder", "pick this folder")]
    DEFAULT_CSS = """
    PickPath { align: center middle; }
    PickPath > Vertical { width: 90; height: 30; border: round $accent; background: $surface; }
    PickPath DirectoryTree { height: 1fr; }
    """

    def __init__(self, start: Path, title: str):
        super().__init__()
        self.start, self.title_text = start, title

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"{self.title_text}  (enter: pick a file · p: pick the highlighted folder · esc: cancel)")
            yield DirectoryTree(self.start)
        yield KeyFooter()  # this dialog's keys, not those of the screen behind it

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        self.dismiss(str(event.path))

    def action_pick_folder(self) -> None:
        node = self.query_one(DirectoryTree).cursor_node
        if node is not None and node.data is not None:
            path = Path(node.data.path)
            self.dismiss(str(path if path.is_dir() else path.parent))

    def action_cancel(self) -> None:
        self.dismiss(None)
