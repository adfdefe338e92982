"""Reading samples on the dashboard: Enter opens one whole, with each score; the table has only
the columns the run's method fills; an empty table says why it is empty.

The runs are fixed run directories (tests/fixtures/fake_runs.py), drawn by the real app."""

from __future__ import annotations

import asyncio
import fcntl
import json
from pathlib import Path

from textual.widgets._footer import FooterKey

from engine.contract.atomic_files import atomic_write_json
from engine.contract.runs import RunDir
from rft_tui.app import RftApp
from rft_tui.screens.dashboard import DashboardScreen
from rft_tui.screens.sample import SampleScreen
from rft_tui.widgets.samples_panel import SamplesPanel
from tests.fixtures.fake_runs import T0, grpo_run, oom_adjusted_run
from tests.tui.test_app import _until

SIZE = (120, 36)
LONG_PROMPT = "A train leaves at 9:00 and travels 60 km at 40 km/h.\nWhen does it arrive? Show [your] work."
LONG_ANSWER = ("<think>" + " ".join(f"step {i}: 60/40 = 1.5 hours, so {i} more minutes to check" for i in range(12))
               + "\n12/5 = 2 closing words at the very end</think><answer>10:30</answer>")


def _append(path: Path, *events: dict) -> None:
    with (path / "events.jsonl").open("a") as file:
        file.writelines(json.dumps({"v": 1, "t": T0 + 500, **event}) + "\n" for event in events)


def _columns(table: SamplesPanel) -> list[str]:
    return table.column_names


def _screen_text(app: RftApp) -> str:
    return str(app.screen.query_one("#sample-text").render())


def test_enter_opens_the_whole_sample_with_every_score_and_esc_goes_back(tmp_path):
    path = grpo_run(tmp_path / "runs")
    _append(path, {"type": "sample", "step": 25, "prompt": LONG_PROMPT, "completion": LONG_ANSWER,
                   "rewards": {"format": 1.0, "correctness": 0.25}, "reward": 1.25, "advantage": 0.625})
    run = RunDir(path)

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs", open_run=run)
        async with app.run_test(size=SIZE) as pilot:
            table = app.screen.query_one(SamplesPanel)
            # The footer redraws a moment after focus lands; a loaded CI machine takes longer than 0.5 s.
            await _until(pilot, lambda: "read sample" in [k.description for k in app.screen.query(FooterKey)],
                         timeout=20, what="the footer to offer 'read sample'")
            assert str(table.get_row_at(table.cursor_row)[2]).endswith("…")  # the table shows its start only
            assert app.focused is table
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, SampleScreen)
            text = _screen_text(app)
            assert LONG_PROMPT in text and LONG_ANSWER in text  # whole, line breaks and brackets as written
            assert "step 25 · GRPO · " + run.name in text
            for line in ("correctness     0.25", "format          1", "weighted total  1.25", "advantage       +0.625"):
                assert line in text
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, DashboardScreen)
            # From the full-screen table too, on the row the cursor is on.
            await pilot.press("m")
            await pilot.pause()
            await pilot.press("up", "enter")  # the answer to a held-out prompt, from the evaluation after step 24
            await pilot.pause()
            assert isinstance(app.screen, SampleScreen)
            assert "step 24 · held-out eval answer · GRPO" in _screen_text(app)
            assert "What is 36 + 19?" in _screen_text(app) and "weighted total  2" in _screen_text(app)
            await pilot.press("escape")
            await pilot.pause()
            await pilot.press("up", "enter")
            await pilot.pause()
            assert isinstance(app.screen, SampleScreen)
            assert "step 24" in _screen_text(app) and "The answer is 45." in _screen_text(app)
            assert "advantage       -0.49" in _screen_text(app)

    asyncio.run(scenario())


def test_an_sft_table_has_no_advantage_column_and_no_reward_columns_without_rewards(tmp_path):
    unscored, scored = oom_adjusted_run(tmp_path / "runs"), oom_adjusted_run(tmp_path / "runs", name="sft-scored")
    _append(unscored, *[{"type": "sample", "step": 6, "prompt": f"q{i}", "completion": f"a{i}", "rewards": {},
                         "reward": None} for i in range(2)])
    _append(scored, {"type": "sample", "step": 6, "prompt": "q", "completion": "a", "rewards": {"format": 0.0},
                     "reward": 0.0})

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs", open_run=RunDir(unscored))
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.5)
            table = app.screen.query_one(SamplesPanel)
            assert table.row_count == 2 and _columns(table) == ["step", "prompt", "answer"]
            table.focus()
            await pilot.press("enter")
            await pilot.pause()
            text = _screen_text(app)
            assert "step 6 · SFT" in text and "no reward scored this sample" in text and "advantage" not in text
            await pilot.press("escape")
            app.screen.attach(RunDir(scored))
            await pilot.pause(0.3)
            assert _columns(table) == ["step", "prompt", "answer", "format"]
            assert str(table.get_row_at(0)[3]) == "0.00"

    asyncio.run(scenario())


def test_an_empty_samples_panel_says_why(tmp_path):
    finished = oom_adjusted_run(tmp_path / "runs")
    live = oom_adjusted_run(tmp_path / "runs", name="sft-live")
    # The same SFT run, still training before its first sample: no final event, its worker's lock held.
    lines = (live / "events.jsonl").read_text().splitlines(keepends=True)
    (live / "events.jsonl").write_text("".join(lines[:-1]))
    atomic_write_json(live / "status.json", {**json.loads((live / "status.json").read_text()),
                                             "state": "training", "finished_at": None, "total": 50})
    lock = open(RunDir(live).lock_path, "a+")
    fcntl.flock(lock, fcntl.LOCK_EX)

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs", open_run=RunDir(finished))
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.5)
            absent = app.screen.query_one("#samples-absent")
            assert absent.display and not app.screen.query_one(SamplesPanel).display
            assert "this run logged no samples" in str(absent.render())
            assert "read sample" not in [k.description for k in app.screen.query(FooterKey)]
            app.screen.attach(RunDir(live))
            await pilot.pause(0.3)
            assert "no samples yet: the first come after step 1, then every 10 steps" in str(absent.render())
            await pilot.press("m")  # nothing to show full screen: a word instead
            await pilot.pause()
            assert not app.screen.samples_full
            _append(live, {"type": "sample", "step": 3, "prompt": "q", "completion": "a", "rewards": {}})
            await pilot.pause(0.6)
            assert not absent.display and app.screen.query_one(SamplesPanel).row_count == 1
            assert app.focused is app.screen.query_one(SamplesPanel)  # Enter now opens it

    try:
        asyncio.run(scenario())
    finally:
        lock.close()
