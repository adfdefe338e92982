"""The runs table says what its mark column means, and each dialog's footer shows the dialog's own keys,
not those of the screen behind it (driven by Pilot at 120×36 over fixed runs)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.widgets import DataTable

from rft_tui.app import RftApp
from rft_tui.screens.ask_name import AskName
from rft_tui.screens.confirm import Confirm
from rft_tui.screens.export import ExportScreen
from rft_tui.screens.pick_path import PickPath
from rft_tui.screens.runs import MARK, RunsScreen
from rft_tui.screens.trust_reward import TrustRewardCode
from rft_tui.widgets.key_footer import KeyFooter
from tests.fixtures.fake_runs import failed_run, grpo_run
from tests.tui.test_app import SIZE, _until
from tests.tui.test_keyboard_flow import footer_keys


def _shown(screen) -> dict[str, str]:
    """The screen's own bindings that a footer should show: key → description."""
    return {b.key: b.description for b in screen.BINDINGS if b.show}


def test_the_mark_column_is_explained(tmp_path):
    grpo_run(tmp_path / "runs")
    failed_run(tmp_path / "runs")

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press("r")
            await _until(pilot, lambda: isinstance(app.screen, RunsScreen), what="the runs")
            await pilot.press("space")
            await pilot.pause()
            table = app.screen.query_one(DataTable)
            first = next(iter(table.columns.values()))
            assert str(first.label) == "marked" and table.get_row_at(0)[0] == MARK
            title = str(app.screen.query_one("#runs-title").render())
            assert f"{MARK} = marked with space" in title and "o overlays" in title and "(1 marked)" in title

    asyncio.run(scenario())


DIALOGS = {
    "export": None,  # opened with x on the runs screen, as a person does
    "confirm": lambda tmp: Confirm("Replace it?"),
    "ask-name": lambda tmp: AskName("A name:"),
    "pick-path": lambda tmp: PickPath(tmp, "Path for dataset.source"),
    "trust-reward": lambda tmp: TrustRewardCode("x.py:f", str(tmp / "x.py"),
                                                "def f(prompts, completions, **kw):\n    return []\n"),
}


@pytest.mark.parametrize("dialog", list(DIALOGS))
def test_a_dialog_shows_its_own_keys_in_the_footer(tmp_path: Path, dialog: str):
    grpo_run(tmp_path / "runs")

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press("r")
            await _until(pilot, lambda: isinstance(app.screen, RunsScreen), what="the runs")
            runs_keys = await footer_keys(pilot, app.screen)
            assert runs_keys.get("space") == "mark"
            if DIALOGS[dialog] is None:
                await pilot.press("x")
            else:
                app.push_screen(DIALOGS[dialog](tmp_path))
            await pilot.pause()
            await pilot.pause()
            screen = app.screen
            assert screen.is_modal and (dialog != "export" or isinstance(screen, ExportScreen))
            footer = screen.query_one(KeyFooter)
            # The dialog's footer is on the bottom line, over the runs screen's, and shows the dialog's keys.
            assert footer.region.y == SIZE[1] - 1
            keys = await footer_keys(pilot, screen)
            assert _shown(screen).items() <= keys.items() and "space" not in keys

    asyncio.run(scenario())
