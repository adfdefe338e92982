"""The rft app: Setup, Runs, Rewards and the train Dashboard as modes, so a
running dashboard survives navigating away and back.

The app never imports torch: it starts runs through ``engine.contract.launch`` (a
detached worker process) and watches them through their run directories.
"""

from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.binding import Binding

from engine.contract.config import RunConfig
from engine.contract.runs import RunDir, default_runs_dir
from rft_tui.gc_pauses import settle
from rft_tui.screen_open import styled_now, warm_imports
from rft_tui.screens.setup import SetupScreen


def _runs_screen():
    from rft_tui.screens.runs import RunsScreen

    return styled_now(RunsScreen())


def _rewards_screen():
    from rft_tui.screens.rewards import RewardsScreen

    return styled_now(RewardsScreen())


def _dashboard_screen():
    # Imported on first use (``warm_imports`` starts it early): plotting is not needed to show the first screen.
    from rft_tui.screens.dashboard import DashboardScreen

    return styled_now(DashboardScreen())


class RftApp(App):
    """Fine-tune a language model from the terminal."""

    TITLE = "rft"
    CSS_PATH = "app.tcss"
    MODES = {"setup": SetupScreen, "runs": _runs_screen, "rewards": _rewards_screen, "dashboard": _dashboard_screen}
    DEFAULT_MODE = "setup"
    BINDINGS = [Binding("ctrl+q", "quit", "quit", show=False)]

    def __init__(self, runs_dir: str | Path | None = None, open_run: RunDir | None = None):
        super().__init__()
        self.runs_dir = Path(runs_dir) if runs_dir is not None else default_runs_dir()
        self.current_run: RunDir | None = open_run
        self.setup_config: RunConfig | None = None  # the last valid config on Setup (the reward dry run uses it)
        self.started: list = []  # worker processes started by this app (for tests; they outlive the app)
        self._crash_log: Path | None = None  # where the first unhandled error's traceback went (_fatal_error)
        settle()  # the modules imported so far live as long as the app

    def on_mount(self) -> None:
        if self.current_run is not None:
            self.switch_mode("dashboard")
        self.call_after_refresh(settle)  # what the first screen made lives as long as the app
        self.call_after_refresh(warm_imports)

    def open_run(self, run: RunDir) -> None:
        """Show ``run`` on the dashboard (live if it is running, else replayed)."""
        self.current_run = run
        self.switch_mode("dashboard")
        if hasattr(self.screen, "attach"):
            self.screen.attach(run)

    def start_training(self, config: RunConfig) -> RunDir:
        """Create a run directory, launch its worker, and open the dashboard on it."""
        from engine.contract.launch import start_run

        run, process = start_run(config, str(self.runs_dir))
        self.started.append(process)
        self.notify(f"started {run.name}")
        self.open_run(run)
        return run

    def _fatal_error(self) -> None:
        """An exception nothing handled (a bug of rft's) ends the app: Textual would print its traceback with
        the locals of rft's frames; the terminal gets the message instead, and a log the whole traceback."""
        import sys
        import traceback

        from rich.text import Text

        from engine.contract.user_traceback import keep_full, user_report

        error = sys.exc_info()[1]
        if error is None:
            return super()._fatal_error()
        full = "".join(traceback.format_exception(error))
        if self._crash_log is not None:
            # Errors while the app closes follow from the first one, which is the one to read: they are
            # added to its log, not written over it, and the terminal keeps the first message.
            with open(self._crash_log, "a", encoding="utf-8") as log:
                log.write("\nWhile closing after that:\n" + full)
            return
        self._crash_log = keep_full("app", full)
        report = user_report(f"rft app failed: {type(error).__name__}: {error}", full, str(self._crash_log))
        self.bell()
        self._exit_renderables.append(Text(report, style="red"))
        self._close_messages_no_wait()
