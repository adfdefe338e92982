"""Sampled answers as they arrive: prompt, answer, each reward function's score, advantage."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable

PROMPT_CHARS, ANSWER_CHARS, MIN_ANSWER_CHARS = 26, 54, 20
MAX_ROWS = 1000  # past this the table is rebuilt from the samples kept, so a long run stays light


def _short(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class SamplesPanel(DataTable):
    """A table of samples, newest at the bottom; scroll up for history."""

    def __init__(self, **kwargs):
        super().__init__(zebra_stripes=True, cursor_type="row", **kwargs)
        self.reward_names: list[str] = []
        self.shown = 0  # how many of all the samples that arrived are in the table
        self.samples: list[dict[str, Any]] = []
        self.seen, self.reset = 0, 0
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
            self.show(self.samples, self.seen, self.reset)  # answers cut anew for the new width

    def _answer_chars(self) -> int:
        """The answer column's width: what the panel has left once the other columns fit, so the
        reward and advantage columns are never cut off however many reward functions there are."""
        if not self.size.width:
            return ANSWER_CHARS
        others = ["step", "x" * PROMPT_CHARS, *self.reward_names, "+0.00"]
        used = sum(max(len(name), 5) for name in others) + 2 * (len(others) + 1) + 2  # cell padding, scrollbar
        return max(MIN_ANSWER_CHARS, min(ANSWER_CHARS, self.size.width - used))

    def show(self, samples: list[dict[str, Any]], seen: int | None = None, reset: int = 0) -> None:
        """Add the samples that arrived since the last call.

        ``samples`` are the latest ones kept (a bounded window), ``seen`` how many arrived in all
        (default: ``len(samples)``) and ``reset`` how many times earlier ones were dropped (a resume);
        the table is rebuilt from ``samples`` when the reward columns, the width or ``reset`` change.
        """
        seen = len(samples) if seen is None else seen
        self.samples, self.seen = samples, seen
        names = sorted({name for s in samples for name in s.get("rewards", {})})
        if names != self.reward_names or self.laid_out_for != self.size.width or reset != self.reset \
                or self.row_count + seen - self.shown > MAX_ROWS:
            self._columns(names)
            self.laid_out_for, self.reset = self.size.width, reset
            self.shown = seen - len(samples)
        at_bottom = self.cursor_row >= self.row_count - 1
        answer_chars = self._answer_chars()
        new = min(seen - self.shown, len(samples))
        for sample in samples[len(samples) - new:] if new > 0 else []:
            rewards = sample.get("rewards", {})
            advantage = sample.get("advantage")
            self.add_row(
                str(sample.get("step", "")),
                _short(sample.get("prompt", ""), PROMPT_CHARS),
                _short(sample.get("completion", ""), answer_chars),
                *[f"{rewards[n]:.2f}" if isinstance(rewards.get(n), (int, float)) else "-" for n in names],
                f"{advantage:+.2f}" if isinstance(advantage, (int, float)) else "",
            )
        self.shown = seen
        if at_bottom and self.row_count:
            self.move_cursor(row=self.row_count - 1)
