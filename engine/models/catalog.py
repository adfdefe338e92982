"""The models a person can pick: what is on this machine, read from disk without loading anything.

Three sources, listed in this order:

- the built-in model (``default``), whether it is converted yet or not;
- each model in the Hugging Face cache (``engine.models.hub_cache``), by its hub id;
- the local model folders runs were launched with (``engine.contract.recent_models``).

Each entry says what ``model.name`` to write, its architecture, its config.json (for the parameter
count and the memory estimate, which ``engine.planning.model_fit`` adds), its size on disk and its
chat template. A model whose config.json cannot be read is listed with a note saying so, never
raised: one broken download must not hide the others. No torch, transformers or peft here: the UI
imports this.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.contract.recent_models import recent_model_folders
from engine.models.chat_template import chat_template
from engine.models.hub_cache import cached_models
from engine.models.resolve import BUILTIN_CONFIG, DEFAULT_MODEL_TITLE, default_model_dir
from engine.models.templates import has_thinking_switch

SOURCES = ("built-in", "cache", "local")


@dataclass(frozen=True)
class ModelEntry:
    """One model to pick. ``config`` is None when its config.json could not be read (``note`` says why)."""

    name: str  # what goes in model.name: 'default', a hub id or a folder path
    source: str  # one of SOURCES
    folder: Path | None  # None for the built-in model before its conversion
    config: dict[str, Any] | None
    architecture: str  # config.json's architectures[0], else its model_type, else '?'
    disk_bytes: int | None  # the folder's own files (weights included); None when there is no folder
    has_template: bool | None  # None: not known (the folder's tokenizer files could not be read)
    thinking: str  # 'switch' (enable_thinking), 'always' (<think> without a switch), 'no', or '' (no template)
    note: str = ""

    @property
    def usable(self) -> bool:
        return self.config is not None


def _architecture(config: dict[str, Any] | None) -> str:
    if not config:
        return "?"
    architectures = config.get("architectures")
    if isinstance(architectures, list) and architectures and isinstance(architectures[0], str):
        return architectures[0]
    return str(config.get("model_type") or "?")


def _disk_bytes(folder: Path) -> int | None:
    """The size of the folder's own files, following the cache's links to its blobs; cheap because a model
    folder holds a handful of files (subfolders such as checkpoints are not counted)."""
    try:
        return sum(path.stat().st_size for path in folder.iterdir() if path.is_file())
    except OSError:
        return None


def thinking_kind(template: str | None) -> str:
    """How a chat template treats thinking: 'switch' when it reads ``enable_thinking``, 'always' when it
    writes ``<think>`` without a switch (a reasoning model's), 'no' otherwise, '' without a template."""
    if not template:
        return ""
    if has_thinking_switch(template):
        return "switch"
    return "always" if "<think>" in template else "no"


def _read_config(folder: Path) -> tuple[dict[str, Any] | None, str]:
    path = folder / "config.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, "no config.json in the folder: not a model saved with save_pretrained"
    except (OSError, UnicodeDecodeError) as error:
        return None, f"config.json cannot be read ({type(error).__name__}: {error})"
    except ValueError as error:
        return None, f"config.json is not valid JSON ({error}); the download may be broken"
    if not isinstance(data, dict):
        return None, "config.json holds no settings (not a JSON object)"
    return data, ""


def entry_for_folder(name: str, source: str, folder: Path) -> ModelEntry:
    """What a model folder holds, read from its config.json and tokenizer files."""
    config, note = _read_config(folder)
    try:
        template, _ = chat_template(folder)
    except (OSError, ValueError) as error:  # a tokenizer_config.json that is not JSON
        template, note = None, note or f"its tokenizer_config.json cannot be read ({error})"
        known = False
    else:
        known = True
    return ModelEntry(name, source, folder, config, _architecture(config), _disk_bytes(folder),
                      (template is not None) if known else None, thinking_kind(template) if known else "", note)


def builtin_entry() -> ModelEntry:
    """The built-in model: its converted folder when there is one, else what its GGUF is known to hold."""
    folder = default_model_dir()
    if (folder / "config.json").is_file():
        return entry_for_folder("default", "built-in", folder)
    # SmolLM2-135M-Instruct's GGUF carries a ChatML template without thinking; it is read on the first run.
    return ModelEntry("default", "built-in", None, BUILTIN_CONFIG, _architecture(BUILTIN_CONFIG), None, True, "no",
                      f"{DEFAULT_MODEL_TITLE}, converted from its GGUF on the first run (~20 s)")


def list_models() -> list[ModelEntry]:
    """Every model to pick: the built-in one, the Hugging Face cache's, then the local folders used before."""
    entries = [builtin_entry()]
    entries += [entry_for_folder(model.repo_id, "cache", model.snapshot) for model in cached_models()]
    entries += [entry_for_folder(str(folder), "local", folder) for folder in recent_model_folders()]
    return entries
