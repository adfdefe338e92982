"""The app driven by Textual's Pilot against real workers on the tiny model."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

from engine.contract.launch import start_run
from engine.contract.protocol import read_events
from engine.contract.runs import FINAL_STATES, RunDir, find_run
from rft_tui.app import RftApp
from rft_tui.screens.dashboard import DashboardScreen
from rft_tui.widgets.config_form import ConfigForm, _dom_id
from rft_tui.widgets.error_panel import ErrorPanel
from rft_tui.widgets.metric_chart import MetricChart
from rft_tui.widgets.section_bar import SectionBar
from rft_tui.widgets.samples_panel import SamplesPanel
from tests.conftest import tiny_config, wait_final

SIZE = (120, 36)


async def _set(app: RftApp, path: str, value: str) -> None:
    """Type ``value`` into a form field, showing its section first as a person would."""
    field = await app.screen.query_one(ConfigForm).reveal(path)
    field.value = value


async def _until(pilot, predicate, timeout: float = 120.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await pilot.pause(0.25)
    raise AssertionError(f"timed out waiting for {what}")


async def charts_drawn(pilot) -> None:
    """Wait until every chart on the screen shows the figure of its last ``show`` (they are built in a
    thread beside the event loop)."""
    await _until(pilot, lambda: not any(c.figure_pending for c in pilot.app.screen.query(MetricChart)),
                 timeout=30, what="the charts' figures")


async def open_rewards(app: RftApp, pilot) -> None:
    """From Setup to the reward workbench as a person would: off the fields (where w is a letter), then w."""
    from rft_tui.screens.rewards import RewardsScreen

    app.screen.query_one("#preset-list").focus()
    await pilot.press("w")
    await _until(pilot, lambda: isinstance(app.screen, RewardsScreen), what="the rewards screen")


def highlight(options, option_id: str) -> None:
    """Focus an OptionList and move its highlight to the option with ``option_id``, as arrow keys would."""
    options.focus()
    options.highlighted = [options.get_option_at_index(i).id for i in range(options.option_count)].index(option_id)


def _chart_points(app: RftApp, chart_id: str) -> int:
    return app.screen.query_one(f"#{chart_id}", MetricChart).points


def test_setup_then_train_then_stop_from_the_keyboard(tiny_model_dir, tmp_path):
    async def scenario() -> RunDir:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await _set(app, "model.name", str(tiny_model_dir))
            await _set(app, "training.max_steps", "100000")
            await _set(app, "training.sample_every", "2")
            await pilot.pause()
            verdict = lambda: " ".join(str(app.screen.query_one("#verdict").render()).split())
            # Ready once the dataset check has read the data, for the setup as typed.
            await _until(pilot, lambda: "ready" in verdict() and "100000 steps" in verdict(), timeout=30,
                         what="the verdict")
            await pilot.press("ctrl+t")
            await _until(pilot, lambda: isinstance(app.screen, DashboardScreen), what="the dashboard")
            await _until(pilot, lambda: _chart_points(app, "chart-loss") >= 3, what="loss points")
            await _until(pilot, lambda: app.screen.query_one(SamplesPanel).row_count > 0, what="samples")
            # The charts take turns to redraw while a run streams, each at most once a second.
            await _until(pilot, lambda: _chart_points(app, "chart-lr") >= 3, timeout=10, what="grad norm and lr points")
            await pilot.press("s")
            run = app.current_run
            await _until(pilot, lambda: run.status().state in FINAL_STATES, what="the stop")
            await pilot.pause(0.5)
            assert "stopped" in str(app.screen.query_one("#run-header").render())
            return run

    run = asyncio.run(scenario())
    assert run.status().state == "stopped"
    assert (run.adapter_dir / "adapter_model.safetensors").is_file()
    assert run.latest_checkpoint() is not None


def test_a_bad_value_is_refused_as_you_type(tmp_path):
    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await _set(app, "training.learning_rate", "-1")
            await pilot.pause()
            assert "training.learning_rate" in str(app.screen.query_one("#verdict").render())
            field = app.screen.query_one(f"#{_dom_id('training.learning_rate')}")
            assert field.has_class("-invalid") and "greater than 0" in str(field.tooltip)
            field.focus()
            await pilot.pause()
            assert "greater than 0" in str(app.screen.query_one("#field-help").render())
            # Another section in view: the bad value is kept, and its section's name counts the problem.
            form = app.screen.query_one(ConfigForm)
            await form.reveal("model.name")
            await pilot.pause()
            assert not app.screen.query(f"#{_dom_id('training.learning_rate')}")
            assert "training ✗1" in str(form.query_one(SectionBar).render())
            assert form.values()["training.learning_rate"] == -1
            assert "training.learning_rate" in str(app.screen.query_one("#verdict").render())
            field = await form.reveal("training.learning_rate")
            assert field.value == "-1" and field.has_class("-invalid")
            await pilot.press("ctrl+t")
            await pilot.pause()
            assert not isinstance(app.screen, DashboardScreen)
            assert not (tmp_path / "runs").exists()

    asyncio.run(scenario())


def test_reattaches_to_a_run_started_by_rft_train(tiny_model_dir, tmp_path):
    runs_dir = tmp_path / "runs"
    started = subprocess.run(
        [sys.executable, "-m", "rft_tui.cli", "train", "sft", "--detach", "--runs-dir", str(runs_dir),
         "--set", f"model.name={tiny_model_dir}", "--set", "training.sample_every=2", "--max-steps", "100000"],
        capture_output=True, text=True, timeout=60)
    assert started.returncode == 0, started.stdout + started.stderr
    run = find_run(started.stdout.split("run ")[1].split()[0], runs_dir)

    async def scenario() -> None:
        app = RftApp(runs_dir=runs_dir, open_run=run)
        async with app.run_test(size=SIZE) as pilot:
            await _until(pilot, lambda: isinstance(app.screen, DashboardScreen), what="the dashboard")
            await _until(pilot, lambda: _chart_points(app, "chart-loss") >= 3, what="live loss points")
            await _until(pilot, lambda: app.screen.query_one(SamplesPanel).row_count > 0, what="samples")
            await pilot.press("s")
            await _until(pilot, lambda: run.status().state in FINAL_STATES, what="the stop")

    asyncio.run(scenario())
    assert run.status().state == "stopped"


def test_runs_screen_lists_runs_and_opens_a_finished_one_as_a_replay(tiny_model_dir, tmp_path):
    run, _ = start_run(tiny_config(tiny_model_dir, tmp_path / "runs", training={"max_steps": 4}))
    assert wait_final(run).state == "done"

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("r")
            await pilot.pause(0.3)
            table = app.screen.query_one("#runs-table")
            assert table.row_count == 1
            assert "done" in [str(c) for c in table.get_row_at(0)]
            table.focus()
            await pilot.press("enter")
            await _until(pilot, lambda: isinstance(app.screen, DashboardScreen), what="the dashboard")
            # Four steps of training loss, and the held-out loss before the first step and after the last.
            await _until(pilot, lambda: _chart_points(app, "chart-loss") == 4 + 2, what="the replay")

    asyncio.run(scenario())


def test_a_failed_run_shows_its_error_in_a_panel(tmp_path):
    run, _ = start_run(tiny_config(tmp_path / "no-model", tmp_path / "runs", method={"name": "dpo"}))
    assert wait_final(run, timeout=90).state == "failed"

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs", open_run=run)
        async with app.run_test(size=SIZE) as pilot:
            await _until(pilot, lambda: app.screen.query_one(ErrorPanel).has_class("-visible"), what="the panel")
            message = str(app.screen.query_one("#error-message").render())
            assert "DPO" in message and "'chosen'" in message
            # The error came from rft's own checks: none of its frames show, the panel says where they are.
            assert not app.screen.query_one("#error-frames").display
            assert "worker.log" in str(app.screen.query_one("#error-details").render())

    asyncio.run(scenario())


def test_dataset_check_names_what_the_method_misses(tmp_path):
    from textual.widgets import OptionList

    from rft_tui.widgets.dataset_check import DatasetCheck

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            check = app.screen.query_one(DatasetCheck)
            await _until(pilot, lambda: "rows" in str(check.query_one("#check-summary").render()), what="check")
            assert "400 rows · format prompt_completion" in str(check.query_one("#check-summary").render())
            highlight(app.screen.query_one("#method-list", OptionList), "dpo")
            await pilot.press("enter")
            await _until(pilot, lambda: "✗" in str(app.screen.query_one(DatasetCheck).query_one("#check-summary")
                                                   .render()), what="the failed check")
            summary = str(app.screen.query_one(DatasetCheck).query_one("#check-summary").render())
            assert "DPO" in summary and "'chosen'" in summary and "'rejected'" in summary

    asyncio.run(scenario())


def test_rewards_are_picked_and_weighted_in_setup(tmp_path):
    from textual.widgets import Input, OptionList, Switch

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            highlight(app.screen.query_one("#preset-list", OptionList), "grpo")
            await pilot.press("enter")
            await pilot.pause()
            assert [r.name for r in app.screen.config.rewards] == ["format", "correctness"]
            await app.screen.show_pane("rewards")  # its rows are built when first shown
            await pilot.pause()
            assert app.screen.query_one("#reward-format-on", Switch).value
            app.screen.query_one("#reward-correctness-on", Switch).value = False
            app.screen.query_one("#reward-format-weight", Input).value = "0.5"
            app.screen.query_one("#reward-length-on", Switch).value = True
            await pilot.pause()
            rewards = [(r.name, r.weight) for r in app.screen.config.rewards]
            assert rewards == [("format", 0.5), ("length", 1.0)]
            app.screen.query_one("#reward-format-weight", Input).value = "heavy"
            await pilot.pause()
            assert app.screen.config is None
            assert "rewards.0.weight" in str(app.screen.query_one("#verdict").render())

    asyncio.run(scenario())


def test_browse_fills_the_focused_field_with_a_picked_file(tmp_path, monkeypatch):
    from textual.widgets import DirectoryTree

    from rft_tui.screens.pick_path import PickPath

    data = tmp_path / "mine.jsonl"
    data.write_text('{"prompt": "hi", "completion": "hello"}\n')
    monkeypatch.chdir(tmp_path)

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            field = await app.screen.query_one(ConfigForm).reveal("dataset.source")
            field.focus()
            await pilot.press("ctrl+b")
            await pilot.pause()
            assert isinstance(app.screen, PickPath)
            tree = app.screen.query_one(DirectoryTree)
            await _until(pilot, lambda: tree.root.children, what="the tree")
            node = next(n for n in tree.root.children if str(n.data.path).endswith("mine.jsonl"))
            tree.select_node(node)
            await pilot.pause()
            assert field.value == str(data)
            await pilot.pause()
            assert app.screen.config.dataset.source == str(data)

    asyncio.run(scenario())


def test_a_run_whose_reward_fails_leaves_the_app_and_other_runs_alive(tiny_model_dir, tmp_path, monkeypatch):
    from engine.contract.config import RunConfig

    folder = tmp_path / "rewards"
    folder.mkdir()
    (folder / "bad.py").write_text("def boom(prompts, completions, **kw):\n"
                                   "    if '2 + 2' in str(prompts[0]):\n        return [0.0] * len(completions)\n"
                                   "    raise RuntimeError('broken reward')\n")
    monkeypatch.setenv("RFT_REWARDS_DIR", str(folder))
    runs = tmp_path / "runs"
    healthy, _ = start_run(tiny_config(tiny_model_dir, runs, training={"max_steps": 100000, "sample_every": 0}))
    failing = tiny_config(tiny_model_dir, runs, dataset={"source": "builtin:arithmetic-prompts"},
                          method={"name": "grpo", "num_generations": 2, "max_completion_length": 8},
                          training={"max_steps": 5, "batch_size": 2})
    failing, _ = start_run(RunConfig.model_validate({**failing.model_dump(), "rewards": [{"name": "bad.py:boom"}]}))

    async def scenario() -> None:
        app = RftApp(runs_dir=runs, open_run=healthy)
        async with app.run_test(size=SIZE) as pilot:
            await _until(pilot, lambda: failing.status().state == "failed", what="the failing run")
            steps = healthy.status().step
            await _until(pilot, lambda: healthy.status().step > steps + 2, what="the healthy run to go on")
            # The dashboard draws on its own timer: the points arrive within a tick or four.
            await _until(pilot, lambda: _chart_points(app, "chart-loss") > 0, timeout=10, what="loss points")
            await pilot.press("r")
            await pilot.pause(0.3)
            states = {str(row[1]): str(row[2]) for row in (app.screen.query_one("#runs-table").get_row_at(i)
                                                              for i in range(2))}
            assert states == {healthy.name: "training", failing.name: "failed"}
            healthy.send_command("stop")
            await _until(pilot, lambda: healthy.status().state in FINAL_STATES, what="the stop")

    asyncio.run(scenario())
    message = next(e for e in read_events(failing.events_path) if e["type"] == "error")["message"]
    assert "'bad.py:boom' raised RuntimeError: broken reward" in message


def test_the_verdict_warns_before_a_run_that_would_refuse_packing(tmp_path):
    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            verdict = lambda: " ".join(str(app.screen.query_one("#verdict").render()).split())
            assert "packing" not in verdict()
            await _set(app, "method.packing", True)
            await pilot.pause()
            await _until(pilot, lambda: "ready" in verdict() and "packing" in verdict(), timeout=30,
                         what="the verdict")
            assert "method.packing needs the Unsloth backend" in verdict()
            await _set(app, "method.packing", False)
            await pilot.pause()
            assert "packing" not in verdict()

    asyncio.run(scenario())
