"""The dashboard attached to a run of two processes (two CPU ranks over gloo, the real job and worker)."""

from __future__ import annotations

import asyncio

from engine.contract.launch import start_run
from engine.contract.protocol import read_events
from engine.contract.runs import FINAL_STATES
from rft_tui.app import RftApp
from rft_tui.screens.dashboard import DashboardScreen
from rft_tui.widgets.run_header import RunHeader
from rft_tui.widgets.samples_panel import SamplesPanel
from tests.tui.test_app import SIZE, _chart_points, _until
from tests.conftest import tiny_config


def test_the_dashboard_follows_a_two_rank_run_and_its_stop_key_stops_every_rank(tiny_model_dir, tmp_path):
    config = tiny_config(tiny_model_dir, tmp_path / "runs", distributed={"num_processes": 2}, eval={"every": 0},
                         training={"max_steps": 100000, "batch_size": 2, "sample_every": 2})
    run, job = start_run(config)

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs", open_run=run)
        async with app.run_test(size=SIZE) as pilot:
            await _until(pilot, lambda: isinstance(app.screen, DashboardScreen), what="the dashboard")
            await _until(pilot, lambda: _chart_points(app, "chart-loss") >= 3, timeout=240, what="live loss points")
            await _until(pilot, lambda: app.screen.query_one(SamplesPanel).row_count > 0, what="samples")
            header = str(app.screen.query_one(RunHeader).render())
            assert "on 2 processes" in header and "training" in header, header
            await pilot.press("s")
            await _until(pilot, lambda: run.status().state in FINAL_STATES, timeout=240, what="the stop")

    asyncio.run(scenario())
    assert job.wait(timeout=120) == 0  # both ranks got the stop at the same step: none is left waiting
    assert run.status().state == "stopped"
    steps = [e["step"] for e in read_events(run.events_path) if e["type"] == "metrics"]
    assert steps == list(range(1, len(steps) + 1))  # one writer: each step once
    assert (run.adapter_dir / "adapter_model.safetensors").is_file()
