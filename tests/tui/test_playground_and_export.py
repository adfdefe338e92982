"""The playground and the export dialog, driven by Textual's Pilot against real engine processes."""

from __future__ import annotations

import asyncio

import pytest

from engine.contract.launch import start_run
from engine.contract.runs import RunDir
from rft_tui.app import RftApp
from rft_tui.screens.confirm import Confirm
from rft_tui.screens.export import ExportScreen
from rft_tui.screens.playground import PlaygroundScreen
from rft_tui.widgets.asked_tally import AskedTally
from tests.conftest import tiny_config, wait_final
from tests.tui.test_app import SIZE, _until


@pytest.fixture(scope="module")
def finished_run(tiny_model_dir, tmp_path_factory) -> RunDir:
    config = tiny_config(tiny_model_dir, tmp_path_factory.mktemp("runs"),
                         training={"max_steps": 4, "batch_size": 4, "learning_rate": 1e-2, "sample_every": 0,
                                   "save_steps": 2})
    config = config.model_validate({**config.model_dump(), "rewards": [{"name": "length", "params": {"target_chars": 0}}]})
    run, _ = start_run(config)
    assert wait_final(run, timeout=300).state == "done"
    return run


async def _open_from_runs(pilot, app: RftApp, key: str, screen_type: type):
    """Press ``key`` on the Runs screen (the run is the only row) and wait for ``screen_type``."""
    app.switch_mode("runs")
    await pilot.pause()
    await pilot.press(key)
    await _until(pilot, lambda: isinstance(app.screen, screen_type), what=screen_type.__name__)
    return app.screen


def _text(app: RftApp, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


def test_the_playground_answers_one_prompt_from_both_models(finished_run):
    async def scenario() -> None:
        app = RftApp(runs_dir=finished_run.path.parent)
        async with app.run_test(size=SIZE) as pilot:
            screen = await _open_from_runs(pilot, app, "p", PlaygroundScreen)
            await _until(pilot, lambda: not screen.busy, timeout=120, what="the models to load")
            assert "length" in _text(app, "#pg-status") and screen.query_one("#pg-probes").option_count > 0
            await pilot.click("#pg-prompt")
            await pilot.press(*"What is 2 plus 3?", "enter")
            await _until(pilot, lambda: len(screen.answers) == 2 and not screen.busy, timeout=120,
                         what="two answers")
            for side in ("base", "tuned"):
                answer = screen.answers[side]
                assert answer["tokens"] > 0 and set(answer["rewards"]) == {"length"}
                assert f"{answer['tokens']} tokens" in _text(app, f"#pg-{side}-rewards")
                assert "length" in _text(app, f"#pg-{side}-rewards")
            # The adapter changes the model: the two sides are not one model asked twice.
            assert screen.answers["base"]["text"] != screen.answers["tuned"]["text"]
            # The running table adds the pair up as rft eval would.
            tally = screen.query_one("#pg-tally", AskedTally)
            [row] = tally.rows()
            base, tuned = (screen.answers[side]["rewards"]["length"] for side in ("base", "tuned"))
            assert (row["name"], row["prompts"], row["base"], row["tuned"]) == ("length", 1, base, tuned)
            assert row["better"] == (1.0 if tuned > base else 0.0)
            assert "1 prompt asked here" in tally.plain() and "length" in tally.plain()
            await pilot.click("#pg-prompt")
            await pilot.press("enter")  # the same prompt again: greedy, so the same pair
            await _until(pilot, lambda: tally.asked == 2 and not screen.busy, timeout=120, what="a second pair")
            assert tally.rows()[0]["prompts"] == 2 and "2 prompts asked here" in tally.plain()
            first_session = screen.session
            screen.query_one("#pg-source").value = "checkpoint-2"  # an earlier adapter: a new engine process
            await _until(pilot, lambda: screen.session is not first_session and not screen.busy, timeout=120,
                         what="the checkpoint to load")
            assert first_session.process.wait(timeout=60) == 0 and "checkpoint-2" in _text(app, "#pg-title")
            assert tally.asked == 0 and not tally.rows()  # another adapter starts its own table
            await pilot.click("#pg-prompt")
            await pilot.press("enter")
            await _until(pilot, lambda: len(screen.answers) == 2 and not screen.busy, timeout=120,
                         what="two answers from the checkpoint")
            assert tally.asked == 1
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, PlaygroundScreen)
            assert screen.session.process.wait(timeout=60) == 0  # the engine process ends with the screen

    asyncio.run(scenario())


def test_export_from_the_runs_screen_checks_and_asks_before_replacing(finished_run):
    async def scenario() -> None:
        app = RftApp(runs_dir=finished_run.path.parent)
        async with app.run_test(size=SIZE) as pilot:
            screen = await _open_from_runs(pilot, app, "x", ExportScreen)
            await pilot.click("#export-go")
            await _until(pilot, lambda: not screen.running and "exported to" in _text(app, "#export-log"),
                         timeout=120, what="the export")
            assert "✓ adapter reloads" in _text(app, "#export-log")
            assert (finished_run.path / "exports" / "adapter" / "adapter_model.safetensors").is_file()
            assert "exists" in _text(app, "#export-target")
            await pilot.click("#export-go")
            await _until(pilot, lambda: isinstance(app.screen, Confirm), what="the question")
            await pilot.press("n")
            await pilot.pause()
            assert app.screen is screen and not screen.running

    asyncio.run(scenario())


def test_the_export_dialog_of_a_full_fine_tune_offers_the_whole_model_not_an_adapter(tmp_path):
    from textual.widgets import Select

    from tests.fixtures.fake_runs import full_fine_tuned_run

    run = RunDir(full_fine_tuned_run(tmp_path / "runs"))

    async def scenario() -> None:
        app = RftApp(runs_dir=run.path.parent)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            app.push_screen(ExportScreen(run))
            await _until(pilot, lambda: isinstance(app.screen, ExportScreen) and app.screen.query("#export-format"),
                         what="the export dialog")
            formats = app.screen.query_one("#export-format", Select)
            assert formats.value == "merged"
            assert [value for _, value in formats._options] == ["merged", "gguf"]
            assert "the fine-tuned model" in str(formats._options[0][0])
            assert str(run.path / "exports" / "merged") in _text(app, "#export-target")

    asyncio.run(scenario())
