"""Run ``python -m engine.export`` for the CLI and the UI, relaying its events (no torch here)."""

from __future__ import annotations

import sys
from typing import Any, Callable

from engine.contract.runs import RunDir
from rft_tui.engine_process import run_json_lines


def run_export(run: RunDir, fmt: str, source: str = "final", quant: str = "q8_0", replace: bool = False,
               on_event: Callable[[dict[str, Any]], None] | None = None, push_to: str | None = None,
               private: bool = False, push_existing: bool = False) -> dict[str, Any]:
    """Export to the end, then push to the Hub repo ``push_to`` if given (``push_existing``: push the export made
    before, without making it again); returns the final event: ``done`` (an ExportResult, with ``pushed``) or
    ``error`` (with ``log``, the file holding the traceback, when the export process crashed)."""
    command = [sys.executable, "-m", "engine.export", str(run.path), "--format", fmt, "--source", source,
               "--quant", quant] + (["--replace"] if replace else [])
    if push_to:
        command += ["--push-to-hub", push_to] + (["--private"] if private else []) + \
            (["--push-existing"] if push_existing else [])
    return run_json_lines(command, "export", on_event)
