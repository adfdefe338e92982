"""The reward workbench driven by Pilot: write a function, save and check it, dry-run it on the tiny model."""

from __future__ import annotations

import asyncio

from textual.widgets import DataTable, TextArea

from rft_tui.app import RftApp
from rft_tui.screens.rewards import RewardsScreen
from rft_tui.widgets.config_form import _dom_id
from tests.tui.test_app import SIZE, _until

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
            app.screen.query_one("#preset-list").focus()
            await pilot.press("w")
            await _until(pilot, lambda: isinstance(app.screen, RewardsScreen), what="the rewards screen")
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
