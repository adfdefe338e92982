"""Switching the method while a field is wrong keeps what the user set (Pilot)."""

from __future__ import annotations

import asyncio

from textual.widgets import OptionList

from rft_tui.app import RftApp
from rft_tui.widgets.config_form import ConfigForm
from tests.tui.test_app import SIZE, _set, highlight


def test_a_method_switch_with_an_emptied_field_keeps_every_value_and_the_empty_one(tmp_path):
    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await _set(app, "training.max_steps", "7")
            await _set(app, "training.learning_rate", "")
            await pilot.pause()
            highlight(app.screen.query_one("#method-list", OptionList), "dpo")
            await pilot.press("enter")
            await pilot.pause()
            form = app.screen.query_one(ConfigForm)
            assert "method.beta" in form.fields  # the form is DPO's now
            values = form.values()
            assert values["training.max_steps"] == 7  # not the schema's default
            assert values["training.learning_rate"] == ""  # still empty, and still refused
            assert "training.learning_rate" in form.problems
            assert app.screen.config is None

    asyncio.run(scenario())
