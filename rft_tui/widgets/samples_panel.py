"""Sampled answers as they arrive: prompt, answer, each reward function's score, advantage.

A row shows the start of a sample; Enter on it opens the whole of it (``SampleScreen``).
Answers to held-out prompts, from the run's evaluations, are marked "eval" beside their step.
The columns are those the run's samples fill: no reward columns when nothing scored them,
no advantage column for a method that has none (all but GRPO and PPO).

Rows are added at most ``ROWS_PER_SLICE`` at a time, the rest a moment later: the table
measures every cell it is given, and 500 rows at once (a replay) held the event loop ~75 ms.
Cells are ``Text``, not markup strings, so a bracket in an answer is shown as written and
no time goes to parsing markup.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

PROMPT_CHARS, ANSWER_CHARS, MIN_ANSWER_CHARS = 26, 54, 20
MAX_ROWS = 1000  # past this the table is rebuilt from the samples kept, so a long run stays light
ROWS_PER_SLICE = 50
# Rendered rows (and their cells) kept for redrawing: two full screens of them.
CACHED_ROWS = 120
CACHED_CELLS = CACHED_ROWS * 8


def _short(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _has_advantage(samples: list[dict[str, Any]]) -> bool:
    return any(isinstance(s.get("advantage"), (int, float)) for s in samples)


class SamplesPanel(DataTable):
    """A table of samples, newest at the bottom; scroll up for history, Enter to read one whole."""

    BINDINGS = [Binding("enter", "select_cursor", "read sample")]  # DataTable's own, named in the footer

    def __init__(self, **kwargs):
        super().__init__(zebra_stripes=True, cursor_type="row", **kwargs)
        self.reward_names: list[str] = []
        self.advantage = False  # whether the table has an advantage column
        self.shown = 0  # how many of all the samples that arrived are in the table
        self.samples: list[dict[str, Any]] = []
        self.seen, self.reset = 0, 0
        self.laid_out_for = 0  # the width the rows' answers were cut for
        self._by_row: dict[str, dict[str, Any]] = {}  # row key → the sample it shows
        self._more_timer = None  # the timer that adds the rows one call left for later
        # DataTable caches the rendering of up to 10,000 cells and 1,000 rows and lines: kept alive, those
        # were ~60,000 objects every full garbage collection walked (~50 ms) for rows nobody scrolls to.
        for cache, size in ((self._cell_render_cache, CACHED_CELLS), (self._row_render_cache, CACHED_ROWS),
                            (self._row_renderable_cache, CACHED_ROWS), (self._line_cache, CACHED_ROWS)):
            cache.maxsize = size

    def on_mount(self) -> None:
        self.border_title = "Samples"
        self._columns([], False)

    def _columns(self, reward_names: list[str], advantage: bool) -> None:
        self.clear(columns=True)
        self._by_row = {}
        self.reward_names, self.advantage = reward_names, advantage
        self.add_columns("step", "prompt", "answer", *reward_names, *(["adv"] if advantage else []))
        self.shown = 0

    def on_resize(self) -> None:
        if self.samples and self.laid_out_for != self.size.width:
            self.show(self.samples, self.seen, self.reset)  # answers cut anew for the new width

    def _answer_chars(self) -> int:
        """The answer column's width: what the panel has left once the other columns fit, so the
        reward and advantage columns are never cut off however many reward functions there are."""
        if not self.size.width:
            return ANSWER_CHARS
        others = ["step", "x" * PROMPT_CHARS, *self.reward_names, *(["+0.00"] if self.advantage else [])]
        used = sum(max(len(name), 5) for name in others) + 2 * (len(others) + 1) + 2  # cell padding, scrollbar
        return max(MIN_ANSWER_CHARS, self.size.width - used)

    def forget(self) -> None:
        """Drop every row and column (another run is shown next)."""
        self.samples, self.seen, self.reset = [], 0, 0
        self._columns([], False)
        self.reward_names = None  # the next ``show`` lays the table out anew

    def sample_at(self, row_key: Any) -> dict[str, Any] | None:
        """The sample a row shows (by its key, as ``RowSelected`` gives it)."""
        return self._by_row.get(getattr(row_key, "value", row_key))

    def show(self, samples: list[dict[str, Any]], seen: int | None = None, reset: int = 0) -> None:
        """Add the samples that arrived since the last call.

        ``samples`` are the latest ones kept (a bounded window), ``seen`` how many arrived in all
        (default: ``len(samples)``) and ``reset`` how many times earlier ones were dropped (a resume);
        the table is rebuilt from ``samples`` when its columns, the width or ``reset`` change.
        """
        seen = len(samples) if seen is None else seen
        self.samples, self.seen = samples, seen
        if not self.size.width:
            return  # not laid out yet: answers are cut to the width, so ``on_resize`` adds the rows
        names = sorted({name for s in samples for name in s.get("rewards") or {}})
        advantage = _has_advantage(samples)
        if names != self.reward_names or advantage != self.advantage or self.laid_out_for != self.size.width \
                or reset != self.reset or self.row_count + seen - self.shown > MAX_ROWS:
            self._columns(names, advantage)
            self.laid_out_for, self.reset = self.size.width, reset
            self.shown = seen - len(samples)
        at_bottom = self.cursor_row >= self.row_count - 1
        answer_chars = self._answer_chars()
        new = min(seen - self.shown, len(samples))
        batch = samples[len(samples) - new:][:ROWS_PER_SLICE] if new > 0 else []
        for number, sample in enumerate(batch, start=seen - new):
            rewards = sample.get("rewards") or {}
            advantage_value = sample.get("advantage")
            key = str(number)
            self._by_row[key] = sample
            self.add_row(
                Text(f"{sample.get('step', '')}{' eval' if sample.get('eval') else ''}"),  # a held-out answer
                Text(_short(sample.get("prompt", ""), PROMPT_CHARS)),
                Text(_short(sample.get("completion", ""), answer_chars)),
                *[Text(f"{rewards[n]:.2f}" if isinstance(rewards.get(n), (int, float)) else "-") for n in names],
                *([Text(f"{advantage_value:+.2f}" if isinstance(advantage_value, (int, float)) else "")]
                  if self.advantage else []),
                key=key,
            )
        self.shown = seen - new + len(batch)
        if self.shown < seen and self._more_timer is None:
            self._more_timer = self.set_timer(0.01, self._add_more)
        if at_bottom and self.row_count:
            self.move_cursor(row=self.row_count - 1)

    def _add_more(self) -> None:
        self._more_timer = None
        self.show(self.samples, self.seen, self.reset)
