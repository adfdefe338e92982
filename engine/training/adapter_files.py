"""Writing an adapter folder so that a kill never leaves half of one (worker only)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from engine.contract.atomic_files import swap_dir


def save_adapter(model: Any, tokenizer: Any, target: Path) -> None:
    """Write the adapter and tokenizer to a temporary folder, then rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        swap_dir(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
