"""The dashboard tells one story about a run: progress, ETA and charts at the same step, a word in
every panel the method leaves empty, and keys that fit the run's state.

Most live runs here are fixed run directories whose worker lock the test holds, as a live worker
holds it, so the app reads them as training without a model (tests/fixtures/fake_runs.py); one is a
real run of the tiny model."""

from __future__ import annotations

import asyncio
import fcntl
import json
from pathlib import Path

from textual.widgets._footer import FooterKey

from engine.contract.atomic_files import atomic_write_json
from engine.contract.launch import start_run
from engine.contract.runs import RunDir
from rft_tui.app import RftApp
from rft_tui.screens.dashboard import DashboardScreen
from rft_tui.widgets.metric_chart import MetricChart
from tests.conftest import tiny_config
from tests.fixtures.fake_runs import grpo_run, oom_adjusted_run
from tests.tui.test_app import _until, charts_drawn

SIZE = (120, 36)


def _make_live(path: Path, status_step: int, total: int) -> None:
    """Drop the run's final event; status.json says training at ``status_step`` of ``total``."""
    lines = (path / "events.jsonl").read_text().splitlines(keepends=True)
    (path / "events.jsonl").write_text("".join(lines[:-1]))
    atomic_write_json(path / "status.json", {**json.loads((path / "status.json").read_text()), "state": "training",
                                             "step": status_step, "total": total, "finished_at": None})


def _forget_step(path: Path, step: int) -> None:
    """Drop the events of ``step`` (its metrics, its samples), as if it had not logged yet."""
    events = [json.loads(line) for line in (path / "events.jsonl").read_text().splitlines()]
    (path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events if e.get("step") != step))


def _hold_lock(run: RunDir):
    lock = open(run.lock_path, "a+")
    fcntl.flock(lock, fcntl.LOCK_EX)
    return lock


def _footer_keys(app: RftApp) -> list[str]:
    return [key.description for key in app.screen.query(FooterKey)]


def _header(app: RftApp) -> str:
    return str(app.screen.query_one("#run-header").render())


def test_progress_is_at_the_charts_last_step_while_status_json_is_a_step_ahead(tmp_path):
    path = grpo_run(tmp_path / "runs", steps=4)
    # The worker has ended step 4 of 4 (status.json) but not yet written its metrics.
    _make_live(path, status_step=4, total=4)
    _forget_step(path, 4)
    run = RunDir(path)
    lock = _hold_lock(run)

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs", open_run=run)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.5)
            watch = app.screen.watch
            assert watch.status.state == "training" and watch.status.step == 4
            assert app.screen.query_one("#chart-loss", MetricChart).points == 3
            assert watch.series["loss"].steps[-1] == 3
            assert " 3/4 steps" in _header(app) and "4/4" not in _header(app)
            assert watch.progress_step == 3 and watch.eta_s() > 0  # one step left, not none

    try:
        asyncio.run(scenario())
    finally:
        lock.close()


def test_a_finished_run_is_at_its_last_step_even_if_that_step_logged_nothing(tmp_path):
    path = grpo_run(tmp_path / "runs", steps=4)
    _forget_step(path, 4)  # step 4 ran (status.json says so) but logged nothing (logging_steps = 3, say)

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs", open_run=RunDir(path))
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.5)
            assert " 4/4 steps" in _header(app) and "ETA --:--" in _header(app)

    asyncio.run(scenario())


def test_a_chart_the_method_does_not_fill_says_so(tmp_path):
    sft = oom_adjusted_run(tmp_path / "runs")
    rm = grpo_run(tmp_path / "runs", name="rm-run", steps=3)
    # A reward model logs its mean score as the reward, but no score per reward function.
    events = [json.loads(line) for line in (rm / "events.jsonl").read_text().splitlines()]
    for event in events:
        if event["type"] == "metrics":
            event["values"] = {"loss": 0.5, "reward": 0.1 * event["step"]}
    (rm / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs", open_run=RunDir(sft))
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.5)
            await charts_drawn(pilot)
            for chart_id in ("chart-reward", "chart-kl"):
                chart = app.screen.query_one(f"#{chart_id}", MetricChart)
                assert chart.points == 0 and "not logged by this method" in str(chart.render())
            assert "not logged" not in str(app.screen.query_one("#chart-loss", MetricChart).render())
            app.screen.attach(RunDir(rm))
            await pilot.pause(0.5)
            await charts_drawn(pilot)
            chart = app.screen.query_one("#chart-reward", MetricChart)
            # Three reward points of training, one eval reward after every 8 steps from step 0.
            assert chart.points == 3 + 1 and "each function: not logged by this method" in str(chart.render())

    asyncio.run(scenario())


def test_a_finished_runs_footer_has_no_stop_or_checkpoint_and_s_does_nothing(tmp_path):
    path = grpo_run(tmp_path / "runs", steps=3)
    _make_live(path, status_step=3, total=10)
    run = RunDir(path)
    lock = _hold_lock(run)

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs", open_run=run)
        async with app.run_test(size=SIZE) as pilot:
            # Waited for, not paused for: on a loaded machine the first poll and the footer's rebuild lag.
            await _until(pilot, lambda: {"stop & save", "checkpoint now"} <= set(_footer_keys(app)), timeout=30,
                         what="the live run's keys")  # live: both offered
            # The run ends (its worker writes done and lets go of its lock): the keys go with it.
            atomic_write_json(path / "status.json", {**json.loads((path / "status.json").read_text()),
                                                     "state": "done", "finished_at": 1_795_000_900.0})
            lock.close()
            # The footer is rebuilt on a refresh, and empty for a moment inside it: wait for the rebuilt one.
            await _until(pilot, lambda: "done" in _header(app) and "samples full screen" in _footer_keys(app)
                         and "stop & save" not in _footer_keys(app),
                         timeout=30, what="the finished run's header and keys")
            keys = _footer_keys(app)
            assert "stop & save" not in keys and "checkpoint now" not in keys and "samples full screen" in keys
            await pilot.press("s", "c")
            await pilot.pause()
            assert isinstance(app.screen, DashboardScreen)
            assert not run.control_path.exists() or not run.control_path.read_text().strip()  # no command sent
            assert run.status().state == "done"
            # Asked directly (the command palette, a script), the action refuses in words.
            app.screen.action_stop()
            await pilot.pause()
            assert any("already done" in str(n.message) for n in app._notifications)
            assert not run.control_path.exists() or not run.control_path.read_text().strip()

    try:
        asyncio.run(scenario())
    finally:
        lock.close()


def test_a_real_runs_progress_never_runs_ahead_of_its_charts(tiny_model_dir, tmp_path):
    # Sampling runs between a step's end (status.json) and its metrics (events.jsonl): the moment the
    # header used to show a step the charts did not have yet.
    run, _ = start_run(tiny_config(tiny_model_dir, tmp_path / "runs", training={"max_steps": 6, "sample_every": 2}))

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs", open_run=run)
        async with app.run_test(size=SIZE) as pilot:
            ticks = 0
            while True:
                await pilot.pause(0.1)
                watch = app.screen.watch
                loss = watch.series.get("loss")
                if watch.status.is_final:
                    break
                if app.screen._folding:
                    continue  # a poll that ran out of its time slice: nothing new is drawn until the fold ends
                charted = loss.steps[-1] if loss and loss.steps else 0
                assert f" {charted}/" in _header(app), (charted, watch.status.step, _header(app))
                ticks += 1
            # An empty footer (not yet redrawn) would pass the last check without meaning anything.
            await _until(pilot, lambda: "samples full screen" in _footer_keys(app), timeout=20, what="the footer")
            assert watch.status.state == "done" and " 6/6 steps" in _header(app) and ticks > 0
            assert "stop & save" not in _footer_keys(app)

    asyncio.run(asyncio.wait_for(scenario(), timeout=900))
