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
"""

from __future__ import annotations

import math

from textual_plotext import PlotextPlot

from rft_tui.run_watch import Series

# Columns assumed before the chart has been laid out (the first draw of a replay).
DEFAULT_COLUMNS = 200
DEFAULT_ROWS = 6
# Steps a person reads at a glance: 1, 2, 2.5 or 5 times a power of ten.
NICE_FACTORS = (1.0, 2.0, 2.5, 5.0)
NOT_LOGGED = "not logged by this method"


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
        self.plotted = 0  # how many points the last draw handed to plotext, after thinning
        self.draws = 0  # how many times the figure was rebuilt (tests read it)
        self.drawn_names: list[str] = []  # the series the last draw shows (tests read it)
        self._drawn: tuple | None = None  # what the last draw showed, to skip a redraw that changes nothing
        self._shown: tuple[dict[str, Series], bool] | None = None  # the last show's arguments, for a resize

    def on_mount(self) -> None:
        super().on_mount()
        self.border_title = self.title
        self._empty()

    def on_resize(self) -> None:
        # A screen's first draw comes before its layout, with assumed rows and columns: the ticks and
        # the thinning are redone for the real size at once, not on the owner's next timer tick.
        if self._shown is not None:
            self.show(*self._shown)

    def _empty(self) -> None:
        self.plt.clear_data()
        self.plt.clear_figure()
        self.plt.title("waiting for the first step…")

    def _names(self, series: dict[str, Series]) -> list[str]:
        extra = sorted(n for n in series if self.prefix and n.startswith(self.prefix) and not n.endswith("_std"))
        names = self.names + extra + ([self.right] if self.right else [])
        return [name for name in names if name in series and series[name].values]

    def show(self, series: dict[str, Series], finished: bool = False) -> bool:
        """Redraw from the buffered series (``finished``: the run will log nothing more).

        Returns whether the figure was rebuilt: not when neither the series it draws, nor the
        run's end, nor the chart's width changed since the last draw.
        """
        self._shown = (series, finished)
        present = self._names(series)
        columns = 2 * self.size.width or DEFAULT_COLUMNS  # braille: two dots across a cell
        drawn = (finished, bool(series), columns, self.size.height, tuple(
            (name, len(series[name].values), series[name].steps[-1], series[name].values[-1]) for name in
            present + ([self.band] if self.band in series and series[self.band].values else [])))
        if drawn == self._drawn:
            return False
        self._drawn = drawn
        self.draws += 1
        self.plt.clear_data()
        self.plt.clear_figure()
        self.points = sum(len(series[name].values) for name in present)
        self.drawn_names = present
        self.plotted = 0
        if not present:
            if series:
                self.plt.title(NOT_LOGGED)
            else:
                self.plt.title("no steps were logged" if finished else "waiting for the first step…")
            self.refresh()
            return True
        # What a method logs only in part gets its word too: a reward without one per function (RM).
        note = f"each function: {NOT_LOGGED}" if self.prefix and not any(
            name.startswith(self.prefix) for name in present) else ""
        spans: dict[str, list[float]] = {}  # each y axis's lowest and highest value drawn
        main = series[present[0]]
        if self.band and present[0] != self.right and self.band in series and \
                len(series[self.band].values) == len(main.values):
            spread = series[self.band].values
            for sign in (1, -1):
                steps, edge = thin(main.steps, [v + sign * s for v, s in zip(main.values, spread)], columns)
                self.plt.plot(steps, edge, color="gray", marker="braille")
                self.plotted += len(edge)
                spans.setdefault("left", []).extend((min(edge), max(edge)))
        for name in present:
            s = series[name]
            side = "right" if name == self.right else "left"
            steps, values = thin(s.steps, s.values, columns)
            self.plt.plot(steps, values, label=f"{name} {s.values[-1]:.4g}", marker="braille", yside=side)
            self.plotted += len(values)
            spans.setdefault(side, []).extend((min(values), max(values)))
        self._axes(spans, [series[name].steps for name in present], note)
        self.plt.title(note)
        self.refresh()
        return True

    def _axes(self, spans: dict[str, list[float]], steps: list[list[int]], note: str) -> None:
        """Round ticks on each y axis (as many as the chart's rows hold apart) and whole steps on x."""
        rows = self.size.height - 3 - bool(note) if self.size.height else DEFAULT_ROWS  # frame and x labels
        for side, span in spans.items():
            ticks = row_ticks(min(span), max(span), rows)
            self.plt.ylim(ticks[0], ticks[-1], yside=side)
            self.plt.yticks(ticks, tick_labels(ticks), yside=side)
        first, last = min(s[0] for s in steps), max(s[-1] for s in steps)
        width = self.size.width or DEFAULT_COLUMNS // 2
        ticks = nice_ticks(first, last, max(2, min(8, width // (len(str(last)) + 5))), whole=True)
        if last > first:  # the axis ends at the steps logged, labelled at the round steps between
            ticks = [t for t in ticks if first <= t <= last] or [first, last]
        self.plt.xlim(ticks[0] if last == first else first, ticks[-1] if last == first else last)
        self.plt.xticks(ticks, [str(int(t)) for t in ticks])
