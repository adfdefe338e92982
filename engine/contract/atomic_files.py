"""Atomic file writes: a reader sees the old file or the new one, never half."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any


def atomic_write_text(path: str | Path, text: str, durable: bool = True) -> None:
    """Write ``text`` to a temporary file beside ``path``, fsync it, then rename over.

    ``durable=False`` skips the fsync: readers still see the old file or the new
    one, but a power cut may lose the write. For files rewritten many times a
    second, where the fsync (~8 ms here) would cost more than the next write.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_json(path: str | Path, data: Any, durable: bool = True) -> None:
    """Write ``data`` as indented JSON, atomically (see ``atomic_write_text`` for ``durable``)."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n", durable)


def swap_dir(new: str | Path, target: str | Path) -> None:
    """Move the finished folder ``new`` to ``target``, replacing an old ``target`` by renames only."""
    new, target = Path(new), Path(target)
    if target.exists():
        old = target.with_name(f".{target.name}.replaced-{time.time_ns()}")
        os.replace(target, old)
        os.replace(new, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, target)
