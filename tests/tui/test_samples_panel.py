"""The samples table on the dashboard: new samples keep appearing however long the run, and the
reward and advantage columns are never cut off."""

from __future__ import annotations

import asyncio
import json

from engine.contract.runs import RunDir
from rft_tui.app import RftApp
from rft_tui.run_watch import MAX_SAMPLES
from rft_tui.widgets.samples_panel import SamplesPanel
from tests.fixtures.fake_runs import grpo_run


def _sample(step: int, i: int) -> str:
    return json.dumps({"v": 1, "t": 1_795_000_500.0, "type": "sample", "step": step, "prompt": f"question {i}",
                       "completion": "<think>" + "long reasoning " * 10 + f"</think><answer>{i}</answer>",
                       "rewards": {"format": 1.0, "correctness": 0.0}, "advantage": -0.25}) + "\n"


def test_samples_past_the_kept_window_still_appear(tmp_path):
    run = RunDir(grpo_run(tmp_path / "runs"))

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs", open_run=run)
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.pause(0.5)
            table = app.screen.query_one(SamplesPanel)
            with run.events_path.open("a") as events:
                events.writelines(_sample(30, i) for i in range(MAX_SAMPLES + 20))
            app.screen.refresh_from_run(force=True)
            await pilot.pause()
            assert str(table.get_row_at(table.row_count - 1)[1]) == f"question {MAX_SAMPLES + 19}"
            with run.events_path.open("a") as events:
                events.write(_sample(31, 9999))
            app.screen.refresh_from_run()
            await pilot.pause()
            last = [str(cell) for cell in table.get_row_at(table.row_count - 1)]
            assert last[1] == "question 9999"
            # Every column fits: the advantage is shown whole, the answer is what gets cut.
            assert last[-1] == "-0.25" and last[2].endswith("…")
            assert sum(width + 2 for width in table.widths) <= table.scrollable_content_region.width

    asyncio.run(scenario())
