"""A live line chart of one or more metrics, drawn with plotext.

The chart never redraws per event: the dashboard calls ``show`` on a timer
(at most four times a second) with the series it has buffered.
"""

from __future__ import annotations

from textual_plotext import PlotextPlot

from rft_tui.run_watch import Series


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
        self.points = 0  # how many points the last draw showed (tests read it)

    def on_mount(self) -> None:
        super().on_mount()
        self.border_title = self.title
        self._empty()

    def _empty(self) -> None:
        self.plt.clear_data()
        self.plt.clear_figure()
        self.plt.title("waiting for the first step…")

    def show(self, series: dict[str, Series], finished: bool = False) -> None:
        """Redraw from the buffered series (``finished``: the run will log nothing more)."""
        extra = sorted(n for n in series if self.prefix and n.startswith(self.prefix) and not n.endswith("_std"))
        names = self.names + extra + ([self.right] if self.right else [])
        present = [name for name in names if name in series and series[name].values]
        self.plt.clear_data()
        self.plt.clear_figure()
        self.points = sum(len(series[name].values) for name in present)
        if not present:
            if series:
                self.plt.title(f"{self.title}: not logged by this method")
            else:
                self.plt.title("no steps were logged" if finished else "waiting for the first step…")
            self.refresh()
            return
        main = series[present[0]]
        if self.band and present[0] != self.right and self.band in series and len(series[self.band].values) == len(main.values):
            spread = series[self.band].values
            self.plt.plot(main.steps, [v + s for v, s in zip(main.values, spread)], color="gray", marker="braille")
            self.plt.plot(main.steps, [v - s for v, s in zip(main.values, spread)], color="gray", marker="braille")
        for name in present:
            s = series[name]
            side = "right" if name == self.right else "left"
            self.plt.plot(s.steps, s.values, label=f"{name} {s.values[-1]:.4g}", marker="braille", yside=side)
        self.plt.title("")
        self.refresh()
