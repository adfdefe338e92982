"""The dashboard's charts: thinned to what a terminal can show, and redrawn one at a time while a
run streams, so drawing never holds the event loop for all four charts at once."""

from __future__ import annotations

import asyncio
import fcntl
import json
import math
import re

from engine.contract.atomic_files import atomic_write_json
from engine.contract.runs import RunDir
from rft_tui.app import RftApp
from rft_tui.run_watch import Series
from rft_tui.widgets.metric_chart import MetricChart, nice_ticks, thin, tick_labels
from tests.fixtures.fake_runs import grpo_run
from tests.tui.test_app import _until


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
            # Opening draws every chart; the reward chart has the four held-out evaluations too.
            assert [c.points for c in charts] == [24, 24 * 3 + 4, 24, 24 * 2]
            with run.events_path.open("a") as events:
                events.writelines(_metrics(step) for step in range(25, 31))
            for _ in range(len(charts)):
                before = [c.draws for c in charts]
                app.screen.refresh_from_run()
                assert sum(c.draws for c in charts) - sum(before) <= 1
            assert [c.points for c in charts] == [30, 24 * 3 + 4 + 6, 30, 30 * 2]  # reward, not each function
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
            await _until(pilot, lambda: not chart.figure_pending, what="the chart's figure")
            assert 0 < chart.plotted <= 4 * chart.size.width
            assert not chart.show({"loss": long}, finished=True)  # the same series: no rebuild

    asyncio.run(scenario())


def _even(values: list[float]) -> bool:
    gaps = [b - a for a, b in zip(values, values[1:])]
    return all(abs(gap - gaps[0]) <= 1e-9 * max(1.0, abs(gaps[0])) for gap in gaps)


def test_ticks_are_round_even_and_cover_the_data_with_one_number_of_decimals():
    ranges = [(1.630, 1.833), (0.33, 2.0), (-0.049, 0.05), (0.0, 2e-4), (1e-3, 1e-3), (0.0, 0.0), (-3.0, -2.9),
              (0.4, 0.6), (12_000.0, 480_000.0), (1e-7, 3e-7)]
    for lo, hi in ranges:
        for most in (2, 3, 4, 6):
            ticks = nice_ticks(lo, hi, most)
            fewest = 3 if lo < 0 < hi or lo == hi == 0 else 2  # across zero: below, zero, above
            assert 2 <= len(ticks) <= max(most, fewest) and ticks[0] <= lo and ticks[-1] >= hi, (lo, hi, most, ticks)
            assert _even(ticks), ticks
            step = ticks[1] - ticks[0]
            mantissa = step / 10 ** math.floor(math.log10(step) + 1e-9)
            assert any(abs(mantissa - f) < 1e-6 for f in (1, 2, 2.5, 5)), (step, ticks)
            labels = tick_labels(ticks)
            assert _even([float(label) for label in labels]), labels  # each label says its tick exactly
            decimals = {len(label.split(".")[1]) if "." in label and "e" not in label else 0 for label in labels}
            assert len(decimals) == 1 and len(max(labels, key=len)) <= 7, labels
    assert tick_labels(nice_ticks(0.0, 1.0, 5)) == ["0.00", "0.25", "0.50", "0.75", "1.00"]


def test_step_ticks_are_whole_numbers():
    for lo, hi in [(1, 6), (1, 24), (1, 1), (3, 7), (1, 20_000), (10, 11)]:
        for most in (2, 4, 8):
            ticks = nice_ticks(lo, hi, most, whole=True)
            assert ticks == [float(int(t)) for t in ticks] and _even(ticks) and len(ticks) <= most, ticks
            assert ticks[0] <= lo and ticks[-1] >= hi


async def _axis_labels(pilot, chart: MetricChart, rows: list[int] | None = None) -> tuple[list[str], list[str]]:
    """The y labels left of the axis and the x labels under it, as the chart renders them once its
    figure is built; ``rows`` gets the line each y label is on."""
    await _until(pilot, lambda: not chart.figure_pending, what="the chart's figure")
    lines = str(chart.render()).splitlines()
    found = [(i, m.group(1)) for i, line in enumerate(lines) if (m := re.match(r"\s*(\S+)┤", line))]
    if rows is not None:
        rows.extend(i for i, _ in found)
    y = [label for _, label in found]
    bottom = next(i for i, line in enumerate(lines) if "└" in line)
    return y, lines[bottom + 1].split()


def test_a_rendered_chart_labels_every_y_tick_evenly_and_steps_as_whole_numbers(tmp_path):
    # The values and steps that showed '1.833 1.782 1.731 1.630' and '4.8' before.
    loss = Series([1, 2, 3, 4, 5, 6], [1.833, 1.80, 1.75, 1.70, 1.66, 1.630])
    long = Series(list(range(1, 25)), [0.4 + 0.02 * s for s in range(1, 25)])

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=(120, 36)) as pilot:
            chart = MetricChart("loss", ["loss"])
            await app.screen.mount(chart)
            chart.styles.height, chart.styles.width = 11, 58
            await pilot.pause()
            for series in (loss, long):
                assert chart.show({"loss": series}, finished=True)
                y, x = await _axis_labels(pilot, chart)
                assert len(y) >= 3 and _even([float(label) for label in y]), y
                assert len({len(label) for label in y}) == 1, y  # one number of decimals
                assert len(x) >= 2 and all(label.isdigit() for label in x), x
                assert int(x[0]) >= series.steps[0] and int(x[-1]) <= series.steps[-1] and _even(list(map(int, x)))

    asyncio.run(scenario())


def test_y_labels_sit_on_evenly_spaced_rows_whatever_the_charts_height(tmp_path):
    # Round ticks land on the nearest row: on a chart whose rows their intervals do not divide, the
    # labels read evenly but sit unevenly ('0.06' two rows above '0.04', '0.02' one row below it).
    kl = Series(list(range(1, 25)), [0.002 + 0.002 * s for s in range(24)])
    loss = Series(list(range(1, 25)), [0.05 * math.sin(s / 4) for s in range(24)])

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=(120, 36)) as pilot:
            chart = MetricChart("kl", ["kl"])
            await app.screen.mount(chart)
            chart.styles.width = 58
            for height in range(8, 17):
                chart.styles.height = height
                await pilot.pause()
                for series in (kl, loss):
                    assert chart.show({"kl": series}, finished=True)
                    rows: list[int] = []
                    y, _ = await _axis_labels(pilot, chart, rows)
                    gaps = {b - a for a, b in zip(rows, rows[1:])}
                    assert len(y) >= 2 and len(gaps) == 1, (height, y, rows)
                    assert _even([float(label) for label in y]), (height, y)
                    lowest, highest = min(series.values), max(series.values)
                    assert float(y[-1]) <= lowest and float(y[0]) >= highest, (height, y)  # top row first

    asyncio.run(scenario())
