"""Moving about Setup and the reward workbench with the keyboard, driven by Pilot at 120×36: every Tab
stop is something you can use, the help follows the focus and shows whole, esc leaves a field, and the
footer names what each key does where the focus is."""

from __future__ import annotations

import asyncio

from textual.widgets import Label, OptionList, TextArea
from textual.widgets._footer import FooterKey

from engine.methods import METHODS
from rft_tui.app import RftApp
from rft_tui.screens.rewards import RewardsScreen
from rft_tui.screens.runs import RunsScreen
from rft_tui.widgets.config_form import HOW_TO_MOVE, ConfigForm, _dom_id
from rft_tui.widgets.key_footer import KeyFooter
from tests.tui.test_app import SIZE, _until, highlight, open_rewards


async def footer_keys(pilot, screen) -> dict[str, str]:
    """What the screen's footer shows (key → description) once its rebuild is done.

    The footer rebuilds itself after a focus or screen change, removing its keys and mounting new ones; on a
    loaded machine that can take more than one pause, so wait until it shows keys and stops changing.
    """
    shown: dict[str, str] | None = None
    for _ in range(40):
        await pilot.pause()
        now = {key.key: key.description for key in screen.query_one(KeyFooter).query(FooterKey)}
        if now and now == shown:
            break
        shown = now
    return shown or {}


def _help_is_whole(app: RftApp) -> bool:
    """The help line's text, wrapped at its width, fits in the lines it has on screen."""
    help_line = app.screen.query_one("#field-help")
    lines = help_line.render().wrap(help_line.content_region.width)
    return len(lines) <= help_line.content_region.height


def test_tab_goes_from_the_section_bar_to_the_first_field_and_the_help_follows_whole(tmp_path):
    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            form = app.screen.query_one(ConfigForm)
            help_line = app.screen.query_one("#field-help")
            for section in form.section_names:
                form.query_one("#form-sections").focus()
                await form.show_section(section)
                await pilot.pause()
                assert str(help_line.render()) == HOW_TO_MOVE  # no field's help while the bar has focus
                paths = [path for path in form.paths if form.fields[path].section == section]
                for path in paths:  # Tab stops at each field in turn, nowhere in between
                    await pilot.press("tab")
                    await pilot.pause()
                    assert app.focused.id == _dom_id(path), (section, path, app.focused)
                    # The help line shows this field's whole description, wrapped, not its first lines.
                    assert str(help_line.render()) == f"{path}: {form.fields[path].description}"
                    assert _help_is_whole(app), path
                if len(paths) > 1:
                    await pilot.press("shift+tab")
                    await pilot.pause()
                    assert app.focused.id == _dom_id(paths[-2])

            # Shift+Tab from the first field is back on the bar, and the help says how to move again.
            form.query_one("#form-sections").focus()
            await pilot.press("tab", "shift+tab")
            await pilot.pause()
            assert app.focused.id == "form-sections" and str(help_line.render()) == HOW_TO_MOVE

    asyncio.run(scenario())


def test_esc_leaves_a_field_so_that_the_letter_keys_work(tmp_path):
    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            field = await app.screen.query_one(ConfigForm).reveal("training.learning_rate")
            field.focus()
            await pilot.pause()
            keys = await footer_keys(pilot, app.screen)
            # In a field the letters are typing: the footer does not offer them, and says how to get out.
            assert keys.get("escape") == "leave field" and "r" not in keys and "q" not in keys
            await pilot.press("end", "r")
            await pilot.pause()
            assert field.value.endswith("r") and not isinstance(app.screen, RunsScreen)
            await pilot.press("backspace", "escape")
            await pilot.pause()
            assert app.focused.id == "form-sections"
            keys = await footer_keys(pilot, app.screen)
            assert keys.get("r") == "runs" and keys.get("w") == "rewards" and keys.get("q") == "quit"
            assert "escape" not in keys and keys.get("right") == "section"
            # A select's open list is part of its field: the help stays, and the first esc only closes it.
            select = await app.screen.query_one(ConfigForm).reveal("training.lr_scheduler")
            select.focus()
            await pilot.press("enter")
            await pilot.pause()
            assert select.expanded and str(app.screen.query_one("#field-help").render()).startswith("training.lr_")
            await pilot.press("escape")
            await pilot.pause()
            assert not select.expanded and app.focused is select
            await pilot.press("escape")
            await pilot.pause()
            assert app.focused.id == "form-sections"
            await pilot.press("r")
            await pilot.pause()
            assert isinstance(app.screen, RunsScreen)
            # Back on Setup, a weight on the rewards pane: esc goes to the bar above that pane.
            await pilot.press("escape")
            await pilot.pause()
            await app.screen.show_pane("rewards")
            app.screen.query_one("#reward-format-weight").focus()
            await pilot.pause()
            await pilot.press("escape")
            await pilot.pause()
            assert app.focused.id == "setup-tabs"
            # Tab from that bar goes to the first row's switch: the picker itself is no Tab stop.
            await pilot.press("tab")
            await pilot.pause()
            assert app.focused.id == "reward-format-on"

    asyncio.run(scenario())


def test_the_reward_editor_footer_says_what_esc_does(tmp_path, monkeypatch):
    monkeypatch.setenv("RFT_REWARDS_DIR", str(tmp_path / "rewards"))
    (tmp_path / "rewards").mkdir()
    (tmp_path / "rewards" / "mine.py").write_text("def brief(prompts, completions, **kw):\n    return [0.0]\n")

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await open_rewards(app, pilot)
            app.screen.refresh_files(select="mine.py")
            app.screen.query_one(TextArea).focus()
            await pilot.pause()
            assert (await footer_keys(pilot, app.screen)).get("escape") == "leave editor"
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, RewardsScreen) and app.focused.id == "reward-files"
            assert (await footer_keys(pilot, app.screen)).get("escape") == "setup"
            app.screen.query_one("#dry-run-text").focus()
            await pilot.pause()
            assert (await footer_keys(pilot, app.screen)).get("escape") == "leave field"
            await pilot.press("escape")
            await pilot.pause()
            assert app.focused.id == "reward-files"
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, RewardsScreen)

    asyncio.run(scenario())


def test_every_label_fits_whole_for_every_method(tmp_path):
    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            seen = set()
            for method in METHODS:
                highlight(app.screen.query_one("#method-list", OptionList), method)
                await pilot.press("enter")
                await pilot.pause()
                form = app.screen.query_one(ConfigForm)
                for section in form.section_names:
                    await form.show_section(section)
                    await pilot.pause()
                    for label in form.query(".form-label").results(Label):
                        name = str(label.render())
                        seen.add(name)
                        # One line, the whole name: no "gradient_accumulation_s" / "teps".
                        assert label.content_region.width >= len(name), (method, section, name)
            assert "gradient_accumulation_steps" in seen

    asyncio.run(scenario())


def test_the_preset_list_opens_at_its_top_with_whole_descriptions(tmp_path):
    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.pause()
            presets = app.screen.query_one("#preset-list", OptionList)
            assert presets.get_option_at_index(presets.highlighted).id == "sft"  # the loaded one
            # The list is longer than its view, and opens with the first presets in view.
            assert presets.max_scroll_y > 0 and presets.scroll_y == 0
            assert presets.highlighted == 0  # so the loaded preset is in view too
            for i in range(presets.option_count):
                option = presets.get_option_at_index(i)
                description = app.screen.presets[option.id][1].get("description", "")
                assert description and str(option.prompt).endswith(description)

    asyncio.run(scenario())


def test_back_on_setup_the_letter_keys_work_even_if_a_field_had_the_focus(tmp_path):
    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            field = await app.screen.query_one(ConfigForm).reveal("training.max_steps")
            field.focus()
            await pilot.press("ctrl+a", *"12")  # ctrl+a: to the start of the field, before the old value
            await pilot.pause()
            app.switch_mode("runs")  # any other screen, as a run started from this field would be
            await pilot.pause()
            await pilot.press("escape")  # back to Setup
            await pilot.pause()
            assert app.screen.id != "runs" and app.focused.id == "form-sections"
            await pilot.press("q")  # quits, rather than typing 'q' into max_steps
            await pilot.pause()
            assert "q" not in field.value

    asyncio.run(scenario())


def test_a_new_or_opened_reward_file_has_the_editor_focused(tmp_path, monkeypatch):
    monkeypatch.setenv("RFT_REWARDS_DIR", str(tmp_path / "rewards"))
    (tmp_path / "rewards").mkdir()
    (tmp_path / "rewards" / "old.py").write_text("def old(prompts, completions, **kw):\n    return [0.0]\n")

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await open_rewards(app, pilot)
            await pilot.press("enter")  # the first file is highlighted: enter opens it
            await pilot.pause()
            assert app.screen.path.name == "old.py" and isinstance(app.focused, TextArea)
            await pilot.press("ctrl+n")
            await pilot.pause()
            await pilot.press(*"mine", "enter")
            await _until(pilot, lambda: app.screen.path is not None, what="the new file")
            assert isinstance(app.focused, TextArea)  # typing goes into the template, not the file list
            await pilot.press("escape")
            await pilot.pause()
            files = app.screen.query_one("#reward-files", OptionList)
            assert app.focused is files
            files.highlighted = [str(files.get_option_at_index(i).prompt) for i in range(files.option_count)].index(
                "old.py")
            await pilot.press("enter")
            await pilot.pause()
            assert app.screen.path.name == "old.py" and isinstance(app.focused, TextArea)

    asyncio.run(scenario())
