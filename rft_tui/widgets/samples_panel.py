"""The samples table on the dashboard: the latest samples, one row each, newest at the bottom.

A row shows the start of a sample; Enter on it opens the whole of it (``SampleScreen``).
Answers to held-out prompts, from the run's evaluations, are marked "eval" beside their step.
The columns are those the run's samples fill: no reward columns when nothing scored them,
no advantage column for a method that has none (all but GRPO and PPO).

The table draws only the rows in view, straight from the samples the run keeps (Textual's
line API): a row is a few segments made when it is drawn. Textual's ``DataTable`` rendered
every row in view again whenever a row was added (~1 ms a row, 45 at full screen) and kept
render caches of thousands of objects; while a run streamed, that was the dashboard's worst
stall and what made its keys late.
"""

from __future__ import annotations

from typing import Any, ClassVar, Iterable

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

PROMPT_CHARS, MIN_ANSWER_CHARS = 26, 20
NUMBER_CHARS = 5  # "0.25", "+0.62": a score or an advantage
PADDING = 1  # blank cells either side of each column's text


def _short(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def _has_advantage(samples: list[dict[str, Any]]) -> bool:
    return any(isinstance(s.get("advantage"), (int, float)) for s in samples)


def _step_text(sample: dict[str, Any]) -> str:
    return f"{sample.get('step', '')}{' eval' if sample.get('eval') else ''}"  # a held-out prompt's answer


class SamplesPanel(ScrollView, can_focus=True):
    """Prompt, answer start, each reward and the advantage of the latest samples; Enter opens one."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"samples-panel--header", "samples-panel--cursor",
                                             "samples-panel--even"}
    DEFAULT_CSS = """
    SamplesPanel {
        background: $surface;
        color: $foreground;
        & > .samples-panel--header { text-style: bold; background: $panel; color: $foreground; }
        & > .samples-panel--even { background: $surface-lighten-1 50%; }
        & > .samples-panel--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .samples-panel--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
    }
    """
    BINDINGS = [
        Binding("up", "cursor(-1)", "up", show=False),
        Binding("down", "cursor(1)", "down", show=False),
        Binding("pageup", "page(-1)", "page up", show=False),
        Binding("pagedown", "page(1)", "page down", show=False),
        Binding("home", "cursor(-1_000_000)", "first", show=False),
        Binding("end", "cursor(1_000_000)", "last", show=False),
    ]

    cursor_row: reactive[int] = reactive(0, always_update=True, init=False)

    class Chosen(Message):
        """A sample was clicked on where the cursor was (Enter is the screen's key)."""

        def __init__(self, sample: dict[str, Any]) -> None:
            super().__init__()
            self.sample = sample

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.reward_names: list[str] = []
        self.advantage = False  # whether the table has an advantage column
        self.samples: list[dict[str, Any]] = []  # the rows, oldest first
        self.seen, self.reset = 0, 0
        self.widths: list[int] = []  # each column's width, padding left out

    # -- what the table shows -----------------------------------------------------------------------

    def show(self, samples: Iterable[dict[str, Any]], seen: int | None = None, reset: int = 0) -> None:
        """Show ``samples``, the latest ones kept (a bounded window), ``seen`` being how many arrived in
        all (default: ``len(samples)``) and ``reset`` how many times earlier ones were dropped (a resume).

        The cursor stays on its sample as older ones leave the window, and at the bottom it follows
        the newest.
        """
        samples = list(samples)  # a copy: the run's window moves on while these are shown
        seen = len(samples) if seen is None else seen
        at_bottom = self.cursor_row >= len(self.samples) - 1
        left = (seen - len(samples)) - (self.seen - len(self.samples))  # samples that left the window
        if reset != self.reset or left < 0:
            at_bottom, left = True, 0  # another run, or a resume: from the bottom again
        self.samples, self.seen, self.reset = samples, seen, reset
        self.reward_names = sorted({name for s in samples for name in s.get("rewards") or {}})
        self.advantage = _has_advantage(samples)
        self._lay_out()
        self.cursor_row = len(self.samples) - 1 if at_bottom else max(0, self.cursor_row - left)

    def forget(self) -> None:
        """Drop every row (another run is shown next)."""
        self.show([], 0, self.reset + 1)

    @property
    def row_count(self) -> int:
        return len(self.samples)

    @property
    def column_names(self) -> list[str]:
        return ["step", "prompt", "answer", *self.reward_names, *(["adv"] if self.advantage else [])]

    @property
    def cursor_sample(self) -> dict[str, Any] | None:
        """The sample under the cursor, if any."""
        return self.samples[self.cursor_row] if 0 <= self.cursor_row < len(self.samples) else None

    def get_row_at(self, row: int) -> list[str]:
        """The cells of a row as the table shows them (answers cut to the answer column's width)."""
        sample = self.samples[row]
        rewards = sample.get("rewards") or {}
        advantage = sample.get("advantage")
        answer_chars = self.widths[2] if self.widths else MIN_ANSWER_CHARS
        return [
            _step_text(sample),
            _short(sample.get("prompt", ""), PROMPT_CHARS),
            _short(sample.get("completion", ""), answer_chars),
            *[f"{rewards[n]:.2f}" if isinstance(rewards.get(n), (int, float)) else "-" for n in self.reward_names],
            *([f"{advantage:+.2f}" if isinstance(advantage, (int, float)) else ""] if self.advantage else []),
        ]

    def _lay_out(self) -> None:
        """Column widths for the panel's width: the answer takes what the other columns leave, so the
        reward and advantage columns are never cut off however many reward functions there are."""
        step = max([len("step"), *(len(_step_text(s)) for s in self.samples)])
        numbers = [max(len(name), NUMBER_CHARS) for name in self.column_names[3:]]
        fixed = [step, PROMPT_CHARS, *numbers]
        width = self.scrollable_content_region.width or 80
        answer = max(MIN_ANSWER_CHARS, width - sum(fixed) - 2 * PADDING * (len(fixed) + 1))
        self.widths = [step, PROMPT_CHARS, answer, *numbers]
        self.virtual_size = Size(sum(self.widths) + 2 * PADDING * len(self.widths), len(self.samples) + 1)
        self.refresh()

    def on_resize(self) -> None:
        self._lay_out()  # answers are cut to the new width
        self._scroll_to_cursor()

    # -- drawing --------------------------------------------------------------------------------------

    def _line(self, cells: list[str], style: Style) -> list[Segment]:
        pad = " " * PADDING
        return [Segment(f"{pad}{cell[:width]:<{width}}{pad}", style) for cell, width in zip(cells, self.widths)]

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:  # the header stays put while the rows scroll under it
            style = base + self.get_component_rich_style("samples-panel--header")
            segments = self._line(self.column_names, style)
        else:
            row = scroll_y + y - 1
            if row >= len(self.samples):
                return Strip.blank(width, base)
            if row == self.cursor_row:
                style = base + self.get_component_rich_style("samples-panel--cursor")
            elif row % 2:
                style = base + self.get_component_rich_style("samples-panel--even")
            else:
                style = base
            segments = self._line(self.get_row_at(row), style)
        return Strip(segments).extend_cell_length(width + scroll_x, style).crop(scroll_x, scroll_x + width)

    # -- the cursor -----------------------------------------------------------------------------------

    def validate_cursor_row(self, row: int) -> int:
        return max(0, min(row, len(self.samples) - 1))

    def watch_cursor_row(self) -> None:
        self._scroll_to_cursor()
        self.refresh()

    def _scroll_to_cursor(self) -> None:
        rows_in_view = max(1, self.scrollable_content_region.height - 1)  # less the header
        top = self.scroll_offset.y
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row > top + rows_in_view - 1:
            self.scroll_to(y=self.cursor_row - rows_in_view + 1, animate=False, immediate=True)

    def action_cursor(self, by: int) -> None:
        self.cursor_row += by

    def action_page(self, pages: int) -> None:
        self.cursor_row += pages * max(1, self.scrollable_content_region.height - 1)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1 or not self.samples:  # the border or the header
            return
        row = self.scroll_offset.y + offset.y - 1
        if row >= len(self.samples):
            return
        if row == self.cursor_row:
            self.post_message(self.Chosen(self.samples[row]))
        self.cursor_row = row
