"""A live line chart of one or more metrics, drawn with plotext.

The chart never redraws per event: the dashboard hands it the buffered series
on a timer, and the chart rebuilds its figure only when what it shows has
changed. A long series is thinned to the chart's width first (the lowest and
the highest value in each braille column, so a spike stays in view): plotext's
cost grows with the points it is given, not with what a terminal can show.

The axes carry ticks of their own (``nice_ticks``, ``row_ticks``): plotext's
own are placed at even fractions of the data's range, so their labels are odd
numbers and a short chart drops some of them; round ones are spaced evenly on
screen only when their intervals divide the axis's rows; a step is a whole
number, so its axis is too.

A figure is built (plotext's ``build``, its ANSI read back into ``Text`` and
that turned into lines of cells) in one thread beside the event loop: on a small CPU a figure takes 30–50 ms, which
held every key and redraw while four charts were drawn at the end of a replay.
``show`` copies what the figure draws into a ``FigurePlan`` (the series go on
growing on the event loop) and ``draw_figure`` thins it, plots it on a fresh
plotext ``Plot`` and builds it there. The chart shows its last figure until the
new one is in, and a show that comes while a build runs replaces the one
waiting, so a chart never falls behind by more than one figure.
"""

from __future__ import annotations

import asyncio
import io
import math
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from rich.console import Console
from rich.text import Text
from textual.app import RenderResult
from textual.strip import Strip
from textual_plotext import PlotextPlot
from textual_plotext.plot import Plot

from rft_tui.run_watch import Series

# Steps a person reads at a glance: 1, 2, 2.5 or 5 times a power of ten.
NICE_FACTORS = (1.0, 2.0, 2.5, 5.0)
NOT_LOGGED = "not logged by this method"

SWITCH_INTERVAL_S = 0.001
_builder: ThreadPoolExecutor | None = None  # the one thread every chart's figures are built in


def nice_ticks(lo: float, hi: float, most: int, whole: bool = False) -> list[float]:
    """At most ``most`` (at least 2, or 3 across zero) round, evenly spaced ticks, the first at or
    below ``lo`` and the last at or above ``hi``; one step apart, the step 1, 2, 2.5 or 5 × 10^k
    (``whole``: a whole number).

    A chart's axis is set to run from the first tick to the last, so every tick has its label.
    """
    most = max(2, most)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    lo, hi = min(lo, hi), max(lo, hi)
    if hi == lo:  # a constant series: a band around it
        pad = 1.0 if whole or lo == 0 else abs(lo) * 0.1
        lo, hi = lo - pad, hi + pad
    if lo < 0 < hi:
        most = max(most, 3)  # zero is a tick: one at or below lo, one at or above hi, and zero
    power = 10.0 ** math.floor(math.log10((hi - lo) / (most - 1)))
    while True:
        for factor in NICE_FACTORS:
            step = factor * power
            if whole and (step < 1 or step != int(step)):
                continue
            first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
            if 0 < last - first < most:
                return [round(i * step, 12) for i in range(first, last + 1)]
        power *= 10


def row_ticks(lo: float, hi: float, rows: int) -> list[float]:
    """Round ticks for a y axis of ``rows`` text rows, evenly spaced on screen as well as in value.

    plotext puts each tick on the nearest row, so ticks land evenly only when the intervals between
    them divide the rows between the first and the last (a 6-row axis takes 1, or 5 intervals, never 2
    or 3). Of the counts that divide, the one whose round step spans the data most tightly wins; on a
    tie, the count nearest a label every other row.
    """
    gaps = max(1, rows - 1)
    counts = [k for k in range(2, gaps + 1) if gaps % k == 0] or [1]
    best: tuple[float, float, list[float]] | None = None
    for count in counts:
        ticks = nice_ticks(lo, hi, count + 1)
        if len(ticks) - 1 < count:  # the data fits in fewer intervals: widen to exactly ``count``
            step, missing = ticks[1] - ticks[0], count - (len(ticks) - 1)
            below = missing // 2  # pad both ends alike, so the data stays in the middle
            ticks = [round(ticks[0] + (i - below) * step, 12) for i in range(count + 1)]
        if len(ticks) - 1 != count:
            continue  # across zero, nice_ticks asks for more intervals than this count
        rank = (ticks[-1] - ticks[0], abs(count - gaps / 2), ticks)
        if best is None or rank[:2] < best[:2]:
            best = rank
    return best[2] if best else nice_ticks(lo, hi, 2)


def tick_labels(ticks: list[float]) -> list[str]:
    """The ticks with one number of decimals, the fewest that write each of them exactly (so
    0.25 0.50 0.75, not 0.25 0.5 0.75); in powers of ten when that would take more than four."""
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0

    def exact(labels: list[str]) -> bool:
        return all(abs(float(label) - t) <= step * 1e-6 for label, t in zip(labels, ticks))

    largest = max(abs(t) for t in ticks)
    if largest < 1e5:
        for decimals in range(5):
            labels = [f"{t + 0.0:.{decimals}f}" for t in ticks]  # + 0.0: no "-0.00"
            if exact(labels):
                return labels
    for digits in range(6):
        labels = [f"{t:.{digits}e}" for t in ticks]
        if exact(labels):
            return ["0" if t == 0 else label.replace("e-0", "e-").replace("e+0", "e") for label, t in
                    zip(labels, ticks)]
    return [f"{t:g}" for t in ticks]


def thin(steps: list[int], values: list[float], columns: int) -> tuple[list[int], list[float]]:
    """About two points per column: each column's lowest and highest value, in step order, and the
    first and the last point (the latest value is what a live chart is watched for)."""
    n = len(values)
    if n <= 2 * columns:
        return steps, values
    kept = {0, n - 1}
    for column in range(columns):
        window = range(column * n // columns, (column + 1) * n // columns)
        if window:
            kept.add(min(window, key=values.__getitem__))
            kept.add(max(window, key=values.__getitem__))
    order = sorted(kept)
    return [steps[i] for i in order], [values[i] for i in order]


@dataclass
class Line:
    """One series of a figure: its steps and values, as they were when the figure was asked for."""

    steps: list[int]
    values: list[float]
    label: str
    side: str = "left"  # the y axis it is read on


@dataclass
class FigurePlan:
    """What one figure shows, at a size in cells, in a plotext theme (the chart sets those three)."""

    width: int = 0
    height: int = 0
    theme: str = ""
    title: str = ""  # the line above the plot: a note, or why there is nothing to plot
    lines: list[Line] = field(default_factory=list)
    band: tuple[list[float], list[float]] | None = None  # (mean, spread) along the first line's steps


def _axes(plot: Plot, spans: dict[str, list[float]], steps: list[list[int]], rows: int, width: int) -> None:
    """Round ticks on each y axis (as many as ``rows`` hold apart) and whole steps on x."""
    for side, span in spans.items():
        ticks = row_ticks(min(span), max(span), rows)
        plot.ylim(ticks[0], ticks[-1], yside=side)
        plot.yticks(ticks, tick_labels(ticks), yside=side)
    first, last = min(s[0] for s in steps), max(s[-1] for s in steps)
    ticks = nice_ticks(first, last, max(2, min(8, width // (len(str(last)) + 5))), whole=True)
    if last > first:  # the axis ends at the steps logged, labelled at the round steps between
        ticks = [t for t in ticks if first <= t <= last] or [first, last]
    plot.xlim(ticks[0] if last == first else first, ticks[-1] if last == first else last)
    plot.xticks(ticks, [str(int(t)) for t in ticks])


def figure_lines(figure: Text, width: int, height: int) -> list[Strip]:
    """``figure`` as the chart's lines of cells, ready to show: made in the builder thread, so the event
    loop does not turn the figure's text into lines itself (~7 ms a chart here; four in the frame that
    first shows a run)."""
    console = Console(width=width, height=height, color_system="truecolor", force_terminal=True,
                      legacy_windows=False, file=io.StringIO())
    options = console.options.update(width=width, height=height, no_wrap=True, overflow="crop")
    return [Strip(line, width) for line in console.render_lines(figure, options, pad=True)]


def draw_figure(plan: FigurePlan) -> tuple[Text, list[Strip], int]:
    """The figure ``plan`` asks for, as text and as lines, and how many points it handed plotext after
    thinning (run in the builder thread: it reads nothing but ``plan``)."""
    plot = Plot()
    columns = 2 * plan.width  # braille: two dots across a cell
    spans: dict[str, list[float]] = {}  # each y axis's lowest and highest value drawn
    plotted = 0
    if plan.band is not None:
        mean, spread = plan.band
        for sign in (1, -1):
            steps, edge = thin(plan.lines[0].steps, [v + sign * s for v, s in zip(mean, spread)], columns)
            plot.plot(steps, edge, color="gray", marker="braille")
            plotted += len(edge)
            spans.setdefault("left", []).extend((min(edge), max(edge)))
    for line in plan.lines:
        steps, values = thin(line.steps, line.values, columns)
        plot.plot(steps, values, label=line.label, marker="braille", yside=line.side)
        plotted += len(values)
        spans.setdefault(line.side, []).extend((min(values), max(values)))
    if plan.lines:
        rows = plan.height - 3 - bool(plan.title)  # the frame and the x labels, and the title's line
        _axes(plot, spans, [line.steps for line in plan.lines], rows, plan.width)
    plot.title(plan.title)
    plot.plotsize(plan.width, plan.height)
    plot._set_size(plan.width, plan.height)  # as textual-plotext does: plotsize alone does not always resize
    plot.theme(plan.theme)
    figure = Text.from_ansi(plot.build())
    return figure, figure_lines(figure, plan.width, plan.height), plotted


class MetricChart(PlotextPlot):
    """A chart of named series; with ``band`` the second series is drawn as ± around the first."""

    def __init__(self, title: str, names: list[str], band: str | None = None, right: str | None = None,
                 prefix: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.title = title
        self.names = names
        self.prefix = prefix  # also draw every series named prefix* (each reward function)
        self.band = band
        self.right = right  # a series on its own right-hand axis (lr beside grad norm: other scales)
        self.points = 0  # how many logged points the last draw covers (tests read it)
        self.plotted = 0  # how many points the last figure built handed to plotext, after thinning
        self.draws = 0  # how many times a figure was asked for (tests read it)
        self.drawn_names: list[str] = []  # the series the last draw shows (tests read it)
        self._drawn: tuple | None = None  # what the last draw showed, to skip a redraw that changes nothing
        self._shown: tuple[dict[str, Series], bool] | None = None  # the last show's arguments, for a resize
        self._figure: Text = Text()  # the last figure built, what the chart shows
        self._lines: list[Strip] = []  # the same, as lines of the chart's size
        self._waiting: FigurePlan | None = None  # the next figure to build
        self._building = False

    @property
    def figure_pending(self) -> bool:
        """Whether a figure is being built or waits to be: what the chart shows is not yet its last show's
        (a chart not laid out builds nothing until it is, and has nothing pending)."""
        return self._building or (self._waiting is not None and self._waiting.width > 0)

    def on_mount(self) -> None:
        super().on_mount()
        self.border_title = self.title
        self._draw(FigurePlan(title="waiting for the first step…"))

    def on_resize(self) -> None:
        # A screen's first draw comes before its layout: the ticks and the thinning are redone for the
        # real size at once, not on the owner's next timer tick.
        if self._shown is not None:
            self.show(*self._shown)
        elif self._waiting is not None:
            self._draw(self._waiting)

    def _register_theme(self, app_theme_name: str) -> None:
        super()._register_theme(app_theme_name)
        if self._shown is not None:  # a new theme: the figure is rebuilt in its colours
            self._drawn = None
            self.show(*self._shown)

    def _draw(self, plan: FigurePlan) -> None:
        """Have ``plan`` built at the chart's size; a plan still waiting is dropped for this one."""
        plan.width, plan.height = self.size.width, self.size.height
        plan.theme = self._get_plotext_theme_name(self.app.theme)
        self._waiting = plan
        if not self._building and plan.width and plan.height:  # else ``on_resize`` builds it laid out
            self._build_next()

    def _build_next(self) -> None:
        global _builder
        if _builder is None:
            _builder = ThreadPoolExecutor(1, thread_name_prefix="rft-chart")
            # The event loop, woken while a figure is built, waits for the interpreter lock up to this
            # long (5 ms by default, which a few redraws in a row turned into a stall a person sees).
            sys.setswitchinterval(SWITCH_INTERVAL_S)
        plan, self._waiting = self._waiting, None
        self._building = True
        future = asyncio.get_running_loop().run_in_executor(_builder, draw_figure, plan)
        future.add_done_callback(self._built)

    def _built(self, future: asyncio.Future) -> None:
        self._building = False
        if future.cancelled():
            return
        error = future.exception()
        if error is None:
            self._figure, self._lines, self.plotted = future.result()
        else:  # plotext failing on some data should cost one chart its figure, not the dashboard
            self._figure, self._lines, self.plotted = Text(f"this chart could not be drawn: {error}"), [], 0
        if self._waiting is not None and self._waiting.width:
            self._build_next()
        self.refresh()

    def render(self) -> RenderResult:
        return self._figure

    def render_line(self, y: int) -> Strip:
        if len(self._lines) == self.size.height and self._lines and self._lines[0].cell_length == self.size.width:
            return self._lines[y]
        return super().render_line(y)  # resized since (a new figure is on its way), or a message

    def _names(self, series: dict[str, Series]) -> list[str]:
        extra = sorted(n for n in series if self.prefix and n.startswith(self.prefix) and not n.endswith("_std"))
        names = self.names + extra + ([self.right] if self.right else [])
        return [name for name in names if name in series and series[name].values]

    def show(self, series: dict[str, Series], finished: bool = False) -> bool:
        """Redraw from the buffered series (``finished``: the run will log nothing more).

        Returns whether a new figure was asked for: not when neither the series it draws, nor the
        run's end, nor the chart's size changed since the last draw.
        """
        self._shown = (series, finished)
        present = self._names(series)
        drawn = (finished, bool(series), self.size.width, self.size.height, tuple(
            (name, len(series[name].values), series[name].steps[-1], series[name].values[-1]) for name in
            present + ([self.band] if self.band in series and series[self.band].values else [])))
        if drawn == self._drawn:
            return False
        self._drawn = drawn
        self.draws += 1
        self.points = sum(len(series[name].values) for name in present)
        self.drawn_names = present
        if not present:
            word = NOT_LOGGED if series else "no steps were logged" if finished else "waiting for the first step…"
            self._draw(FigurePlan(title=word))
            return True
        # What a method logs only in part gets its word too: a reward without one per function (RM).
        note = f"each function: {NOT_LOGGED}" if self.prefix and not any(
            name.startswith(self.prefix) for name in present) else ""
        # Copies: the series grow (and are thinned) on the event loop while the figure is built.
        plan = FigurePlan(title=note, lines=[
            Line(list(series[name].steps), list(series[name].values), f"{name} {series[name].values[-1]:.4g}",
                 "right" if name == self.right else "left") for name in present])
        main = series[present[0]]
        if self.band and present[0] != self.right and self.band in series and \
                len(series[self.band].values) == len(main.values):
            plan.band = (plan.lines[0].values, list(series[self.band].values))
        self._draw(plan)
        return True
