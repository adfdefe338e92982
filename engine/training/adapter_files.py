"""Writing an adapter folder so that a kill never leaves half of one (worker only)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from engine.contract.atomic_files import swap_dir
from engine.training.ranks import Ranks


def save_adapter(model: Any, tokenizer: Any, target: Path) -> None:
    """Write the adapter and tokenizer to a temporary folder, then rename it into place. In a job of several
    processes only rank 0 writes: every rank holds the same weights, and one writer keeps the swap whole."""
    if not Ranks.from_env().is_main:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        swap_dir(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
