"""rft's cache folder: the converted built-in model and the full logs behind short error reports."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """rft's cache: ``$RFT_CACHE_DIR``, else ``$XDG_CACHE_HOME/rft``, else ``~/.cache/rft``."""
    if os.environ.get("RFT_CACHE_DIR"):
        return Path(os.environ["RFT_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rft"
