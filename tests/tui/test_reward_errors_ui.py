"""A reward that fails in the workbench's dry run: the message and the user's own frames, never rft's."""

from __future__ import annotations

import asyncio

from textual.widgets import TextArea

from rft_tui.app import RftApp
from tests.tui.test_app import SIZE, _until, open_rewards

# Passes the save-time check (its examples ask "What is 2 + 2?" and "What is 3 + 5?"), then raises on the
# dataset's word problems.
PICKY = '''def picky(prompts, completions, **kwargs):
    return [_judge(p) for p in prompts]

def _judge(prompt):
    if "What is" in str(prompt):
        return 1.0
    raise LookupError("cannot judge this prompt")
'''


def test_a_reward_failing_in_the_dry_run_shows_its_own_frames_only(tmp_path, monkeypatch):
    folder = tmp_path / "rewards"
    folder.mkdir()
    (folder / "picky.py").write_text(PICKY)
    monkeypatch.setenv("RFT_REWARDS_DIR", str(folder))
    monkeypatch.setenv("RFT_CACHE_DIR", str(tmp_path / "cache"))

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await open_rewards(app, pilot)
            app.screen.open_file(folder / "picky.py")
            app.screen.query_one(TextArea).focus()
            await pilot.press("ctrl+s")
            result = app.screen.query_one("#check-result")
            await _until(pilot, lambda: "✓ picky" in str(result.render()), what="the check")
            app.screen.query_one("#dry-run-source").value = "text"
            app.screen.query_one("#dry-run-text").value = "an answer"
            await pilot.press("ctrl+r")
            summary = app.screen.query_one("#dry-run-summary")
            await _until(pilot, lambda: "dry run failed" in str(summary.render()), timeout=60, what="the failure")
            shown = str(summary.render())
            assert "'picky.py:picky' raised LookupError: cannot judge this prompt" in shown
            assert f'File "{folder / "picky.py"}", line 7, in _judge' in shown
            assert "engine/" not in shown and "rft_tui/" not in shown and "RewardError" not in shown

    asyncio.run(scenario())
