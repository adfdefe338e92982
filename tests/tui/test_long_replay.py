"""A long run, replayed: 100,000 events (a GRPO run of ~11,000 steps with 8 samples a step), written
by the bench's stand-in worker, folded in slices and drawn by the real dashboard.

What is kept stays bounded (series thinned, samples capped) without losing what a chart or the
samples table shows: every step's range, a spike, the band beside its mean, the last samples.
"""

from __future__ import annotations

import asyncio
import json

from bench.event_stream import write_finished_run
from engine.contract.runs import RunDir
from rft_tui.app import RftApp
from rft_tui.run_watch import MAX_POINTS, MAX_SAMPLES, RunWatch
from rft_tui.widgets.metric_chart import MetricChart
from rft_tui.widgets.samples_panel import SamplesPanel
from tests.tui.test_app import _until, charts_drawn
from tests.tui.test_charts import _axis_labels

EVENTS = 100_000
SPIKE = 1_000.0


def _long_run(runs_dir):
    """The run, with one loss spike in the middle (what thinning must not lose); its events, parsed."""
    run = write_finished_run(runs_dir, "long-grpo", EVENTS)
    events = [json.loads(line) for line in run.events_path.read_text().splitlines()]
    metrics = [e for e in events if e["type"] == "metrics"]
    spiked = metrics[len(metrics) // 2 + 3]
    spiked["values"]["loss"] = SPIKE
    run.events_path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return run, events, spiked["step"]


def test_a_long_run_folds_in_slices_to_what_one_read_gives_and_stays_bounded(tmp_path):
    run, events, spike_step = _long_run(tmp_path / "runs")
    metrics = [e for e in events if e["type"] == "metrics"]
    samples = [e for e in events if e["type"] == "sample"]

    sliced, slices = RunWatch(run), 0
    while True:
        sliced.poll(budget_s=0.005)
        slices += 1
        if sliced.caught_up:
            break
    whole = RunWatch(run)
    whole.poll()
    assert whole.caught_up and slices > 3  # it took slices, and the sliced fold ends where one read does
    assert {n: (s.steps, s.values) for n, s in sliced.series.items()} == \
        {n: (s.steps, s.values) for n, s in whole.series.items()}
    assert list(sliced.samples) == list(whole.samples) and sliced.samples_seen == whole.samples_seen == len(samples)
    assert sliced.events_seen == whole.events_seen == EVENTS

    loss = sliced.series["loss"]
    assert len(loss.values) <= 2 * MAX_POINTS  # thinned, from ~11,000 points
    assert loss.steps[0] == metrics[0]["step"] and loss.steps[-1] == metrics[-1]["step"]
    assert loss.steps == sorted(loss.steps)
    assert loss.steps[loss.values.index(SPIKE)] == spike_step  # the spike survives the thinning
    # A band is drawn around its mean point by point: the two stay aligned through the thinning.
    assert sliced.series["reward_std"].steps == sliced.series["reward"].steps
    # The samples kept are the last ones logged, whole.
    assert len(sliced.samples) == MAX_SAMPLES and list(sliced.samples)[-1] == samples[-1]
    assert sliced.status.state == "done" and sliced.progress_step == metrics[-1]["step"]


def test_the_dashboard_shows_a_long_run_whole(tmp_path):
    run, events, spike_step = _long_run(tmp_path / "runs")
    last_step = max(e["step"] for e in events if e["type"] == "metrics")
    last_sample = [e for e in events if e["type"] == "sample"][-1]

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs", open_run=RunDir(run.path))
        async with app.run_test(size=(160, 48)) as pilot:
            screen = app.screen
            await _until(pilot, lambda: screen.watch is not None and screen.watch.caught_up, timeout=60,
                         what="the fold")
            table = screen.query_one(SamplesPanel)
            await _until(pilot, lambda: table.row_count == MAX_SAMPLES, timeout=30, what="the samples table")
            await charts_drawn(pilot)
            loss = screen.query_one("#chart-loss", MetricChart)
            # Every point kept is charted, thinned to two a braille column (and both ends).
            assert loss.points == len(screen.watch.series["loss"].values)
            assert 0 < loss.plotted <= 2 * (2 * loss.size.width) + 2
            y, x = await _axis_labels(pilot, loss)
            assert float(y[0]) >= SPIKE  # the top of the axis takes in the spike
            assert 0.7 * last_step <= int(x[-1]) <= last_step  # the whole run along the steps
            reward = screen.query_one("#chart-reward", MetricChart)
            assert {"reward", "rewards/format", "rewards/correctness"} <= set(reward.drawn_names)
            assert f" {last_step}/" in str(screen.query_one("#run-header").render())  # at the last step charted
            # The table's last row is the last sample logged, its cursor there.
            row = table.get_row_at(table.row_count - 1)
            assert str(row[0]) == str(last_sample["step"]) and str(row[1]).startswith(last_sample["prompt"][:20])
            assert table.cursor_row == table.row_count - 1 and table.cursor_sample == last_sample

    asyncio.run(scenario())
