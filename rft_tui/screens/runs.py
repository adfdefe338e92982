"""Every run in the runs folder: state, method, model, progress, last numbers."""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from engine.run_summary import summarize
from engine.runs import list_runs

REFRESH_S = 2.0


class RunsScreen(Screen):
    """A table of runs; enter opens one on the dashboard (replayed, or live if it runs)."""

    BINDINGS = [
        Binding("enter", "open_run", "open", show=True),
        Binding("escape", "app.switch_mode('setup')", "setup"),
        Binding("d", "app.switch_mode('dashboard')", "dashboard"),
    ]

    def compose(self) -> ComposeResult:
        yield Static("", id="runs-title")
        yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("run", "state", "method", "model", "step", "loss", "reward", "started")
        self.refresh_runs()
        self.set_interval(REFRESH_S, self.refresh_runs)

    def refresh_runs(self) -> None:
        table = self.query_one(DataTable)
        runs_dir = self.app.runs_dir
        runs = list_runs(runs_dir)
        self.query_one("#runs-title", Static).update(f"Runs in {runs_dir}: {len(runs)}")
        keep = table.cursor_row
        table.clear()
        for run in runs:
            s = summarize(run)
            started = datetime.fromtimestamp(s.started_at).strftime("%m-%d %H:%M") if s.started_at else "-"
            loss, reward = s.metrics.get("loss"), s.metrics.get("reward")
            table.add_row(s.name, s.state, s.method, s.model, s.progress,
                          f"{loss:.4f}" if loss is not None else "-", f"{reward:.3f}" if reward is not None else "-",
                          started, key=str(run.path))
        if table.row_count:
            table.move_cursor(row=min(keep, table.row_count - 1))

    def action_open_run(self) -> None:
        table = self.query_one(DataTable)
        if not table.row_count:
            self.notify("no runs yet: start one from Setup", severity="warning")
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        from engine.runs import RunDir

        self.app.open_run(RunDir(key))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_run()
