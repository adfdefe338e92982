"""One measurement of Textual's event-loop lag, in a terminal: rft's dashboard or a bare Textual app.

    python -m bench.ui_lag rft|bare RUN_DIR SECONDS OUT.json

Started by ``bench.ui_load`` on a pseudo-terminal, so the app runs as it
does for a person (Textual's own terminal driver, its output really written),
not headless. Once the app is ready, a probe task in its event loop asks to
sleep ``INTERVAL`` again and again and records how much later than asked it
woke: the time anything else (reading events, redrawing charts, writing the
screen) held the loop. Half a second later rft's app opens RUN_DIR on its
dashboard (a live run or a replay); the bare app, the peer, has a static
text and a footer and opens nothing. After SECONDS the lags go to OUT.json
and the app exits.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Footer, Static

INTERVAL = 0.010
OPEN_AFTER = 0.5


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
        self._probe_task = asyncio.get_running_loop().create_task(self.probe.run())
        self.set_timer(OPEN_AFTER, self.open_measured_run)
        self.set_timer(OPEN_AFTER + self.seconds, self.finish)

    def open_measured_run(self) -> None:
        self.opened_at = time.perf_counter()

    def finish(self) -> None:
        self.probe.running = False
        self.out.write_text(json.dumps({"lags": self.probe.lags, "interval": INTERVAL}), encoding="utf-8")
        self.exit()


class BareApp(Measured, App):
    """The peer: Textual with a static text and a footer."""

    def compose(self) -> ComposeResult:
        yield Static("a bare Textual app")
        yield Footer()


def rft_app(run_dir: Path):
    import rft_tui.app
    from engine.contract.runs import RunDir
    from rft_tui.app import RftApp

    class MeasuredRftApp(Measured, RftApp):
        """rft's app, which opens the run on its dashboard once the probe runs."""

        # Textual finds a relative CSS path beside the module that defines the class: this one is in bench/.
        CSS_PATH = str(Path(rft_tui.app.__file__).with_name(RftApp.CSS_PATH))

        def open_measured_run(self) -> None:
            super().open_measured_run()
            self.open_run(RunDir(self.run_dir))

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
