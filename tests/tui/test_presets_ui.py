"""Saving, re-saving and deleting presets from the Setup screen."""

from __future__ import annotations

import asyncio

from textual.widgets import OptionList

from engine.contract.presets import load_config
from rft_tui.app import RftApp
from rft_tui.screens.confirm import Confirm
from rft_tui.widgets.config_form import ConfigForm
from tests.tui.test_app import highlight


def test_save_ask_before_overwrite_then_delete(tmp_path, monkeypatch):
    monkeypatch.setenv("RFT_PRESETS_DIR", str(tmp_path / "presets"))
    saved = tmp_path / "presets" / "quick.toml"

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.pause()
            form = app.screen.query_one(ConfigForm)
            (await form.reveal("training.max_steps")).value = "7"
            await pilot.pause()
            await pilot.press("ctrl+s")
            await pilot.pause()
            await pilot.press(*"quick", "enter")
            await pilot.pause()
            assert load_config(saved).training.max_steps == 7
            labels = [str(app.screen.query_one("#preset-list", OptionList).get_option_at_index(i).prompt)
                      for i in range(app.screen.query_one("#preset-list", OptionList).option_count)]
            assert any(label.startswith("quick") and "(yours)" in label for label in labels)

            # Saving again under the same name asks first; "n" keeps the file as it was.
            form = app.screen.query_one(ConfigForm)
            (await form.reveal("training.max_steps")).value = "9"
            await pilot.pause()
            await pilot.press("ctrl+s")
            await pilot.pause()
            await pilot.press(*"quick", "enter")
            await pilot.pause()
            assert isinstance(app.screen, Confirm)
            await pilot.press("n")
            await pilot.pause()
            assert load_config(saved).training.max_steps == 7

            # A shipped preset cannot be deleted; yours can, after a yes.
            options = app.screen.query_one("#preset-list", OptionList)
            highlight(options, "sft")
            await pilot.press("delete")
            await pilot.pause()
            assert not isinstance(app.screen, Confirm)
            highlight(options, "quick")
            await pilot.press("delete")
            await pilot.pause()
            assert isinstance(app.screen, Confirm)
            await pilot.press("y")
            await pilot.pause()
            assert not saved.exists()

    asyncio.run(scenario())
