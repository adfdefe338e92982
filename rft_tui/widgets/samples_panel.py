"""Sampled answers as they arrive: prompt, answer, each reward function's score, advantage."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable

PROMPT_CHARS, ANSWER_CHARS, MIN_ANSWER_CHARS = 26, 54, 20


def _short(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class SamplesPanel(DataTable):
    """A table of samples, newest at the bottom; scroll up for history."""

    def __init__(self, **kwargs):
        super().__init__(zebra_stripes=True, cursor_type="row", **kwargs)
        self.reward_names: list[str] = []
        self.shown = 0
        self.samples: list[dict[str, Any]] = []
        self.laid_out_for = 0  # the width the rows' answers were cut for

    def on_mount(self) -> None:
        self.border_title = "Samples"
        self._columns([])

    def _columns(self, reward_names: list[str]) -> None:
        self.clear(columns=True)
        self.reward_names = reward_names
        self.add_columns("step", "prompt", "answer", *reward_names, "adv")
        self.shown = 0

    def on_resize(self) -> None:
        if self.samples and self.laid_out_for != self.size.width:
            self.show(self.samples)  # answers cut anew for the new width

    def _answer_chars(self) -> int:
        """The answer column's width: what the panel has left once the other columns fit, so the
        reward and advantage columns are never cut off however many reward functions there are."""
        if not self.size.width:
            return ANSWER_CHARS
        others = ["step", "x" * PROMPT_CHARS, *self.reward_names, "+0.00"]
        used = sum(max(len(name), 5) for name in others) + 2 * (len(others) + 1) + 2  # cell padding, scrollbar
        return max(MIN_ANSWER_CHARS, min(ANSWER_CHARS, self.size.width - used))

    def show(self, samples: list[dict[str, Any]]) -> None:
        """Add the samples not yet shown (all of them if the reward columns changed)."""
        self.samples = samples
        names = sorted({name for s in samples for name in s.get("rewards", {})})
        if names != self.reward_names or self.laid_out_for != self.size.width:
            self._columns(names)
            self.laid_out_for = self.size.width
        at_bottom = self.cursor_row >= self.row_count - 1
        answer_chars = self._answer_chars()
        for sample in samples[self.shown:]:
            rewards = sample.get("rewards", {})
            advantage = sample.get("advantage")
            self.add_row(
                str(sample.get("step", "")),
                _short(sample.get("prompt", ""), PROMPT_CHARS),
                _short(sample.get("completion", ""), answer_chars),
                *[f"{rewards[n]:.2f}" if isinstance(rewards.get(n), (int, float)) else "-" for n in names],
                f"{advantage:+.2f}" if isinstance(advantage, (int, float)) else "",
            )
        self.shown = len(samples)
        if at_bottom and self.row_count:
            self.move_cursor(row=self.row_count - 1)
