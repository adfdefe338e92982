"""Run an engine process that reports in JSON lines (export, compare), relaying its events (no torch here)."""

from __future__ import annotations

import json
import subprocess
from typing import Any, Callable


def run_json_lines(command: list[str], what: str, on_event: Callable[[dict[str, Any]], None] | None = None,
                   final_events: frozenset[str] = frozenset({"done", "error"})) -> dict[str, Any]:
    """Run ``command`` to its end; every event but the last goes to ``on_event``. Returns the last one:
    ``done`` or ``error`` (with ``log``, the file holding the traceback, when the process crashed).

    ``what`` names the process in the message of a crash ('export').
    """
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               stdin=subprocess.DEVNULL)
    final: dict[str, Any] | None = None
    for line in process.stdout:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue  # a library printing to stdout; the events are what count
        if event.get("event") in final_events:
            final = event
        elif on_event:
            on_event(event)
    stderr = process.stderr.read()
    process.wait()
    if final is None:  # it crashed: a bug of rft's or of a library, whose traceback goes to a log
        from engine.contract.user_traceback import keep_full

        tail = stderr.strip().splitlines()[-1:] or [f"exit code {process.returncode}"]
        final = {"event": "error", "exists": False,
                 "message": f"the {what} process ended without a result: {tail[0]}", "traceback": stderr,
                 "log": str(keep_full(what, stderr))}
    return final
