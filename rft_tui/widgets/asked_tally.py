"""The playground's running comparison: base against tuned over every prompt asked there.

One answer pair says little; after a dozen prompts the table says whether the
adapter helps on the questions a person actually asks, in the same terms as
``rft eval`` on held-out data (each reward function's mean per side, and how
often the tuned answer scored better, the same or worse).
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from engine.contract.comparison import compare_scores
from rft_tui.comparison_table import comparison_table


class AskedTally(Static):
    """Each reward function's scores of both sides, one pair per prompt asked since the adapter was loaded."""

    def __init__(self, **kwargs: Any):
        super().__init__("", **kwargs)
        self.scores: dict[str, tuple[list[float], list[float]]] = {}  # function → (base scores, tuned scores)
        self.asked = 0
        self.shown: Text | Table = Text("")

    def on_mount(self) -> None:
        self._show()

    def record(self, base: dict[str, float | None], tuned: dict[str, float | None]) -> None:
        """One prompt's two answers' rewards; a function that could not score either side is left out."""
        self.asked += 1
        for name, value in base.items():
            if value is not None and tuned.get(name) is not None:
                sides = self.scores.setdefault(name, ([], []))
                sides[0].append(float(value))
                sides[1].append(float(tuned[name]))
        self._show()

    def reset(self) -> None:
        self.scores, self.asked = {}, 0
        self._show()

    def rows(self) -> list[dict[str, Any]]:
        return [compare_scores(name, base, tuned) for name, (base, tuned) in self.scores.items()]

    def plain(self, width: int = 100) -> str:
        """What the table shows, as plain text."""
        console = Console(width=width, color_system=None)
        with console.capture() as captured:
            console.print(self.shown)
        return captured.get()

    def _show(self) -> None:
        self.shown = self._renderable()
        self.update(self.shown)

    def _renderable(self) -> Text | Table:
        if not self.scores:
            return Text("base against tuned over the prompts you ask: the table fills in with each answer pair "
                        "the run's reward functions score", style="dim")
        return comparison_table(self.rows(), f"{self.asked} prompt{'s' * (self.asked != 1)} asked here, "
                                             "this adapter")
