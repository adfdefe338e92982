"""The Setup verdict: ready to train, still checking, or what stops the run, and the warnings.

Each problem or warning is one line, cut at the screen's edge (the whole text
is in the tooltip), and at most ``LINES`` of them show, so a long message never
wraps and pushes the footer out of view.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from engine.contract.config import RunConfig
from engine.methods import METHODS
from engine.planning.memory_estimate import gpu_warning
from engine.planning.preflight import Report, packing_warning

LINES = 3
_STYLES = {"✗": "bold red", "⚠": "bold yellow", "✓": "bold green", "…": "bold yellow"}


def verdict_lines(config: RunConfig, report: Report) -> list[tuple[str, str]]:
    """What stops the run (✗), or that it is ready (✓) or still being checked (…), then the warnings (⚠)."""
    c = config
    lines = [("✗", f"{f.path}: {f.message}") for f in report.problems]
    if not lines:
        start = f" · starts from {c.model.start_from}" if c.model.start_from else ""
        steps = (report.steps_plan or f"{c.training.max_steps} steps") + start + \
            (f" · {report.eval_plan}" if report.eval_plan else "")
        title = f"{METHODS[c.method_name].title} on {c.model.name} · {c.dataset.source} · {steps}"
        lines.append(("…", f"checking the dataset… {title}") if report.pending else
                     ("✓", f"ready · press t (or ctrl+t) to train · {title}"))
    memory = gpu_warning(c)
    packing = packing_warning(c.model.backend, c.model.load_in_4bit) \
        if c.method_name == "sft" and c.method.packing else None
    return lines + [("⚠", warning) for warning in [f.message for f in report.warnings] + [memory, packing] if warning]


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
