"""Write an export beside its target, then move it into place in one rename.

A reader (or a crash) sees the old export or the new one, never half of one.
A target that exists is replaced only when the caller asked to replace it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from engine.export import ExportError
from engine.contract.atomic_files import swap_dir


class ExportExists(ExportError):
    """The target export already exists and replacing it was not asked for."""


def check_target(target: Path, replace: bool) -> None:
    if target.exists() and not replace:
        raise ExportExists(f"{target} already exists. Export again with replace (--force on the command line) "
                           "to overwrite it, or move it away first.")


def staging_dir(target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.staging-", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp's private mode would follow the export into place
    return staging


def install(staging: Path, target: Path, replace: bool) -> None:
    """Move ``staging`` to ``target``; an old export is swapped out only if ``replace``."""
    check_target(target, replace)
    for path in staging.rglob("*"):  # what is renamed into place is on disk first
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    swap_dir(staging, target)


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
