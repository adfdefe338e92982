"""Resume from the Runs screen: a stopped run continues on the dashboard to its last step."""

from __future__ import annotations

import asyncio
import time

from engine.contract.launch import start_run
from engine.contract.protocol import read_events
from rft_tui.app import RftApp
from rft_tui.screens.dashboard import DashboardScreen
from tests.conftest import tiny_config, wait_final, wait_for
from tests.tui.test_app import SIZE, _until


def test_r_on_the_runs_screen_resumes_a_stopped_run_and_shows_it(tiny_model_dir, tmp_path):
    config = tiny_config(tiny_model_dir, tmp_path / "runs",
                         training={"max_steps": 6, "batch_size": 4, "save_steps": 2, "sample_every": 0})
    run, _ = start_run(config)
    wait_for(run, lambda s: s.step >= 2, timeout=300, what="step 2")
    run.send_command("stop")
    assert wait_final(run, timeout=300).state == "stopped"
    deadline = time.monotonic() + 60
    while run.worker_alive() and time.monotonic() < deadline:  # as a person would: after the worker exited
        time.sleep(0.1)

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=SIZE) as pilot:
            app.switch_mode("runs")
            await pilot.pause()
            await pilot.press("R")
            await _until(pilot, lambda: isinstance(app.screen, DashboardScreen), what="the dashboard")
            await _until(pilot, lambda: app.screen.watch is not None and app.screen.watch.status.state == "done",
                         timeout=300, what="the resumed run to finish")
            assert app.screen.watch.step == 6
            app.switch_mode("runs")
            await pilot.pause()
            await pilot.press("R")
            await pilot.pause()
            assert any("finished all its steps" in str(n.message) for n in app._notifications)

    asyncio.run(scenario())
    assert [e["type"] for e in read_events(run.events_path)].count("resume") == 1
