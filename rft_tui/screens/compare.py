"""Two or more runs' curves overlaid: loss, reward, KL, margin and the held-out eval curves, one line per run."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.screen import Screen
from textual.widgets import Static

from engine.contract.runs import RunDir
from rft_tui.run_watch import RunWatch, Series
from rft_tui.widgets.key_footer import KeyFooter
from rft_tui.widgets.metric_chart import MetricChart

# The held-out curves too: which run generalised better, not only which fit its training data.
METRICS = (("loss", "loss"), ("eval_loss", "eval loss (held out)"), ("reward", "reward"),
           ("eval_reward", "eval reward (held out)"), ("kl", "KL"), ("margin", "margin"))
REFRESH_S = 1.0


class CompareScreen(Screen):
    """Overlay of the marked runs; live runs keep updating."""

    BINDINGS = [Binding("escape", "app.pop_screen", "back to runs")]

    def __init__(self, runs: list[RunDir]):
        super().__init__()
        self.watches = [RunWatch(run) for run in runs]

    def compose(self) -> ComposeResult:
        names = " vs ".join(w.run.name for w in self.watches)
        yield Static(f"Comparing {names}", id="compare-title")
        with Grid(id="compare-charts"):
            for metric, title in METRICS:
                yield MetricChart(title, [f"{w.run.name}" for w in self.watches], id=f"compare-{metric}")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.refresh_curves()
        self.set_interval(REFRESH_S, self.refresh_curves)

    def refresh_curves(self) -> None:
        for watch in self.watches:
            watch.poll()
        for metric, _ in METRICS:
            series: dict[str, Series] = {w.run.name: w.series[metric] for w in self.watches if metric in w.series}
            self.query_one(f"#compare-{metric}", MetricChart).show(series, finished=True)
