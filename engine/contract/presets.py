"""Presets: the shipped ones (read-only) and the user's own (saved, loaded, deleted), and loading one.

User presets live in ``$RFT_PRESETS_DIR``, else ``$XDG_CONFIG_HOME/rft/presets``,
else ``~/.config/rft/presets``. A user preset with a shipped preset's name is
refused, so a name always means one file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from engine.contract.config import (
    PRESETS_DIR,
    ConfigError,
    RunConfig,
    apply_overrides,
    config_from_dict,
    parse_toml,
    save_config,
)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# Shipped presets in the order a newcomer meets them (the README's methods table): SFT first, so the
# preset Setup opens on is also the first one in its list; presets not named here follow by name.
SHIPPED_ORDER = ("sft", "rm", "dpo", "kto", "orpo", "grpo", "ppo", "rm_ppo")


@dataclass(frozen=True)
class PresetInfo:
    """One preset file and where it comes from."""

    name: str
    path: Path
    shipped: bool


def user_presets_dir() -> Path:
    if os.environ.get("RFT_PRESETS_DIR"):
        return Path(os.environ["RFT_PRESETS_DIR"])
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "rft" / "presets"


def list_presets() -> list[PresetInfo]:
    """Shipped presets in ``SHIPPED_ORDER``, then the user's, sorted by name."""
    rank = {name: i for i, name in enumerate(SHIPPED_ORDER)}
    files = sorted(PRESETS_DIR.glob("*.toml"), key=lambda p: (rank.get(p.stem, len(rank)), p.stem))
    shipped = [PresetInfo(p.stem, p, True) for p in files]
    mine = user_presets_dir()
    own = [PresetInfo(p.stem, p, False) for p in sorted(mine.glob("*.toml"))] if mine.is_dir() else []
    return shipped + own


def check_name(name: str) -> str:
    """A usable preset name, or ValueError saying why not."""
    if not _NAME.match(name):
        raise ValueError("a preset name is letters, digits, '-', '_' or '.', starting with a letter or digit")
    if (PRESETS_DIR / f"{name}.toml").exists():
        raise ValueError(f"{name!r} is a shipped preset; choose another name")
    return name


def save_preset(config: RunConfig, name: str, overwrite: bool = False) -> Path:
    """Write ``config`` as the user preset ``name`` (atomically; never over a file unless asked)."""
    return save_config(config, user_presets_dir() / f"{check_name(name)}.toml", overwrite=overwrite)


def delete_preset(name: str) -> Path:
    """Delete the user preset ``name``; shipped presets cannot be deleted."""
    if (PRESETS_DIR / f"{name}.toml").exists():
        raise PermissionError(f"{name!r} is a shipped preset and cannot be deleted")
    path = user_presets_dir() / f"{name}.toml"
    if not path.is_file():
        raise FileNotFoundError(f"no preset {name!r} in {user_presets_dir()}")
    path.unlink()
    return path


def resolve_preset_path(name_or_path: str | Path) -> Path:
    """A preset file path, or the name of a shipped or saved preset ('sft' → presets/sft.toml)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    for preset in list_presets():
        if preset.name == str(name_or_path):
            return preset.path
    known = ", ".join(p.name for p in list_presets())
    raise ConfigError([("", f"no preset file {str(name_or_path)!r}; presets: {known}")])


def load_config(name_or_path: str | Path, overrides: list[str] | None = None) -> RunConfig:
    """Load a preset (file or shipped name) and apply ``key=value`` overrides."""
    path = resolve_preset_path(name_or_path)
    data = parse_toml(path.read_text(encoding="utf-8"), str(path))
    apply_overrides(data, overrides or [], str(path))
    return config_from_dict(data, str(path))
