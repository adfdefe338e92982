"""Export a run's result: the adapter, a merged model, or a GGUF for llama.cpp and Ollama.

Every export is written to a staging folder, read back the way its user would
read it and checked against the run's own adapter, and only then moved into
``runs/<run>/exports/<name>/``. An existing export is never replaced unless
the caller says so. This package's top level imports no torch: the UI and the
CLI use it to name targets and list sources; the work happens in
``python -m engine.export`` (see ``engine/export/__main__.py``).
"""

from __future__ import annotations

from pathlib import Path

from engine.contract.errors import ExplainedError
from engine.contract.runs import RunDir, complete_checkpoints, holds_weights

FORMATS = ("adapter", "merged", "gguf")
GGUF_QUANTS = ("f16", "q8_0", "q4_k_m", "q5_k_m", "q6_k")
CONVERTER_QUANTS = ("f16", "q8_0")  # written by llama.cpp's converter itself; smaller ones need llama-quantize
FINAL = "final"


class ExportError(ExplainedError, RuntimeError):
    """An export that cannot be made or did not pass its check; the message says why and what to do."""


def sources(run: RunDir) -> list[str]:
    """What a run can export: ``final`` (its adapter, or its whole model) and each checkpoint, newest first."""
    found = [FINAL] if holds_weights(run.adapter_dir) else []
    return found + [p.name for p in reversed(complete_checkpoints(run.checkpoints_dir))]


def source_dir(run: RunDir, source: str = FINAL) -> Path:
    """The adapter (or whole model) folder behind ``source`` (``final`` or ``checkpoint-N``)."""
    path = run.adapter_dir if source == FINAL else run.checkpoints_dir / source
    if not holds_weights(path):
        available = ", ".join(sources(run)) or "none yet: the run has saved no adapter"
        raise ExportError(f"{run.name} has no adapter at {source!r}. Exportable: {available}.")
    return path


def export_name(fmt: str, source: str = FINAL, quant: str = "q8_0") -> str:
    """The export's folder name: the format, its quantisation, and the checkpoint if not final."""
    name = f"gguf-{quant}" if fmt == "gguf" else fmt
    return name if source == FINAL else f"{name}-{source}"


def export_dir(run: RunDir, fmt: str, source: str = FINAL, quant: str = "q8_0") -> Path:
    return run.path / "exports" / export_name(fmt, source, quant)
