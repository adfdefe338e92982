"""The local Hugging Face cache, read from disk: where it is and which models it holds (no hub call, no torch).

The cache's layout is huggingface_hub's: ``<cache>/models--org--name/snapshots/<commit>/`` holds a
revision's files (links into ``blobs/``), and ``refs/main`` names the commit ``main`` stands for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def hub_cache_dir() -> Path:
    """The hub cache as the environment names it now: ``HF_HUB_CACHE``, else ``HF_HOME``/hub, else
    huggingface_hub's own setting (``~/.cache/huggingface/hub`` by default).

    huggingface_hub reads the environment once, when it is imported; reading it again here lets a
    setting made since (a test's, or a caller's) count, and the fall-back keeps any other way
    huggingface_hub was told (``XDG_CACHE_HOME``, its constant set in code).
    """
    for variable in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(variable):
            return Path(os.environ[variable]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def repo_folder(repo_id: str) -> Path:
    """Where the cache keeps ``repo_id`` (``org/name`` → ``models--org--name``), there or not."""
    return hub_cache_dir() / f"models--{repo_id.replace('/', '--')}"


def snapshot_dir(repo_id: str, revision: str | None = None) -> Path | None:
    """The snapshot folder of ``revision`` (``main`` by default) with a config.json, or None.

    ``refs/<revision>`` names the commit; a revision that is itself a commit is its own folder; without
    either, the newest snapshot with a config.json stands in (a cache copied without its refs).
    """
    repo = repo_folder(repo_id)
    ref = repo / "refs" / (revision or "main")
    try:
        commit = ref.read_text(encoding="utf-8").strip() if ref.is_file() else (revision or "")
    except OSError:
        commit = revision or ""
    if commit and (repo / "snapshots" / commit / "config.json").is_file():
        return repo / "snapshots" / commit
    found = [path.parent for path in (repo / "snapshots").glob("*/config.json")]
    return max(found, key=lambda path: path.stat().st_mtime) if found else None


@dataclass(frozen=True)
class CachedModel:
    """A model in the cache: its hub id and the snapshot ``main`` stands for."""

    repo_id: str
    snapshot: Path


def cached_models() -> list[CachedModel]:
    """Each model in the cache with a snapshot holding config.json, by id; a folder that is only a GGUF
    download, a dataset or an unfinished download is left out (nothing here could train it)."""
    root = hub_cache_dir()
    if not root.is_dir():
        return []
    found = []
    for entry in sorted(root.glob("models--*")):
        repo_id = entry.name.removeprefix("models--").replace("--", "/")
        snapshot = snapshot_dir(repo_id)
        if snapshot is not None:
            found.append(CachedModel(repo_id, snapshot))
    return found
