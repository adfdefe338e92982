"""The local model folders runs were launched with, so the model picker can offer them again.

A small JSON list in rft's user cache, newest first, written atomically. It is a convenience: a
list that is missing or cannot be read is an empty one, a folder that has gone is left out when
the list is read, and a failure to write it never stops a launch. Two launches at the same moment
may each write the list they read, so one of the two folders can be lost; the next launch of it
records it again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from engine.contract.atomic_files import atomic_write_json
from engine.contract.user_cache import cache_dir

KEPT = 20  # folders remembered; older ones drop off the end


def recent_models_path() -> Path:
    """``$RFT_RECENT_MODELS`` (the test suite keeps its tiny models' folders out of the user's list), else
    ``recent_models.json`` in rft's cache."""
    return Path(os.environ.get("RFT_RECENT_MODELS") or cache_dir() / "recent_models.json")


def is_local_folder_name(name: str) -> bool:
    """Whether ``model.name`` names a folder, by the rule model resolution uses (it exists, or it reads as
    a path), rather than a hub id or 'default'."""
    return Path(name).expanduser().exists() or name.startswith((".", "/", "~"))


def _read() -> list[str]:
    try:
        data = json.loads(recent_models_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    folders = data.get("folders") if isinstance(data, dict) else None
    return [f for f in folders if isinstance(f, str)] if isinstance(folders, list) else []


def recent_model_folders() -> list[Path]:
    """The folders remembered, newest first, those that still exist."""
    return [Path(folder) for folder in _read() if Path(folder).is_dir()]


def record_model_folder(name: str) -> None:
    """Remember ``name`` (a ``model.name``) when it is a model folder, as an absolute path so the picker
    can offer it from any working directory; hub ids and 'default' are not recorded."""
    if not is_local_folder_name(name):
        return
    folder = Path(name).expanduser()
    if not (folder / "config.json").is_file():
        return  # not a model folder: the run fails on it, and the picker should not offer it
    folder = str(folder.resolve())
    kept = [folder] + [f for f in _read() if f != folder and Path(f).is_dir()]
    try:
        atomic_write_json(recent_models_path(), {"folders": kept[:KEPT]})
    except OSError:
        pass  # a read-only cache costs the picker a suggestion, not the run
