"""Run ``python -m engine.export`` for the CLI and the UI, relaying its events (no torch here)."""

from __future__ import annotations

import sys
from typing import Any, Callable

from engine.contract.runs import RunDir
from rft_tui.engine_process import run_json_lines


def run_export(run: RunDir, fmt: str, source: str = "final", quant: str = "q8_0", replace: bool = False,
               on_event: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Export to the end; returns the final event: ``done`` (an ExportResult) or ``error`` (with ``log``, the file
    holding the traceback, when the export process crashed)."""
    command = [sys.executable, "-m", "engine.export", str(run.path), "--format", fmt, "--source", source,
               "--quant", quant] + (["--replace"] if replace else [])
    return run_json_lines(command, "export", on_event)
