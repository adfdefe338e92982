"""The train dashboard: one run, live or replayed, charts and samples.

It reads the run directory only (events, status), so it shows a run started
by ``rft train`` as well as one started here, and re-attaches after the app was
closed. Events are buffered by ``RunWatch`` and the screen redraws on a timer
at most four times a second. While a run streams, each tick redraws at most one
chart, in turn, so each chart at most once a second (a figure takes 30–50 ms of
a small CPU; it is built beside the event loop, but the loop then shares the
CPU with it). The samples table, likewise, takes the new samples at most once a
second (``SAMPLES_EVERY_S``).

Opening a long run, its events are folded in slices of ``FOLD_SLICE_S`` a
few milliseconds apart, and the screen is drawn once they are all in: a run of
100,000 events is on screen in under a second without a stall a person would
feel. The charts are mounted a frame after the rest of the screen, so neither
frame holds the event loop for long.

The keys follow the run: stop and checkpoint are offered only while its worker
can still act on them. Enter on a sample opens it whole (``SampleScreen``).
"""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.screen import Screen
from textual.widgets import Static

from engine.contract.runs import RunDir
from rft_tui.gc_pauses import settle
from rft_tui.run_watch import RunWatch
from rft_tui.screens.sample import SampleScreen
from rft_tui.widgets.error_panel import ErrorPanel
from rft_tui.widgets.key_footer import KeyFooter
from rft_tui.widgets.metric_chart import MetricChart
from rft_tui.widgets.run_header import RunHeader
from rft_tui.widgets.run_notices import RunNotices, adjusted_text
from rft_tui.widgets.samples_panel import SamplesPanel

REDRAW_S = 0.25
# While a run streams the samples table takes its new rows at most this often: each time, every row in view
# is drawn again and the screen composed (~5 ms; at 200 events/s, four times a second doubled the p95 lag).
SAMPLES_EVERY_S = 1.0
# A long run's events are folded in slices this long, the loop free for keys and redraws between them.
FOLD_SLICE_S = 0.012


class DashboardScreen(Screen):
    """Progress, four charts, the samples, and the keys to stop or checkpoint."""

    LIVE_ONLY = {"stop", "checkpoint"}  # actions a finished run (or none) has no use for
    AUTO_FOCUS = ""  # the samples table takes the focus once it has rows (``_show_samples``)

    BINDINGS = [
        Binding("s", "stop", "stop & save"),
        Binding("c", "checkpoint", "checkpoint now"),
        Binding("m", "toggle_samples", "samples full screen"),
        Binding("enter", "open_sample", "read sample"),
        Binding("r", "app.switch_mode('runs')", "runs"),
        Binding("escape", "app.switch_mode('setup')", "setup"),
    ]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.watch: RunWatch | None = None
        self._adjustments_told = 0  # adjusted events already announced with a notification
        self._chart_turn = 0  # the chart the next streaming tick may redraw
        self._charts: list[MetricChart] = []
        self._keys_for: tuple | None = None  # (live, has samples): what the keys on show were chosen for
        self._folding = False  # a long run's events are still being folded in, slice by slice
        self._fold_timer = None  # the timer of the next slice
        self.samples_full = False  # whether the samples fill the screen (m), the charts hidden
        self._samples_due = False  # samples arrived that the table does not show yet
        self._samples_at = 0.0  # when the table was last given the samples (time.monotonic)

    def compose(self) -> ComposeResult:
        yield RunHeader("no run open: start one from Setup (esc) or open one from Runs (r)", id="run-header")
        yield Grid(id="charts")  # the charts come a frame later (``_mount_charts``)
        yield ErrorPanel(id="error-panel")
        with Vertical(id="samples-box"):
            yield SamplesPanel(id="samples")
            yield Static("", id="samples-absent")
        yield RunNotices(id="notice")
        yield KeyFooter()

    def on_mount(self) -> None:
        # Styling and drawing the whole screen at once held the event loop ~120 ms on a small CPU: the
        # charts are mounted once the rest is on the screen, each frame then well under 50 ms.
        self.call_after_refresh(self._mount_charts)
        self.query_one("#samples-absent", Static).border_title = "Samples"
        self.set_interval(REDRAW_S, self.refresh_from_run)
        run = getattr(self.app, "current_run", None)
        if run is not None and self.watch is None:
            self.watch = RunWatch(run)
        self.refresh_from_run(force=True)
        self.call_after_refresh(settle)  # the dashboard's widgets and the chart library live as long as the app

    async def _mount_charts(self) -> None:
        await self.query_one("#charts", Grid).mount_all([
            # Held-out curves beside the training ones: a gap that opens between them is over-fitting.
            MetricChart("loss · eval loss (held out)", ["loss", "eval_loss"], id="chart-loss"),
            MetricChart("reward ± std, each function · eval reward (held out)", ["reward", "eval_reward"],
                        band="reward_std", prefix="rewards/", id="chart-reward"),
            MetricChart("KL / margin", ["kl", "margin"], id="chart-kl"),
            MetricChart("grad norm · lr (right axis)", ["grad_norm"], right="lr", id="chart-lr"),
        ])
        self._charts = list(self.query(MetricChart))  # looked up once, not on every tick
        if self.watch is not None and not self._folding:
            self._draw_charts(every=True)

    def attach(self, run: RunDir) -> None:
        """Show ``run`` from its first event on (replay), then follow it live."""
        if self.watch is not None and self.watch.run.path == run.path:
            return
        self.watch = RunWatch(run)
        self._adjustments_told = 0
        if not self.is_mounted:
            return  # on_mount draws it
        self.query_one(SamplesPanel).forget()
        self.refresh_from_run(force=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Stop and checkpoint only for a live run: hidden from the footer, and their keys idle, otherwise."""
        if action in self.LIVE_ONLY:
            return self._run_is_live()
        if action == "open_sample":
            return self.watch is not None and bool(self.watch.samples)
        return True

    def _run_is_live(self) -> bool:
        return self.watch is not None and not self.watch.status.is_final

    def refresh_from_run(self, force: bool = False) -> None:
        if self.watch is None or (self._folding and not force):
            return  # while a long run is folded in, its slices come from ``_fold_on``, not the timer
        arrived = self.watch.poll(budget_s=FOLD_SLICE_S)
        if not self.watch.caught_up:
            self._folding = True
            if self._fold_timer is None:
                self._fold_timer = self.set_timer(0.002, self._fold_on)
            # Nothing is drawn until the fold is done: the header's progress is never ahead of the charts.
            return
        self._folding = False
        keys = (self._run_is_live(), bool(self.watch.samples))
        if keys != self._keys_for:
            self._keys_for = keys
            self.refresh_bindings()  # the footer drops stop and checkpoint once the run is over
        self.query_one(RunHeader).show(self.watch, width=max(10, self.size.width // 4))
        self._draw_charts(every=force or self.watch.status.is_final)
        self._samples_due = self._samples_due or bool(arrived) or force
        if self._samples_due and (force or self.watch.status.is_final or not self.query_one(SamplesPanel).row_count
                                  or time.monotonic() - self._samples_at >= SAMPLES_EVERY_S):  # first ones at once
            self._samples_due, self._samples_at = False, time.monotonic()
            self._show_samples()
        if not arrived and not force:
            return
        self.query_one(RunNotices).show(self.watch)
        for event in self.watch.adjustments[self._adjustments_told:]:
            # A change the worker made on its own deserves a word while the run is live, not only a line.
            if not self.watch.status.is_final:
                self.notify(adjusted_text(event), title="run adjusted", severity="warning", timeout=10)
        self._adjustments_told = len(self.watch.adjustments)
        error = self.watch.error
        if error:
            self.query_one(ErrorPanel).show(error.get("message"), error.get("traceback"))
        elif self.watch.status.state == "crashed":
            self.query_one(ErrorPanel).show(self.watch.status.message, None)
        else:
            self.query_one(ErrorPanel).show(None)

    def _fold_on(self) -> None:
        """The next slice of a long run; the last one draws everything (``force``: what arrived in the
        earlier slices has not been drawn)."""
        self._fold_timer = None
        if self._folding:
            self.refresh_from_run(force=True)

    def _show_samples(self) -> None:
        """The samples table, or while it has none a line that says why."""
        table, absent = self.query_one(SamplesPanel), self.query_one("#samples-absent", Static)
        table.show(self.watch.samples, self.watch.samples_seen, self.watch.samples_reset)
        line = self.watch.eval_line()
        table.border_title = f"Samples · {line}" if line else "Samples"
        empty = not self.watch.samples
        if empty:
            absent.update(self.watch.samples_absent())
        table.display, absent.display = not empty, empty
        if empty and self.focused is table:
            self.set_focus(None)  # a hidden table would keep Enter and its footer hint
        elif not empty and self.focused is None:
            table.focus()  # arrows move through the samples, Enter opens one

    def on_samples_panel_chosen(self, event: SamplesPanel.Chosen) -> None:
        """A click on the highlighted sample: the whole of it, on a screen of its own."""
        self._open(event.sample)

    def action_open_sample(self) -> None:
        """Enter: the sample under the table's cursor, whole."""
        self._open(self.query_one(SamplesPanel).cursor_sample)

    def _open(self, sample: dict | None) -> None:
        if sample is not None and self.watch is not None:
            self.app.push_screen(SampleScreen(sample, self.watch.run.name, self.watch.method_title))

    def _draw_charts(self, every: bool) -> None:
        """Hand the charts their series: all of them (on open, at the end), or the next one in turn.

        A chart whose series did not change skips its redraw, so a tick without new points costs nothing.
        """
        charts = self._charts
        if not charts:
            return  # not mounted yet: ``_mount_charts`` draws them
        if not every:
            charts = [charts[self._chart_turn % len(charts)]]
            self._chart_turn += 1
        for chart in charts:
            chart.show(self.watch.series, finished=self.watch.status.is_final)

    def _command(self, command: str, done: str) -> None:
        if self.watch is None:
            self.notify("no run is open", severity="warning")
            return
        status = self.watch.run.status()
        if status.is_final:
            self.notify(f"{self.watch.run.name} is already {status.state}", severity="warning")
            return
        self.watch.run.send_command(command)
        self.notify(done)

    def action_toggle_samples(self) -> None:
        """The samples in the charts' room too, and back. Inline styles, not Textual's ``maximize``: that
        restyles every widget on the screen (~20 ms here) and has each draw itself anew."""
        charts, box = self.query_one("#charts"), self.query_one("#samples-box")
        if self.samples_full:
            charts.display, box.styles.height = True, None  # back to the stylesheet's height
        elif self.watch is None or not self.watch.samples:
            self.notify(self.watch.samples_absent() if self.watch else "no run is open", severity="information")
            return
        else:
            charts.display, box.styles.height = False, "1fr"
            self.query_one(SamplesPanel).focus()  # Enter then opens the highlighted sample
        self.samples_full = not self.samples_full

    def action_stop(self) -> None:
        self._command("stop", "stopping after this step; the adapter will be saved")

    def action_checkpoint(self) -> None:
        self._command("save-now", "a checkpoint will be saved after this step")
