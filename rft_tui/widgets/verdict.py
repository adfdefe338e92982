"""The Setup verdict: ready to train, still checking, or what stops the run, and the warnings.

Each problem or warning is one line, cut at the screen's edge (the whole text
is in the tooltip), and at most ``LINES`` of them show, so a long message never
wraps and pushes the footer out of view.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

LINES = 3
_STYLES = {"✗": "bold red", "⚠": "bold yellow", "✓": "bold green", "…": "bold yellow"}


def verdict_text(lines: list[tuple[str, str]]) -> Text:
    """The verdict's text: a count of the problems, then at most ``LINES`` lines, each with its mark."""
    problems = sum(mark == "✗" for mark, _ in lines)
    shown = lines if len(lines) <= LINES else lines[: LINES - 1]
    text = Text()  # a style given here would colour every line appended after it
    if problems:
        text.append(f"{problems} problem(s) · ", style="bold red")
    for i, (mark, line) in enumerate(shown):
        text.append_text(Text.assemble("\n" if i else "", (f"{mark} ", _STYLES[mark]),
                                       (line, "yellow" if mark == "⚠" else "")))
    if len(shown) < len(lines):
        # Hovering shows all of them (the tooltip); from the keyboard, the fields themselves say theirs.
        text.append(f"\n… and {len(lines) - len(shown)} more; a field with a problem is red in its section",
                    style="dim")
    return text


class Verdict(Static):
    """Lines of ``(mark, text)``: ✗ a problem, ⚠ a warning, ✓ ready, … still checking."""

    def show(self, lines: list[tuple[str, str]]) -> None:
        self.update(verdict_text(lines))
        self.tooltip = "\n".join(f"{mark} {line}" for mark, line in lines)
