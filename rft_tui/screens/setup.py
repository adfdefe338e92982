"""Setup: pick a preset and a method, edit the parameters, press t to train.

The form is generated from the config schema, so every field's help is its
description and every bound is checked as you type; the run starts only from
a config that validates. ctrl+b fills a field with a path, ctrl+o fills model.name
from the models on this machine (``field_pickers``).
"""

from __future__ import annotations

import copy
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Input, OptionList, Select, Static, Switch
from textual.widgets.option_list import Option

from engine.contract.config import (
    ConfigError,
    DatasetConfig,
    EvalConfig,
    LoraConfig,
    ModelConfig,
    RunConfig,
    TrainingConfig,
    config_from_dict,
)
from engine.contract.distributed_config import DistributedConfig
from engine.contract.output_config import OutputConfig
from engine.contract.presets import check_name, delete_preset, save_preset
from engine.methods import METHODS
from engine.planning.preflight import Report, check as preflight_check
from rft_tui.preset_values import all_presets, preset_options, validated_base
from rft_tui.screens.ask_name import AskName
from rft_tui.screens.confirm import Confirm
from rft_tui.screens.field_pickers import FieldPickers
from rft_tui.widgets.config_form import ConfigForm
from rft_tui.widgets.dataset_check import DatasetCheck
from rft_tui.widgets.key_footer import KeyFooter
from rft_tui.widgets.rewards_picker import RewardsPicker
from rft_tui.widgets.section_bar import SectionBar
from rft_tui.widgets.verdict import Verdict, verdict_lines

# The right pane's views, by the name the bar above them shows.
PANES = {"parameters": "tab-parameters", "rewards": "tab-rewards", "dataset check": "tab-dataset"}
FORM_SECTIONS = (("model", ModelConfig), ("dataset", DatasetConfig), ("training", TrainingConfig),
                 ("lora", LoraConfig), ("eval", EvalConfig))
AFTER_METHOD = (("distributed", DistributedConfig), ("output", OutputConfig))  # rarely changed: last in the bar


class SetupScreen(FieldPickers, Screen):
    """Preset and method on the left, the generated form on the right, the verdict below."""

    BINDINGS = [
        Binding("t", "train", "train"),
        # While a form field has focus, t is a letter: ctrl+t trains from anywhere.
        Binding("ctrl+t", "train", "train", show=False, priority=True),
        Binding("ctrl+s", "save_preset", "save preset", priority=True),
        Binding("delete", "delete_preset", "delete preset"),
        Binding("ctrl+b", "browse", "browse for a path", priority=True),
        Binding("ctrl+o", "pick_model", "pick a model", priority=True),
        Binding("r", "app.switch_mode('runs')", "runs"),
        Binding("w", "app.switch_mode('rewards')", "rewards"),
        Binding("d", "app.switch_mode('dashboard')", "dashboard"),
        Binding("q", "app.quit", "quit"),
        # In a field the letters above are typing: esc leaves it for the section bar, where they work.
        Binding("escape", "leave_field", "leave field"),
    ]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.presets = all_presets()
        self.base: dict[str, Any] = copy.deepcopy(self.presets["sft"][1] if "sft" in self.presets else {})
        self.config: RunConfig | None = None
        self._invalid_paths: set[str] = set()  # base values the form could not show as valid (see _sections)
        self._checked: str | None = None  # what the dataset check last looked at
        self.report: Report | None = None  # the pre-flight check of ``config``
        self._train_when_checked: str | None = None  # the config t was pressed on while its data was read

    def compose(self) -> ComposeResult:
        with Horizontal(id="setup-body"):
            with Vertical(id="setup-left"):
                yield Static("Presets", classes="pane-title")
                yield OptionList(*preset_options(self.presets), id="preset-list")
                yield Static("Method", classes="pane-title")
                yield OptionList(*[Option(Text.assemble((s.title.ljust(7), "bold"), s.summary), id=s.name)
                                   for s in METHODS.values()], id="method-list")
            with Vertical(id="setup-right"):
                yield Static(id="method-help")
                yield SectionBar(list(PANES), "parameters", id="setup-tabs")
                with ContentSwitcher(initial=PANES["parameters"], id="setup-panes"):
                    with Vertical(id=PANES["parameters"]):
                        yield ConfigForm(self._sections(), id="config-form")
                    with Vertical(id=PANES["rewards"]):
                        yield RewardsPicker(self.base.get("rewards", []), id="rewards-picker")
                    with Vertical(id=PANES["dataset check"]):
                        yield DatasetCheck(id="dataset-check")
        yield Verdict(id="verdict")
        yield KeyFooter()

    def _sections(self) -> list[tuple[str, type, Any]]:
        config, self._invalid_paths = validated_base(self.base)
        method = config.method
        return [(name, model, getattr(config, name)) for name, model in FORM_SECTIONS] + \
            [("method", type(method), method)] + \
            [(name, model, getattr(config, name)) for name, model in AFTER_METHOD]

    def on_mount(self) -> None:
        presets = self.query_one("#preset-list", OptionList)
        presets.highlighted = list(self.presets).index("sft") if "sft" in self.presets else 0
        # Highlighting scrolls the loaded preset into view; the list should open at its top, every
        # preset from the first one on in view (after the highlight's own scroll).
        self.call_after_refresh(presets.scroll_home, animate=False)
        self._sync_method_list()
        self.validate()

    def on_screen_resume(self) -> None:
        # Coming back (from the dashboard, say), Textual gives the focus back to the field that had it, where
        # the next letter would be typed into the field ('12q' for q): back on Setup, letters are keys. Back
        # from a picker of the field's value, the focus stays on the field it filled.
        if not self.back_from_picker() and self._field_focused():
            self.action_leave_field()

    def _field_focused(self) -> bool:
        """Whether the focus is in one of the right pane's fields (an input, switch or select)."""
        focused = self.focused
        return isinstance(focused, (Input, Switch, Select)) and \
            any(node.id == "setup-panes" for node in focused.ancestors)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Keys that act on what has focus show in the footer (and work) only where they do something.
        if action == "leave_field":
            return self._field_focused()
        if action == "browse":
            return isinstance(self.focused, Input) and self._field_focused()
        if action == "pick_model":
            return self._model_name_focused()
        if action == "delete_preset":
            return self.focused is not None and self.focused.id == "preset-list"
        return True

    def action_leave_field(self) -> None:
        """Move the focus from a field to the section bar above it (the form's, or the pane bar)."""
        in_form = any(isinstance(node, ConfigForm) for node in self.focused.ancestors)
        self.query_one("#form-sections" if in_form else "#setup-tabs", SectionBar).focus()

    def _sync_method_list(self) -> None:
        name = self.base.get("method", {}).get("name", "sft")
        self.query_one("#method-list", OptionList).highlighted = list(METHODS).index(name)
        spec = METHODS[name]
        rewards = ", ".join(r["name"] for r in self.base.get("rewards", [])) or "none"
        self.query_one("#method-help", Static).update(Text.assemble(
            (f"{spec.title}: ", "bold"), spec.summary, "\n",
            ("Needs: ", "bold"), ", ".join(spec.formats), "   ", ("Rewards: ", "bold"), rewards))

    async def _rebuild_form(self) -> None:
        old = self.query_one(ConfigForm)
        await old.remove()
        # The section in view stays in view: switching preset or method should not move the user.
        form = ConfigForm(self._sections(), active=old.active, id="config-form")
        for path in self._invalid_paths & old.raw.keys() & form.raw.keys():
            form.raw[path] = old.raw[path]  # what was typed stays on screen, still marked as a problem
        await self.query_one("#tab-parameters").mount(form)
        old_picker = self.query_one(RewardsPicker)
        await old_picker.remove()
        picker = RewardsPicker(self.base.get("rewards", []), id="rewards-picker")
        await self.query_one("#tab-rewards").mount(picker)
        if old_picker.built:
            await picker.build()
        self._sync_method_list()
        self.validate()

    async def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "preset-list":
            self.base = copy.deepcopy(self.presets[event.option.id][1])
        else:
            self._apply_form()
            if self.base.get("method", {}).get("name") != event.option.id:
                self.base["method"] = {"name": event.option.id}
        await self._rebuild_form()

    async def on_section_bar_changed(self, event: SectionBar.Changed) -> None:
        await self.show_pane(event.section)

    async def show_pane(self, name: str) -> None:
        """Show the right pane's view ``name`` (a key of ``PANES``); the rewards' rows are built on first view."""
        self.query_one("#setup-tabs", SectionBar).active = name
        self.query_one("#setup-panes", ContentSwitcher).current = PANES[name]
        if name == "rewards":
            await self.query_one(RewardsPicker).build()

    def on_config_form_edited(self, event: ConfigForm.Edited) -> None:
        self.validate()
        self._sync_method_list()

    def _apply_form(self) -> dict[str, Any]:
        """The base preset with the form's values written in; returns it."""
        form = self.query_one(ConfigForm)
        for path, value in form.values().items():
            section, _, key = path.rpartition(".")
            node = self.base.setdefault(section, {}) if section else self.base
            if value is None:
                node.pop(key, None)
            else:
                node[key] = value
        rewards = self.query_one(RewardsPicker).values()
        if rewards:
            self.base["rewards"] = rewards
        else:
            self.base.pop("rewards", None)
        return self.base

    def validate(self) -> RunConfig | None:
        """Check the whole config, and what the pre-flight check knows of it; show the verdict and each
        field's error. Returns the config when it validates, even if the run would fail (it can be saved)."""
        form = self.query_one(ConfigForm)
        verdict = self.query_one("#verdict", Verdict)
        try:
            self.config = config_from_dict(copy.deepcopy(self._apply_form()))
        except ConfigError as error:
            self.config, self.report = None, None
            form.show_errors({path: reason for path, reason in error.problems})
            verdict.show([("✗", f"{p}: {r}") for p, r in error.problems])
            return None
        c = self.config
        self.app.setup_config = c
        check = self.query_one(DatasetCheck)
        checked = f"{c.dataset.model_dump_json()}|{c.model.name}|{c.method_name}|{c.model.start_from}|" \
                  f"{getattr(c.method, 'rm_dataset', None)}|{c.eval.source}|{c.eval.split}"
        if checked != self._checked:  # re-check only when what it reads has changed
            first = self._checked is None
            self._checked = checked
            # The first check waits until the screen is up, so it does not slow the first paint. When the timer
            # fires it checks the config as it is then: a preset loaded meanwhile started its own check, which
            # a check of the first config, started later, would cancel (the check is one exclusive worker).
            self.set_timer(0.5, lambda: check.check(self.config or c)) if first else check.check(c)
        # The datasets come from the dataset check's thread; until they are read the verdict says so.
        self.report = preflight_check(c, check.readings, outside_rewards_ok=True)
        form.show_errors({f.path: f.message for f in self.report.problems})
        verdict.show(verdict_lines(c, self.report))
        return c

    def on_dataset_check_checked(self, event: DatasetCheck.Checked) -> None:
        self.validate()
        if self._train_when_checked is None or (self.report is not None and self.report.pending):
            return
        wanted, self._train_when_checked = self._train_when_checked, None
        if self.config is not None and self.config.model_dump_json() == wanted:
            self.action_train()  # t was pressed while checking: start now, or say why not

    def action_train(self) -> None:
        config = self.validate()
        if config is None:
            self.notify("fix the problems shown below the form first", severity="error")
            return
        if self.report.problems:
            first = self.report.problems[0]
            more = len(self.report.problems) - 1
            self.notify(f"not started, it would fail: {first.path}: {first.message}" +
                        (f" (and {more} more below the form)" if more else ""), severity="error", timeout=8)
            return
        if self.report.pending:
            self._train_when_checked = config.model_dump_json()
            self.notify("checking the dataset first; the run starts once it passes")
            return
        from engine.rewards.user_files import RewardError, adopt, is_outside, reward_path

        outside = [r.name for r in config.rewards if ":" in r.name and is_outside(r.name)]
        if not outside:
            self.app.start_training(config)
            return
        ref = outside[0]
        path = reward_path(ref)
        if not path.is_file():
            self.notify(f"reward file {path} does not exist", severity="error")
            return

        def decided(yes: bool) -> None:
            if not yes:
                self.notify(f"not started: {ref} was not trusted", severity="warning")
                return
            try:
                adopted = adopt(ref)
            except RewardError as error:
                self.notify(str(error), severity="error")
                return
            for spec in self.base.get("rewards", []):
                if spec.get("name") == ref:
                    spec["name"] = adopted
            self.query_one(RewardsPicker).chosen = {r["name"]: r for r in self.base.get("rewards", [])}
            self.notify(f"copied into your rewards folder as {adopted}")
            self.action_train()  # the next outside file, if any, or the start

        from rft_tui.screens.trust_reward import TrustRewardCode  # its code viewer loads only when needed

        self.app.push_screen(TrustRewardCode(ref, str(path), path.read_text(encoding="utf-8")), decided)

    def action_save_preset(self) -> None:
        config = self.validate()
        if config is None:
            self.notify("fix the problems shown below the form before saving", severity="error")
            return
        self.app.push_screen(AskName("Save this setup as preset:", check=check_name), self._save_as)

    def _save_as(self, name: str | None, overwrite: bool = False) -> None:
        if not name or self.config is None:
            return
        try:
            path = save_preset(self.config, name, overwrite=overwrite)
        except FileExistsError:
            self.app.push_screen(Confirm(f"A preset {name!r} exists. Overwrite it?"),
                                 lambda yes: self._save_as(name, overwrite=True) if yes else None)
            return
        self.notify(f"saved {path}")
        self._reload_presets(select=name)

    def action_delete_preset(self) -> None:
        options = self.query_one("#preset-list", OptionList)
        if options.highlighted is None:
            return
        name = options.get_option_at_index(options.highlighted).id
        if self.presets[name][0]:
            self.notify(f"{name!r} is a shipped preset and cannot be deleted", severity="warning")
            return

        def delete(yes: bool) -> None:
            if yes:
                delete_preset(name)
                self.notify(f"deleted preset {name!r}")
                self._reload_presets()

        self.app.push_screen(Confirm(f"Delete your preset {name!r}?"), delete)

    def _reload_presets(self, select: str | None = None) -> None:
        self.presets = all_presets()
        options = self.query_one("#preset-list", OptionList)
        options.clear_options()
        options.add_options(preset_options(self.presets))
        if select in self.presets:
            options.highlighted = list(self.presets).index(select)
