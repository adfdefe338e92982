"""The reward workbench's dry-run view, driven by Pilot at 120×36 on the dataset's reference answers and
typed answers (no model): results always belong to the saved code, a failure clears them, one answer is
not "the same score for every answer", and the results get the rows they need."""

from __future__ import annotations

import asyncio

from textual.widgets import DataTable, TextArea

from rft_tui.app import RftApp
from tests.tui.test_app import SIZE, _until, open_rewards

MINE = '''def brief(prompts, completions, **kwargs):
    return [1.0 / (1 + len(c)) for c in completions]

def picky(prompts, completions, **kwargs):
    if any("fail" in c for c in completions):
        raise ValueError("told to fail")
    return [0.5 for c in completions]
'''


def test_failures_clear_old_results_and_one_typed_answer_is_not_a_constant(tmp_path, monkeypatch):
    monkeypatch.setenv("RFT_REWARDS_DIR", str(tmp_path / "rewards"))
    (tmp_path / "rewards").mkdir()
    (tmp_path / "rewards" / "mine.py").write_text(MINE)

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await open_rewards(app, pilot)
            screen = app.screen
            screen.refresh_files(select="mine.py")
            table = screen.query_one("#dry-run-table", DataTable)
            summary = screen.query_one("#dry-run-summary")
            await pilot.press("ctrl+s")
            await _until(pilot, lambda: screen.working == ["brief", "picky"], what="the check")

            async def dry_run(source: str, text: str = "") -> None:
                screen.query_one("#dry-run-source").value = source
                screen.query_one("#dry-run-text").value = text
                await pilot.press("ctrl+r")
                await pilot.pause()
                await _until(pilot, lambda: "starting" not in str(summary.render()), timeout=60, what="the dry run")

            # Setup's SFT preset: its dataset's first 4 reference answers, one per prompt; all 4 rows in view.
            await dry_run("reference")
            assert table.row_count == 4 and "brief: mean" in str(summary.render())
            assert table.size.height >= table.row_count + 1  # the header and every row

            # A dry run that fails: the error is shown, the last results are gone.
            await dry_run("text", "please fail")
            assert "✗ dry run failed" in str(summary.render()) and "told to fail" in str(summary.render())
            assert table.row_count == 0 and not table.display

            # One typed answer: scored, and no "every answer the same score" (there is only one answer).
            await dry_run("text", "short")
            assert table.row_count == 1
            assert "same score" not in str(summary.render()), str(summary.render())

            # A save whose check fails: the results of the code as it was are gone, and it says why.
            screen.query_one(TextArea).load_text("def brief(:\n")
            await pilot.press("ctrl+s")
            await _until(pilot, lambda: "syntax error" in str(screen.query_one("#check-result").render()),
                         what="the failed check")
            assert table.row_count == 0 and "the check failed" in str(summary.render())

    asyncio.run(scenario())
