"""A live line chart of one or more metrics, drawn with plotext.

The chart never redraws per event: the dashboard hands it the buffered series
on a timer, and the chart rebuilds its figure only when what it shows has
changed. A long series is thinned to the chart's width first (the lowest and
the highest value in each braille column, so a spike stays in view): plotext's
cost grows with the points it is given, not with what a terminal can show.
"""

from __future__ import annotations

from textual_plotext import PlotextPlot

from rft_tui.run_watch import Series

# Columns assumed before the chart has been laid out (the first draw of a replay).
DEFAULT_COLUMNS = 200


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
        self._drawn: tuple | None = None  # what the last draw showed, to skip a redraw that changes nothing

    def on_mount(self) -> None:
        super().on_mount()
        self.border_title = self.title
        self._empty()

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
        present = self._names(series)
        columns = 2 * self.size.width or DEFAULT_COLUMNS  # braille: two dots across a cell
        drawn = (finished, bool(series), columns, tuple(
            (name, len(series[name].values), series[name].steps[-1], series[name].values[-1]) for name in
            present + ([self.band] if self.band in series and series[self.band].values else [])))
        if drawn == self._drawn:
            return False
        self._drawn = drawn
        self.draws += 1
        self.plt.clear_data()
        self.plt.clear_figure()
        self.points = sum(len(series[name].values) for name in present)
        self.plotted = 0
        if not present:
            if series:
                self.plt.title(f"{self.title}: not logged by this method")
            else:
                self.plt.title("no steps were logged" if finished else "waiting for the first step…")
            self.refresh()
            return True
        main = series[present[0]]
        if self.band and present[0] != self.right and self.band in series and \
                len(series[self.band].values) == len(main.values):
            spread = series[self.band].values
            for sign in (1, -1):
                steps, edge = thin(main.steps, [v + sign * s for v, s in zip(main.values, spread)], columns)
                self.plt.plot(steps, edge, color="gray", marker="braille")
                self.plotted += len(edge)
        for name in present:
            s = series[name]
            side = "right" if name == self.right else "left"
            steps, values = thin(s.steps, s.values, columns)
            self.plt.plot(steps, values, label=f"{name} {s.values[-1]:.4g}", marker="braille", yside=side)
            self.plotted += len(values)
        self.plt.title("")
        self.refresh()
        return True
