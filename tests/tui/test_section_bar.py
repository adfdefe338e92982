"""Setup's section bars: ←/→ and a click pick the form section whose fields are shown, and the pane
(parameters, rewards, dataset check) above it."""

from __future__ import annotations

import asyncio

from textual.widgets import ContentSwitcher

from rft_tui.app import RftApp
from rft_tui.widgets.config_form import ConfigForm, _dom_id
from rft_tui.widgets.section_bar import GAP, SectionBar


def test_arrows_and_clicks_pick_the_shown_section(tmp_path):
    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.pause()
            form = app.screen.query_one(ConfigForm)
            bar = form.query_one(SectionBar)
            assert form.active == "model" and app.screen.query(f"#{_dom_id('model.name')}")
            bar.focus()
            await pilot.press("right")
            await pilot.pause()
            assert form.active == bar.active == "dataset"
            assert app.screen.query(f"#{_dom_id('dataset.source')}") and not app.screen.query(f"#{_dom_id('model.name')}")
            await pilot.press("left", "left")  # past the first section: wraps round to the last
            await pilot.pause()
            assert form.active == "output"
            # A click on a name shows that section: "lora" starts after three names and their gaps.
            x = bar.styles.padding.left + sum(len(name) + GAP for name in ("model", "dataset", "training")) + 1
            await pilot.click("#form-sections", offset=(x, 0))
            await pilot.pause()
            assert form.active == "lora" and app.screen.query(f"#{_dom_id('lora.r')}")
            # The bar above the form picks the pane: → from parameters shows the rewards, built on first view.
            app.screen.query_one("#setup-tabs", SectionBar).focus()
            await pilot.press("right")
            await pilot.pause()
            assert app.screen.query_one("#setup-panes", ContentSwitcher).current == "tab-rewards"
            assert app.screen.query("#reward-format-on")

    asyncio.run(scenario())
