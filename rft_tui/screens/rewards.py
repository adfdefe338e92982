"""The reward workbench: write a reward function, check it on save, dry-run it on real answers.

Reward code never runs in this process: checking and dry runs start engine
processes (``engine.rewards.check``, ``engine.generation.dry_run``) from worker threads,
so a broken or hanging function cannot freeze or crash the app.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Input, OptionList, Select, Static, TextArea

from engine.contract.atomic_files import atomic_write_text
from engine.contract.config import RunConfig
from engine.contract.presets import load_config
from engine.contract.user_traceback import keep_full, user_report
from engine.rewards.user_files import rewards_dir
from rft_tui.dry_run_client import run_dry_run
from rft_tui.dry_run_report import sparkline
from rft_tui.screens.ask_name import AskName
from rft_tui.widgets.key_footer import KeyFooter

TEMPLATE = Path(__file__).resolve().parents[2] / "assets" / "rewards" / "template.py"
PROMPT_CHARS = 28  # of each prompt in the dry run's table
DRY_RUN_HINT = "ctrl+r: dry run, score answers with this file's functions"


def _file_name(name: str) -> str:
    name = name if name.endswith(".py") else f"{name}.py"
    if not name[:-3].isidentifier():
        raise ValueError("a reward file name is a Python module name: letters, digits and '_'")
    return name


class RewardsScreen(Screen):
    """Files, editor, check result, and the dry run's table and summary."""

    BINDINGS = [
        Binding("ctrl+s", "save", "save & check", priority=True),
        Binding("ctrl+n", "new", "new from template", priority=True),
        Binding("ctrl+r", "dry_run", "dry run", priority=True),
        # esc first leaves the editor or the answer field (the editor would take it, and go to the next
        # widget), then goes back to Setup: the footer shows the one that applies where the focus is.
        Binding("escape", "leave_field('editor')", "leave editor", priority=True),
        Binding("escape", "leave_field('answer')", "leave field", priority=True),
        Binding("escape", "setup", "setup"),
    ]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.path: Path | None = None
        self.working: list[str] = []  # functions of the open file that passed the check

    def compose(self) -> ComposeResult:
        with Horizontal(id="rewards-body"):
            with Vertical(id="rewards-left"):
                yield Static("Your reward files", classes="pane-title")
                yield OptionList(id="reward-files")
                yield Static("", id="rewards-folder")
            with Vertical(id="rewards-right"):
                yield Static("open a file, or ctrl+n for a new one", id="editor-title")
                yield TextArea.code_editor("", language="python", id="editor")
                yield Static("", id="check-result")
        with Vertical(id="dry-run-box"):
            with Horizontal(id="dry-run-controls"):
                yield Select([("answers the model writes", "model"), ("the dataset's reference answers", "reference"),
                              ("the text typed here", "text")], value="model", allow_blank=False, id="dry-run-source")
                yield Input(placeholder="an answer to score (source: text)", id="dry-run-text")
            yield Static(DRY_RUN_HINT, id="dry-run-summary")
            yield DataTable(id="dry-run-table", zebra_stripes=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.refresh_files()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "leave_field":
            kind = TextArea if parameters == ("editor",) else Input
            return isinstance(self.focused, kind)
        if action == "setup":
            return not isinstance(self.focused, (TextArea, Input))
        return True

    def action_leave_field(self, _field: str) -> None:
        """From the editor or the answer field to the file list, where esc goes back to Setup."""
        self.query_one("#reward-files", OptionList).focus()

    def action_setup(self) -> None:
        self.app.switch_mode("setup")

    def refresh_files(self, select: str | None = None) -> None:
        folder = rewards_dir()
        files = sorted(p.name for p in folder.glob("*.py")) if folder.is_dir() else []
        options = self.query_one("#reward-files", OptionList)
        options.clear_options()
        options.add_options(files)
        self.query_one("#rewards-folder", Static).update(Text(f"in {folder.resolve()}", style="dim"))
        if select in files:
            options.highlighted = files.index(select)
            self.open_file(folder / select)
        elif files:
            options.highlighted = 0  # enter opens a file at once, without an arrow key first

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.open_file(rewards_dir() / str(event.option.prompt))
        self.query_one("#editor", TextArea).focus()  # a file is opened to be edited

    def open_file(self, path: Path) -> None:
        self.path = path
        self.working = []
        self.query_one("#editor-title", Static).update(Text(str(path), style="bold"))
        self.query_one("#editor", TextArea).load_text(path.read_text(encoding="utf-8"))
        self.query_one("#check-result", Static).update("ctrl+s saves and checks it")
        self.clear_dry_run(DRY_RUN_HINT)  # results of another file's functions

    def action_new(self) -> None:
        def create(name: str | None) -> None:
            if not name:
                return
            path = rewards_dir() / _file_name(name)
            if path.exists():
                self.notify(f"{path.name} exists already; open it from the list", severity="warning")
                return
            atomic_write_text(path, TEMPLATE.read_text(encoding="utf-8"))
            self.refresh_files(select=path.name)
            self.query_one("#editor", TextArea).focus()  # the new file's template is there to be edited

        self.app.push_screen(AskName("New reward file (a Python module name):", check=_file_name), create)

    def action_save(self) -> None:
        if self.path is None:
            self.notify("open a reward file first (or ctrl+n)", severity="warning")
            return
        atomic_write_text(self.path, self.query_one("#editor", TextArea).text)
        self.query_one("#check-result", Static).update("checking…")
        self._check(self.path)

    @work(thread=True, exclusive=True, group="check", exit_on_error=False)
    def _check(self, path: Path) -> None:
        done = subprocess.run([sys.executable, "-m", "engine.rewards.check", str(path)], capture_output=True,
                              text=True, timeout=120)
        try:
            result = json.loads(done.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):  # the check process itself failed: keep its story in a log
            last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
            result = {"syntax_error": None, "functions": [],
                      "crash": user_report(last, done.stderr, str(keep_full("reward-check", done.stderr)))}
        self.app.call_from_thread(self.show_check, result)

    def show_check(self, result: dict[str, Any]) -> None:
        text = Text()
        if result.get("syntax_error"):
            error = result["syntax_error"]
            text.append(f"✗ syntax error at line {error['line']}: {error['message']}", style="bold red")
        elif result.get("crash"):
            text.append(f"✗ the check crashed: {result['crash']}", style="bold red")
        for fn in result.get("functions", []):
            if fn["ok"]:
                text.append(f"✓ {fn['name']}: scores {fn['scores']} on the two examples\n", style="green")
            else:
                where = f" (line {fn['line']})" if fn.get("line") else ""
                text.append(f"✗ {fn['name']}{where}: {fn['error']}\n", style="red")
        if not text:
            text.append("no functions found: define def f(prompts, completions, **kwargs)", style="yellow")
        self.working = [fn["name"] for fn in result.get("functions", []) if fn["ok"]]
        self.query_one("#check-result", Static).update(text)
        # The last dry run scored the code as it was before this save: its results are gone either way.
        self.clear_dry_run(DRY_RUN_HINT if self.working else
                           Text("✗ the check failed (see above): fix the file and save it (ctrl+s) to dry-run again",
                                style="bold red"))

    def clear_dry_run(self, message: str | Text) -> None:
        """Empty the dry run's table and put ``message`` where its summary was."""
        self.query_one("#dry-run-table", DataTable).clear(columns=True)
        self.query_one("#dry-run-summary", Static).update(message)
        self.set_class(False, "-dry-run-shown")

    def _dry_run_config(self) -> RunConfig:
        base = getattr(self.app, "setup_config", None) or load_config("grpo")
        rewards = [{"name": f"{self.path.name}:{name}"} for name in self.working]
        return RunConfig.model_validate({**base.model_dump(), "rewards": rewards})

    def action_dry_run(self) -> None:
        if self.path is None or not self.working:
            self.notify("save a file whose check passes first (ctrl+s)", severity="warning")
            return
        source = str(self.query_one("#dry-run-source", Select).value)
        text = self.query_one("#dry-run-text", Input).value.strip()
        if source == "text" and not text:
            self.notify("type an answer to score first", severity="warning")
            return
        self.clear_dry_run("starting the dry run…")
        self._dry_run(self._dry_run_config(), source, [text] if text else [])

    @work(thread=True, exclusive=True, group="dry-run", exit_on_error=False)
    def _dry_run(self, config: RunConfig, source: str, texts: list[str]) -> None:
        def progress(done: int, total: int) -> None:
            self.app.call_from_thread(self.query_one("#dry-run-summary", Static).update,
                                      f"generating answers: prompt {done}/{total}…")

        try:
            result = run_dry_run(config, n=4, source=source, per_prompt=4, texts=texts, on_progress=progress)
        except (OSError, ValueError) as error:  # the process could not start, or its result was unreadable
            result = {"error": f"the dry run could not run: {error}"}
        self.app.call_from_thread(self.show_dry_run, result)

    def show_dry_run(self, result: dict[str, Any]) -> None:
        summary = self.query_one("#dry-run-summary", Static)
        table = self.query_one("#dry-run-table", DataTable)
        if "error" in result:
            report = user_report(result["error"], result.get("traceback"), result.get("log"))
            self.clear_dry_run(Text(f"✗ dry run failed: {report}", style="bold red"))
            return
        table.clear(columns=True)
        self.set_class(True, "-dry-run-shown")  # the results take the room they need
        names = list(result["summary"])
        text = Text()
        for name, s in result["summary"].items():
            if s["mean"] is None:
                text.append(f"{name}: no scores   ")
            else:
                text.append(f"{name}: mean {s['mean']:.3f} ± {s['std']:.3f} · {s['min']:.2f}…{s['max']:.2f} "
                            f"{sparkline(s['histogram'])} · {s['ms_per_call']:.1f} ms/call   ")
            if s["constant"]:
                text.append(f"{name} gives every answer the same score   ", style="bold yellow")
            text.append("\n")
        share = result.get("zero_spread_share")
        if share is not None:
            text.append(f"zero-spread groups: {share:.0%}", style="bold red" if share > 0.5 else "bold")
        summary.update(text)
        table.add_columns("prompt", "answer", *names)
        # The answer gets the width the prompt and the score columns leave (each column pads by 2).
        answer_chars = max(40, self.size.width - (PROMPT_CHARS + 2) - sum(max(len(n), 4) + 2 for n in names) - 4)
        for row in result["rows"]:
            table.add_row(row["prompt"][:PROMPT_CHARS], " ".join(row["completion"].split())[:answer_chars],
                          *[f"{row['scores'][n]:.2f}" if row["scores"][n] is not None else "-" for n in names])
