"""Memory in the app: the setup verdict warns before a run that will not fit, and the dashboard shows what
the worker changed after running out of memory."""

from __future__ import annotations

import asyncio

from engine.planning import device_memory
from engine.contract.runs import RunDir
from rft_tui.app import RftApp
from rft_tui.screens.dashboard import DashboardScreen
from tests.fixtures.fake_runs import oom_adjusted_run
from tests.tui.test_app import SIZE, _until


def test_the_dashboard_shows_a_batch_the_worker_halved_after_running_out_of_memory(tmp_path):
    run = RunDir(oom_adjusted_run(tmp_path / "runs"))

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs", open_run=run)
        async with app.run_test(size=SIZE) as pilot:
            await _until(pilot, lambda: isinstance(app.screen, DashboardScreen), what="the dashboard")
            notice = lambda: str(app.screen.query_one("#notice").render())
            await _until(pilot, lambda: "adjusted" in notice(), timeout=10, what="the notice")
            text = " ".join(notice().split())
            assert "out of memory in step 4" in text
            assert "training.batch_size 4 → 2" in text and "training.gradient_accumulation_steps 1 → 2" in text

    asyncio.run(scenario())


def test_the_setup_verdict_warns_when_the_gpu_has_too_little_free_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(device_memory, "gpu_free_bytes", lambda: 2**28)  # a GPU with 256 MiB free

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=SIZE) as pilot:
            verdict = lambda: " ".join(str(app.screen.query_one("#verdict").render()).split())
            await _until(pilot, lambda: "ready" in verdict(), timeout=10, what="the verdict")
            assert "may not fit in memory" in verdict() and "0.2 GiB is free on the GPU" in verdict()

    asyncio.run(scenario())
    monkeypatch.setattr(device_memory, "gpu_free_bytes", lambda: None)  # no GPU: no warning

    async def no_gpu() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=SIZE) as pilot:
            verdict = lambda: str(app.screen.query_one("#verdict").render())
            await _until(pilot, lambda: "ready" in verdict(), timeout=10, what="the verdict")
            assert "may not fit" not in verdict()

    asyncio.run(no_gpu())
