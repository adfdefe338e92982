"""One measurement of Textual's event-loop lag, in a terminal: rft's dashboard or a bare Textual app.

    python -m bench.ui_lag rft|bare RUN_DIR SECONDS OUT.json

Started by ``bench.ui_load`` on a pseudo-terminal, so the app runs as it
does for a person (Textual's own terminal driver, its output really written),
not headless. Once the app is ready, a probe task in its event loop asks to
sleep ``INTERVAL`` again and again and records how much later than asked it
woke: the time anything else (reading events, redrawing charts, writing the
screen) held the loop. Half a second later rft's app opens RUN_DIR on its
dashboard (a live run or a replay); the bare app, the peer, has a static
text and a footer and opens nothing.

Keys: ``KEY`` typed on the terminal (by ``bench.ui_load``, from ``KEYS_AFTER``
on) toggles the
dashboard's samples full screen (the bare app: its text); the app records when
the screen that shows the change has been composed and handed to the
terminal, so the latency of a key is that time less the time it was typed
(both ``time.perf_counter``, the system's monotonic clock, in two processes).

rft's app also records when the opened run is all on screen: every event
folded in, every chart's figure built and the samples table filled. After
SECONDS the figures go to OUT.json (with the process's peak resident memory)
and the app exits.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Static

INTERVAL = 0.010
OPEN_AFTER = 0.5
KEY = "m"
KEYS_AFTER = 2.0  # keys are typed from this long after the app is ready (the run open a second and a half)


def keys_marker(out: Path) -> Path:
    """The file whose appearance tells the typist that the app takes keys now."""
    return out.with_suffix(".keys")


def peak_rss_mb() -> float:
    """This process's peak resident memory (``VmHWM``: getrusage's would carry the parent's from before exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class LagProbe:
    """Measures how late the event loop wakes a task that sleeps ``INTERVAL`` at a time."""

    def __init__(self):
        self.lags: list[float] = []
        self.running = True

    async def run(self) -> None:
        while self.running:
            asked = time.perf_counter()
            await asyncio.sleep(INTERVAL)
            self.lags.append(time.perf_counter() - asked - INTERVAL)


class Measured:
    """Mixin: start the probe when the app is ready, then open the run, then stop, save and exit."""

    run_dir: Path
    seconds: float
    out: Path

    def on_ready(self) -> None:
        self.probe = LagProbe()
        self.keys_shown: list[float] = []  # when each key's change was on the screen
        self.opened_at: float | None = None
        self.on_screen_at: float | None = None  # when the opened run was all on screen
        self._probe_task = asyncio.get_running_loop().create_task(self.probe.run())
        self.set_timer(OPEN_AFTER, self.open_measured_run)
        self.set_timer(KEYS_AFTER, lambda: keys_marker(self.out).touch())
        self.set_timer(OPEN_AFTER + self.seconds, self.finish)

    def open_measured_run(self) -> None:
        self.opened_at = time.perf_counter()

    def key_handled(self) -> None:
        """Call from a key's action: the time is taken once the screen it changed has been composed."""
        self.call_after_refresh(lambda: self.keys_shown.append(time.perf_counter()))

    def finish(self) -> None:
        self.probe.running = False
        peak_mb = peak_rss_mb()
        open_s = self.on_screen_at - self.opened_at if self.on_screen_at and self.opened_at else None
        self.out.write_text(json.dumps({"lags": self.probe.lags, "interval": INTERVAL, "keys_shown": self.keys_shown,
                                        "open_s": open_s, "peak_rss_mb": peak_mb}), encoding="utf-8")
        self.exit()


class BareApp(Measured, App):
    """The peer: Textual with a static text and a footer; the key swaps the text."""

    BINDINGS = [Binding(KEY, "toggle", "toggle")]

    def compose(self) -> ComposeResult:
        yield Static("a bare Textual app", id="text")
        yield Footer()

    def action_toggle(self) -> None:
        text = self.query_one("#text", Static)
        text.update("toggled" if str(text.render()) != "toggled" else "a bare Textual app")
        self.key_handled()


def rft_app(run_dir: Path):
    import rft_tui.app
    from engine.contract.runs import RunDir
    from rft_tui.app import RftApp
    from rft_tui.screens.dashboard import DashboardScreen
    from rft_tui.widgets.metric_chart import MetricChart
    from rft_tui.widgets.samples_panel import SamplesPanel

    toggle = DashboardScreen.action_toggle_samples

    def timed_toggle(screen: DashboardScreen) -> None:
        toggle(screen)
        screen.app.key_handled()

    DashboardScreen.action_toggle_samples = timed_toggle  # the dashboard's own action, timed

    class MeasuredRftApp(Measured, RftApp):
        """rft's app, which opens the run on its dashboard once the probe runs."""

        # Textual finds a relative CSS path beside the module that defines the class: this one is in bench/.
        CSS_PATH = str(Path(rft_tui.app.__file__).with_name(RftApp.CSS_PATH))

        def open_measured_run(self) -> None:
            super().open_measured_run()
            self.open_run(RunDir(self.run_dir))
            self._on_screen_check = self.set_interval(0.01, self._check_on_screen)

        def _check_on_screen(self) -> None:
            """Whether the run is all on screen: folded in, every figure built, every kept sample a row."""
            screen = self.screen
            watch = getattr(screen, "watch", None)
            if watch is None or not watch.caught_up or getattr(screen, "_folding", False):
                return
            if any(chart.figure_pending or not chart.draws for chart in screen.query(MetricChart)):
                return
            table = screen.query_one(SamplesPanel)
            if watch.samples and table.row_count < min(len(watch.samples), watch.samples_seen):
                return
            self.on_screen_at = time.perf_counter()
            self._on_screen_check.stop()

    return MeasuredRftApp(runs_dir=run_dir.parent)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    kind, run_dir, seconds, out = argv[0], Path(argv[1]), float(argv[2]), Path(argv[3])
    app = rft_app(run_dir) if kind == "rft" else BareApp()
    app.run_dir, app.seconds, app.out = run_dir, seconds, out
    app.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
