"""Every run in the runs folder: state, method, model, progress, last numbers."""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Static

from engine.contract.run_summary import RunSummarizer
from engine.contract.runs import RunDir, list_runs
from engine.tracking import open_hints
from rft_tui.screens.compare import CompareScreen
from rft_tui.widgets.key_footer import KeyFooter

REFRESH_S = 2.0
MARK = "✓"
MARK_LEGEND = f"{MARK} = marked with space; o overlays the marked runs' charts"


class RunsScreen(Screen):
    """A table of runs; enter opens one on the dashboard (replayed, or live if it runs)."""

    BINDINGS = [
        Binding("enter", "open_run", "open", show=True),
        Binding("space", "mark", "mark"),
        Binding("o", "compare", "overlay marked"),
        Binding("p", "playground", "playground"),
        Binding("x", "export", "export"),
        Binding("R", "resume", "resume"),
        Binding("escape", "app.switch_mode('setup')", "setup"),
        Binding("d", "app.switch_mode('dashboard')", "dashboard"),
    ]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.marked: list[str] = []  # run paths, in the order they were marked
        self.summarizer = RunSummarizer()  # reads only new events on each refresh

    def compose(self) -> ComposeResult:
        yield Static("", id="runs-title")
        yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="runs-trackers")  # how to open what output.report_to's trackers wrote
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        # The first column is the mark that space sets (its header says so; the title line says what for).
        table.add_columns("marked", "run", "state", "method", "model", "step", "loss", "reward", "best eval",
                          "started")
        self.refresh_runs()
        self.set_interval(REFRESH_S, self.refresh_runs)

    def refresh_runs(self) -> None:
        table = self.query_one(DataTable)
        runs_dir = self.app.runs_dir
        runs = list_runs(runs_dir)
        marked = f" ({len(self.marked)} marked)" if self.marked else ""
        self.query_one("#runs-title", Static).update(f"Runs in {runs_dir}: {len(runs)}   ·   {MARK_LEGEND}{marked}")
        keep = table.cursor_row
        table.clear()
        for run in runs:
            s = self.summarizer.summarize(run)
            started = datetime.fromtimestamp(s.started_at).strftime("%m-%d %H:%M") if s.started_at else "-"
            loss, reward = s.metrics.get("loss"), s.metrics.get("reward")
            table.add_row(MARK if str(run.path) in self.marked else "", s.name, s.state, s.method, s.model, s.progress,
                          f"{loss:.4f}" if loss is not None else "-", f"{reward:.3f}" if reward is not None else "-",
                          s.best_text, started, key=str(run.path))
        if table.row_count:
            table.move_cursor(row=min(keep, table.row_count - 1))
        hints = open_hints([run.path for run in runs], runs_dir)
        self.query_one("#runs-trackers", Static).update("\n".join(f"open in {hint}" for hint in hints))

    def _cursor_run(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            self.notify("no runs yet: start one from Setup", severity="warning")
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def action_open_run(self) -> None:
        key = self._cursor_run()
        if key is not None:
            self.app.open_run(RunDir(key))

    def action_mark(self) -> None:
        key = self._cursor_run()
        if key is None:
            return
        if key in self.marked:
            self.marked.remove(key)
        else:
            self.marked.append(key)
        self.refresh_runs()

    def action_compare(self) -> None:
        if len(self.marked) < 2:
            self.notify("mark two or more runs with space first", severity="warning")
            return
        self.app.push_screen(CompareScreen([RunDir(p) for p in self.marked]))

    def action_playground(self) -> None:
        from engine.export import sources
        from rft_tui.screens.playground import PlaygroundScreen

        key = self._cursor_run()
        if key is None:
            return
        run = RunDir(key)
        available = sources(run)
        if not available:
            self.notify(f"{run.name} has saved no adapter yet: nothing to talk to", severity="warning")
            return
        self.app.push_screen(PlaygroundScreen(run, available[0]))

    def action_resume(self) -> None:
        from engine.contract.launch import ResumeError, resume_run

        key = self._cursor_run()
        if key is None:
            return
        run = RunDir(key)
        try:
            # No waiting here for a worker that is still exiting: the screen must not freeze.
            self.app.started.append(resume_run(run, exit_grace_s=0))
        except ResumeError as error:
            self.notify(str(error), severity="warning")
            return
        self.notify(f"resuming {run.name} from its last checkpoint")
        self.app.open_run(run)

    def action_export(self) -> None:
        from rft_tui.screens.export import ExportScreen

        key = self._cursor_run()
        if key is not None:
            self.app.push_screen(ExportScreen(RunDir(key)))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_run()
