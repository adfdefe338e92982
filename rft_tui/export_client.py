"""Run ``python -m engine.export`` for the CLI and the UI, relaying its events (no torch here)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any, Callable

from engine.contract.runs import RunDir


def run_export(run: RunDir, fmt: str, source: str = "final", quant: str = "q8_0", replace: bool = False,
               on_event: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Export to the end; returns the final event: ``done`` (an ExportResult) or ``error`` (with ``log``, the file
    holding the traceback, when the export process crashed)."""
    command = [sys.executable, "-m", "engine.export", str(run.path), "--format", fmt, "--source", source,
               "--quant", quant] + (["--replace"] if replace else [])
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               stdin=subprocess.DEVNULL)
    final: dict[str, Any] | None = None
    for line in process.stdout:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue  # a library printing to stdout; the events are what count
        if event.get("event") in {"done", "error"}:
            final = event
        elif on_event:
            on_event(event)
    stderr = process.stderr.read()
    process.wait()
    if final is None:  # it crashed: a bug of rft's or of a library, whose traceback goes to a log
        from engine.contract.user_traceback import keep_full

        tail = stderr.strip().splitlines()[-1:] or [f"exit code {process.returncode}"]
        final = {"event": "error", "exists": False,
                 "message": f"the export process ended without a result: {tail[0]}", "traceback": stderr,
                 "log": str(keep_full("export", stderr))}
    return final
