"""The Setup verdict says what the pre-flight check knows, and t refuses a run that would fail (Pilot)."""

from __future__ import annotations

import asyncio

from engine.contract.runs import list_runs
from rft_tui.app import RftApp
from rft_tui.screens.dashboard import DashboardScreen
from rft_tui.widgets.config_form import _dom_id
from rft_tui.widgets.dataset_check import DatasetCheck
from tests.tui.test_app import SIZE, _set, _until


def _verdict(app: RftApp) -> str:
    return " ".join(str(app.screen.query_one("#verdict").render()).split())


def test_the_verdict_refuses_a_dataset_that_does_not_exist_and_t_starts_nothing(tmp_path):
    runs = tmp_path / "runs"

    async def scenario() -> None:
        app = RftApp(runs_dir=runs)
        async with app.run_test(size=SIZE) as pilot:
            await _until(pilot, lambda: "ready" in _verdict(app), timeout=30, what="the first verdict")
            for source, words in [("data/nope.jsonl", "does not exist"), ("builtin:nope", "No built-in dataset")]:
                await _set(app, "dataset.source", source)
                await _until(pilot, lambda: words in _verdict(app), timeout=30, what=f"the verdict on {source}")
                assert "✗ dataset.source" in _verdict(app)
                assert "ready" not in _verdict(app)
                assert app.screen.query_one(f"#{_dom_id('dataset.source')}").has_class("-invalid")
                await pilot.press("ctrl+t")
                await pilot.pause(0.5)
                assert not isinstance(app.screen, DashboardScreen)
                assert not list_runs(runs)
                notices = [n.message for n in app._notifications]
                assert any(m.startswith("not started, it would fail: dataset.source") for m in notices), notices
            await _set(app, "dataset.source", "builtin:arithmetic-sft")
            await _until(pilot, lambda: "ready" in _verdict(app), timeout=30, what="ready again")

    asyncio.run(scenario())


def test_an_emptied_learning_rate_says_its_default_and_is_refused(tmp_path):
    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await _set(app, "training.learning_rate", "")
            await pilot.pause()
            assert "training.learning_rate: is empty; type a value (the default is 0.0002)" in _verdict(app)
            await pilot.press("ctrl+t")
            await pilot.pause(0.5)
            assert not isinstance(app.screen, DashboardScreen) and not (tmp_path / "runs").exists()

    asyncio.run(scenario())


def test_dpo_on_data_without_an_answer_column_warns_that_correctness_is_left_out(tmp_path):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"prompt": "2+2?", "chosen": "<answer>4</answer>", "rejected": "5"}\n' * 4)

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            options = app.screen.query_one("#preset-list")
            options.focus()
            options.highlighted = [options.get_option_at_index(i).id for i in range(options.option_count)].index("dpo")
            await pilot.press("enter")
            await pilot.pause()
            await _set(app, "dataset.source", str(pairs))
            await _until(pilot, lambda: "left out" in _verdict(app), timeout=30, what="the warning")
            assert "ready" in _verdict(app) and "⚠ reward 'correctness' is left out" in _verdict(app)

    asyncio.run(scenario())


def test_t_pressed_while_checking_starts_the_run_once_the_check_passes(tiny_model_dir, tmp_path):
    runs = tmp_path / "runs"

    async def scenario() -> None:
        app = RftApp(runs_dir=runs)
        async with app.run_test(size=SIZE) as pilot:
            await _set(app, "model.name", str(tiny_model_dir))
            await _set(app, "training.max_steps", "1")
            await _set(app, "training.sample_every", "0")
            await _until(pilot, lambda: "ready" in _verdict(app), timeout=30, what="the first verdict")
            # Setup's first check starts 0.5 s after it mounts; on a fast machine the check of the edited
            # fields can say "ready" before that. Past it, no check is in flight or still to come.
            await pilot.pause(0.6)
            await app.workers.wait_for_complete()
            # As when the data has just changed: nothing read yet.
            check = app.screen.query_one(DatasetCheck)
            check.readings.clear()
            await pilot.press("ctrl+t")
            await pilot.pause()
            assert "checking the dataset" in _verdict(app) and not list_runs(runs)
            check.check(app.screen.config)
            await _until(pilot, lambda: isinstance(app.screen, DashboardScreen), timeout=60, what="the run")

    asyncio.run(scenario())
    (run,) = list_runs(runs)
    from tests.conftest import wait_final

    assert wait_final(run, timeout=300).state == "done"


def test_epochs_in_setup_show_the_steps_they_make_in_the_verdict(tmp_path):
    from engine.planning.epochs import epoch_steps
    from engine.planning.preflight import read_datasets

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=SIZE) as pilot:
            await _until(pilot, lambda: "ready" in _verdict(app), timeout=30, what="the first verdict")
            assert "· 30 steps ·" in _verdict(app)
            await _set(app, "training.num_epochs", "2")
            await _until(pilot, lambda: "2 epochs =" in _verdict(app), timeout=30, what="the verdict in epochs")
            config = app.screen.config
            (reading,) = read_datasets(config).values()
            steps = epoch_steps(config, reading.rows, reading.prompts)
            assert steps > 30 and f"2 epochs = {steps} steps" in _verdict(app)

    asyncio.run(scenario())


def test_only_problems_are_red_in_the_verdict():
    from rft_tui.widgets.verdict import verdict_text

    def style_of(text, words: str) -> str:
        start = text.plain.index(words)
        return " ".join(str(span.style) for span in text.spans if span.start <= start < span.end) + str(text.style)

    ready = verdict_text([("✓", "ready · press t to train")])
    assert "red" not in style_of(ready, "ready · press t") and "green" in style_of(ready, "✓")
    mixed = verdict_text([("✗", "dataset.source: no such file"), ("⚠", "reward left out")])
    assert mixed.plain.startswith("1 problem(s) · ✗")
    assert "red" in style_of(mixed, "1 problem(s)") and "red" not in style_of(mixed, "dataset.source")
    assert "yellow" in style_of(mixed, "reward left out")
