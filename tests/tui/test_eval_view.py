"""The held-out evaluation on screen: eval curves beside the training ones, the best step in the
header, the eval answers among the samples, and each run's best figure on the Runs screen."""

from __future__ import annotations

import asyncio

from engine.contract.runs import RunDir
from rft_tui.app import RftApp
from rft_tui.screens.runs import RunsScreen
from rft_tui.widgets.metric_chart import MetricChart
from rft_tui.widgets.samples_panel import SamplesPanel
from tests.fixtures.fake_runs import grpo_run, oom_adjusted_run
from tests.tui.test_app import _until

SIZE = (120, 36)


def test_the_dashboard_draws_eval_curves_the_best_step_and_the_eval_answers(tmp_path):
    run = RunDir(grpo_run(tmp_path / "runs", steps=24))  # evaluated at steps 0, 8, 16 and 24

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs", open_run=run)
        async with app.run_test(size=SIZE) as pilot:
            reward = app.screen.query_one("#chart-reward", MetricChart)
            await _until(pilot, lambda: reward.points > 0, timeout=30, what="the reward chart")
            assert reward.drawn_names[:2] == ["reward", "eval_reward"]
            # 24 training points for reward and each of its two functions, 4 held-out ones from step 0.
            assert reward.points == 3 * 24 + 4
            loss = app.screen.query_one("#chart-loss", MetricChart)
            assert loss.drawn_names == ["loss"]  # GRPO logs no eval loss: the loss chart has no eval line
            header = str(app.screen.query_one("#run-header").render())
            assert "best eval_reward 0.5728 at step 24" in header
            samples = app.screen.query_one(SamplesPanel)
            assert samples.border_title.startswith("Samples · eval at step 24 on 32 held-out prompts: reward 0.5728")
            steps = [str(samples.get_row_at(i)[0]) for i in range(samples.row_count)]
            assert steps.count("24 eval") == 1 and steps.count("0 eval") == 1

    asyncio.run(scenario())


def test_the_runs_screen_shows_each_runs_best_eval_figure(tmp_path):
    grpo_run(tmp_path / "runs")
    oom_adjusted_run(tmp_path / "runs")  # a run without evaluations

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("r")
            await _until(pilot, lambda: isinstance(app.screen, RunsScreen) and app.screen.query_one(
                "#runs-table").row_count == 2, timeout=30, what="the runs table")
            table = app.screen.query_one("#runs-table")
            column = [c.label.plain for c in table.ordered_columns].index("best eval")
            best = {str(table.get_row_at(i)[1]): str(table.get_row_at(i)[column]) for i in range(2)}
            assert best == {"grpo-smollm2-135m-1121-0931": "reward 0.5728 @ 24", "sft-smollm2-135m-1121-1002": "-"}

    asyncio.run(scenario())
