"""The reward workbench driven by Pilot: write a function, save and check it, dry-run it on the tiny model."""

from __future__ import annotations

import asyncio

from textual.widgets import DataTable, TextArea

from rft_tui.app import RftApp
from rft_tui.widgets.config_form import _dom_id
from tests.tui.test_app import SIZE, _until, highlight, open_rewards

MINE = '''def brief(prompts, completions, **kwargs):
    return [1.0 / (1 + len(c)) for c in completions]

def broken(prompts, completions, **kwargs):
    return [1 / 0 for c in completions]
'''


def test_write_save_check_and_dry_run_a_reward(tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("RFT_REWARDS_DIR", str(tmp_path / "rewards"))
    (tmp_path / "rewards").mkdir()

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            # The dry run generates with the model set up on Setup: the tiny one here.
            app.screen.query_one(f"#{_dom_id('model.name')}").value = str(tiny_model_dir)
            await pilot.pause()
            await open_rewards(app, pilot)
            await pilot.press("ctrl+n")
            await pilot.pause()
            await pilot.press(*"mine", "enter")
            await _until(pilot, lambda: app.screen.path is not None, what="the new file")
            assert "def reward(prompts, completions" in app.screen.query_one(TextArea).text
            app.screen.query_one(TextArea).load_text(MINE)
            await pilot.press("ctrl+s")
            result = app.screen.query_one("#check-result")
            await _until(pilot, lambda: "✓ brief" in str(result.render()), what="the check")
            assert "✗ broken (line 5): raised ZeroDivisionError" in str(result.render())
            assert (tmp_path / "rewards" / "mine.py").read_text() == MINE
            await pilot.press("ctrl+r")
            table = app.screen.query_one("#dry-run-table", DataTable)
            await _until(pilot, lambda: table.row_count > 0, timeout=180, what="the dry run")
            assert table.row_count == 16  # 4 prompts × 4 answers
            await pilot.pause()
            assert table.size.height >= 17  # at 120×36 the header and all 16 answers are in view
            summary = str(app.screen.query_one("#dry-run-summary").render())
            assert "brief: mean" in summary and "zero-spread groups:" in summary

            # Typed text as the source: one answer, scored at once, no model.
            app.screen.query_one("#dry-run-source").value = "text"
            app.screen.query_one("#dry-run-text").value = "short"
            app.screen.query_one(TextArea).focus()
            await pilot.press("ctrl+r")
            await _until(pilot, lambda: table.row_count == 1, timeout=60, what="the text dry run")
            assert [str(c) for c in table.get_row_at(0)][1:] == ["short", f"{1 / 6:.2f}"]

    asyncio.run(scenario())


def test_reward_code_from_outside_is_shown_and_runs_only_after_yes(tiny_model_dir, tmp_path, monkeypatch):
    from textual.widgets import OptionList

    from engine.contract.runs import list_runs
    from rft_tui.screens.dashboard import DashboardScreen
    from rft_tui.screens.trust_reward import TrustRewardCode
    from tests.conftest import wait_final

    (tmp_path / "rewards").mkdir()
    (tmp_path / "elsewhere").mkdir()
    code = "def helpful(prompts, completions, **kw):\n    return [0.5 for c in completions]\n"
    (tmp_path / "elsewhere" / "helpful.py").write_text(code)
    (tmp_path / "presets").mkdir()
    (tmp_path / "presets" / "shared.toml").write_text(f"""
[model]
name = "{tiny_model_dir}"
[dataset]
source = "builtin:arithmetic-prompts"
[method]
name = "grpo"
num_generations = 2
max_completion_length = 8
[training]
max_steps = 2
batch_size = 2
[[rewards]]
name = "{tmp_path / 'elsewhere' / 'helpful.py'}:helpful"
""")
    monkeypatch.setenv("RFT_REWARDS_DIR", str(tmp_path / "rewards"))
    monkeypatch.setenv("RFT_PRESETS_DIR", str(tmp_path / "presets"))
    runs = tmp_path / "runs"

    async def scenario() -> None:
        app = RftApp(runs_dir=runs)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            highlight(app.screen.query_one("#preset-list", OptionList), "shared")
            await pilot.press("enter")
            await pilot.pause()
            await pilot.press("ctrl+t")  # it asks once the dataset check has read the data
            await _until(pilot, lambda: isinstance(app.screen, TrustRewardCode), timeout=120, what="the question")
            assert app.screen.query_one(TextArea).text == code
            await pilot.press("n")
            await pilot.pause()
            assert not list_runs(runs) and not any((tmp_path / "rewards").iterdir())
            await pilot.press("ctrl+t")
            await _until(pilot, lambda: isinstance(app.screen, TrustRewardCode), timeout=120, what="the question")
            await pilot.press("y")
            await _until(pilot, lambda: isinstance(app.screen, DashboardScreen), what="the run")

    asyncio.run(scenario())
    assert (tmp_path / "rewards" / "helpful.py").read_text() == code
    (run,) = list_runs(runs)
    assert [r.name for r in run.load_config().rewards] == ["helpful.py:helpful"]
    assert wait_final(run).state == "done", run.log_path.read_text()[-2000:]
