"""Pick the reward functions of a run and their weights (GRPO, PPO; also scores shown beside samples)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Input, Label, Static, Switch

from engine.rewards import BUILTIN_REWARDS
from rft_tui.widgets.config_form import ConfigForm


class RewardsPicker(VerticalScroll, can_focus=False):
    """One row per built-in reward: on/off, weight, and what it scores.

    Its rows are mounted the first time it is shown (``build``): it sits on a
    tab that is hidden when Setup opens, and the first screen's start-up time
    is its widget count. Until then ``values()`` is the preset's rewards.
    It takes no focus itself (its switches and weights do, and scroll it), so
    Tab never stops on a place that shows nothing.
    """

    def __init__(self, rewards: list[dict[str, Any]], **kwargs):
        super().__init__(**kwargs)
        self.chosen = {r["name"]: r for r in rewards}
        self.built = False

    def compose(self) -> ComposeResult:
        yield Static("Reward functions score each sampled answer; the total is their weighted sum.",
                     classes="form-help-top")

    async def build(self) -> None:
        """Mount one row per built-in reward (once)."""
        if self.built:
            return
        self.built = True
        await self.mount_all(list(self._rows()))

    def _rows(self):
        for name, info in BUILTIN_REWARDS.items():
            spec = self.chosen.get(name, {})
            yield Horizontal(Label(name, classes="form-label"),
                             Switch(value=name in self.chosen, id=f"reward-{name}-on"),
                             Input(str(spec.get("weight", 1.0)), id=f"reward-{name}-weight", classes="reward-weight"),
                             classes="form-row")
            yield Static(info.summary, classes="form-help")
        own = [name for name in self.chosen if name not in BUILTIN_REWARDS]
        if own:
            yield Static(f"also from the preset, your own: {', '.join(own)} (edit them with w, the reward workbench)",
                         classes="form-help-top")

    def values(self) -> list[dict[str, Any]]:
        """The chosen rewards as config entries (params kept from the preset)."""
        if not self.built:
            return list(self.chosen.values())
        rewards = []
        for name in BUILTIN_REWARDS:
            if not self.query_one(f"#reward-{name}-on", Switch).value:
                continue
            raw = self.query_one(f"#reward-{name}-weight", Input).value.strip()
            try:
                weight: Any = float(raw)
            except ValueError:
                weight = raw  # the schema refuses it, naming rewards.N.weight
            entry = {"name": name, "weight": weight}
            if self.chosen.get(name, {}).get("params"):
                entry["params"] = self.chosen[name]["params"]
            rewards.append(entry)
        # Rewards of your own (FILE.py:FUNCTION) come from the preset as they are.
        rewards += [spec for name, spec in self.chosen.items() if name not in BUILTIN_REWARDS]
        return rewards

    def on_switch_changed(self, event: Switch.Changed) -> None:
        self.post_message(ConfigForm.Edited())

    def on_input_changed(self, event: Input.Changed) -> None:
        self.post_message(ConfigForm.Edited())
