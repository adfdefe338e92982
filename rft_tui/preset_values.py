"""The Setup screen's presets and starting values: every preset parsed, each as the preset list shows
it, and a base that validates, less the values that did not."""

from __future__ import annotations

import copy
from typing import Any

from rich.text import Text
from textual.widgets.option_list import Option

from engine.contract.config import ConfigError, RunConfig, config_from_dict, parse_toml
from engine.contract.presets import list_presets


def _pop_path(data: dict[str, Any], path: str) -> bool:
    """Remove the value at dotted ``path`` from nested dicts; False where there is none to remove."""
    *parents, key = path.split(".")
    for name in parents:
        data = data.get(name) if isinstance(data, dict) else None
    if not isinstance(data, dict) or key not in data:
        return False
    del data[key]
    return True


def all_presets() -> dict[str, tuple[bool, dict[str, Any]]]:
    """Every preset by name: (shipped?, parsed TOML). An unreadable user preset is left out."""
    found = {}
    for preset in list_presets():
        try:
            found[preset.name] = (preset.shipped, parse_toml(preset.path.read_text(encoding="utf-8"), str(preset.path)))
        except (ConfigError, OSError, UnicodeDecodeError):
            continue
    return found


def validated_base(base: dict[str, Any]) -> tuple[RunConfig, set[str]]:
    """The base as a config for the form, and the paths whose values it had to leave out.

    A value that does not validate (an emptied field, a typo) is left out, not the whole base: a
    method switch while one field is wrong keeps every other value the user set.
    """
    data, left_out = copy.deepcopy(base), set()
    for _ in range(3):  # leaving a value out can bring up another problem, found on the next pass
        try:
            return config_from_dict(data), left_out
        except ConfigError as error:
            dropped = {path for path, _ in error.problems if _pop_path(data, path)}
            if not dropped:
                break
            left_out |= dropped
    return RunConfig(), left_out


def preset_options(presets: dict[str, tuple[bool, dict[str, Any]]]) -> list[Option]:
    """One entry per preset for the list: its name, "(yours)" for a user's own, and its whole description."""
    options = []
    for name, (shipped, data) in presets.items():
        # The whole description: the list wraps it over as many lines as it needs.
        label = Text.assemble((name.ljust(7), "bold"), ("" if shipped else ("(yours) ", "italic green")),
                              data.get("description", ""))
        options.append(Option(label, id=name))
    return options
