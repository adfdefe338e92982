"""A playground session: the ``python -m engine.playground`` process, fed requests, read for events.

The UI owns one per open playground; generation happens in that process, never
in the UI's. ``events()`` blocks, so the screen reads it from a worker thread.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any, Iterator

from engine.runs import RunDir


class PlaygroundSession:
    """One engine process answering prompts for one run (and one of its checkpoints)."""

    def __init__(self, run: RunDir, source: str = "final"):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engine.playground", str(run.path), "--source", source],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
        )

    def events(self) -> Iterator[dict[str, Any]]:
        """Events until the process ends; a process that dies says so with its last words."""
        for line in self.process.stdout:
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue  # a library printing to stdout
        self.process.wait()
        if self.process.returncode not in (0, None, -15):  # it crashed: its traceback goes to a log
            from engine.user_traceback import keep_full

            stderr = self.process.stderr.read()
            tail = stderr.strip().splitlines()[-1:] or [f"exit code {self.process.returncode}"]
            yield {"event": "error", "message": f"the playground process ended: {tail[0]}", "fatal": True,
                   "traceback": stderr, "log": str(keep_full("playground", stderr))}

    def ask(self, request: dict[str, Any]) -> None:
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.close()  # the process ends when its input does
                self.process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.process.terminate()
