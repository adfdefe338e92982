"""The dashboard's charts: thinned to what a terminal can show, and redrawn one at a time while a
run streams, so drawing never holds the event loop for all four charts at once."""

from __future__ import annotations

import asyncio
import fcntl
import json

from engine.fsutil import atomic_write_json
from engine.runs import RunDir
from rft_tui.app import RftApp
from rft_tui.run_watch import Series
from rft_tui.widgets.metric_chart import MetricChart, thin
from tests.fixtures.fake_runs import grpo_run


def test_thinning_keeps_each_columns_extremes_and_both_ends():
    steps = list(range(10_000))
    values = [float(i % 7) for i in steps]
    values[5_003] = 100.0  # a spike a naive stride would skip
    kept_steps, kept_values = thin(steps, values, columns=50)
    assert len(kept_values) <= 2 * 50 + 2
    assert 100.0 in kept_values and kept_steps[kept_values.index(100.0)] == 5_003
    assert kept_steps == sorted(kept_steps) and kept_steps[0] == 0 and kept_steps[-1] == 9_999
    assert thin(steps[:80], values[:80], columns=50) == (steps[:80], values[:80])


def _metrics(step: int) -> str:
    return json.dumps({"v": 1, "t": 1_795_000_500.0 + step, "type": "metrics", "step": step, "total": 100,
                       "values": {"loss": 1 / step, "reward": 0.5, "reward_std": 0.1, "kl": 0.01 * step,
                                  "lr": 1e-4, "grad_norm": 0.3}}) + "\n"


def test_a_streaming_run_redraws_one_chart_a_tick_and_skips_unchanged_ones(tmp_path):
    path = grpo_run(tmp_path / "runs", steps=24)
    # The same run, still training: drop its last status event and mark it live.
    lines = (path / "events.jsonl").read_text().splitlines(keepends=True)
    (path / "events.jsonl").write_text("".join(lines[:-1]))
    atomic_write_json(path / "status.json", {**json.loads((path / "status.json").read_text()),
                                             "state": "training", "finished_at": None, "total": 100})
    run = RunDir(path)
    worker_lock = open(run.lock_path, "a+")  # held as a live worker holds it, so the run reads as training
    fcntl.flock(worker_lock, fcntl.LOCK_EX)

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs", open_run=run)
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.pause(0.3)
            charts = list(app.screen.query(MetricChart))
            assert [c.points for c in charts] == [24, 24 * 3, 24, 24 * 2]  # opening draws every chart
            with run.events_path.open("a") as events:
                events.writelines(_metrics(step) for step in range(25, 31))
            for _ in range(len(charts)):
                before = [c.draws for c in charts]
                app.screen.refresh_from_run()
                assert sum(c.draws for c in charts) - sum(before) <= 1
            assert [c.points for c in charts] == [30, 24 * 3 + 6, 30, 30 * 2]  # reward, not each function
            # Nothing new: no chart rebuilds its figure.
            before = [c.draws for c in charts]
            for _ in range(len(charts)):
                app.screen.refresh_from_run()
            assert [c.draws for c in charts] == before

    try:
        asyncio.run(scenario())
    finally:
        worker_lock.close()


def test_a_chart_of_a_long_run_plots_at_most_two_points_a_column(tmp_path):
    long = Series(list(range(1, 20_001)), [1 / s for s in range(1, 20_001)])

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=(120, 36)) as pilot:
            chart = MetricChart("loss", ["loss"])
            await app.screen.mount(chart)
            await pilot.pause()
            assert chart.show({"loss": long}, finished=True)
            assert chart.points == 20_000
            assert 0 < chart.plotted <= 4 * chart.size.width
            assert not chart.show({"loss": long}, finished=True)  # the same series: no rebuild

    asyncio.run(scenario())
