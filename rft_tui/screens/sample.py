"""One sample whole: its prompt and answer uncut, each reward's score, the advantage, the step.

The samples table shows the start of each answer; this screen is where one is read
to the end. Opened with Enter on a row of the dashboard's samples, closed with esc.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from rft_tui.widgets.key_footer import KeyFooter


def _score(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "-"


def sample_text(sample: dict[str, Any], run_name: str, method: str | None) -> Text:
    """The sample as one text: a heading line, its scores, then the prompt and the answer as written
    (line breaks kept, markup-like brackets shown as they are)."""
    text = Text()
    heading = [f"step {sample.get('step', '?')}"] + (["held-out eval answer"] if sample.get("eval") else []) + \
        ([method] if method else []) + [run_name]
    if sample.get("side"):
        heading.append(f"{sample['side']} answer")  # a reward model's score of one side of a pair
    text.append(" · ".join(heading), style="bold")
    text.append("\n\n")
    rewards = sample.get("rewards") or {}
    scores = [(name, _score(value)) for name, value in sorted(rewards.items())]
    if isinstance(sample.get("reward"), (int, float)) and len(rewards) > 1:
        scores.append(("weighted total", _score(sample["reward"])))
    if isinstance(sample.get("advantage"), (int, float)):
        scores.append(("advantage", f"{sample['advantage']:+.4g}"))
    width = max((len(name) for name, _ in scores), default=0)
    for name, value in scores:
        text.append(f"{name:<{width}}  ", style="bold")
        text.append(value + "\n")
    if not rewards:
        text.append("no reward scored this sample (the run has no reward functions)\n", style="dim")
    for title, key in (("Prompt", "prompt"), ("Answer", "completion")):
        text.append(f"\n{title}\n", style="bold underline")
        body = str(sample.get(key) or "")
        text.append(body if body else "(empty)", style="" if body else "dim")
        text.append("\n")
    return text


class SampleScreen(Screen):
    """A scrollable view of one sample; esc goes back to the dashboard."""

    BINDINGS = [Binding("escape", "close", "back to the dashboard"), Binding("q", "close", "back", show=False)]

    def __init__(self, sample: dict[str, Any], run_name: str, method: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.sample, self.run_name, self.method = sample, run_name, method

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="sample-scroll"):
            yield Static(sample_text(self.sample, self.run_name, self.method), id="sample-text")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#sample-scroll").focus()  # arrows and page keys scroll at once

    def action_close(self) -> None:
        self.dismiss()
