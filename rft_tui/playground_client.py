"""A playground session: the ``python -m engine.generation.playground`` process, fed requests, read for events.

The UI owns one per open playground; generation happens in that process, never
in the UI's. ``events()`` blocks, so the screen reads it from a worker thread.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from typing import Any, Iterator

from engine.contract.runs import RunDir

CLOSE_GRACE_S = 60.0  # how long a closed session may take to exit before it is terminated


class PlaygroundSession:
    """One engine process answering prompts for one run (and one of its checkpoints)."""

    def __init__(self, run: RunDir, source: str = "final"):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engine.generation.playground", str(run.path), "--source", source],
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
            from engine.contract.user_traceback import keep_full

            stderr = self.process.stderr.read()
            tail = stderr.strip().splitlines()[-1:] or [f"exit code {self.process.returncode}"]
            yield {"event": "error", "message": f"the playground process ended: {tail[0]}", "fatal": True,
                   "traceback": stderr, "log": str(keep_full("playground", stderr))}

    def ask(self, request: dict[str, Any]) -> None:
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()

    def close(self) -> None:
        """End the process without waiting for it: it exits once its input closes, after its reward
        processes. With torch loaded that exit took over 5 s on a busy 2-core machine, so a thread waits
        (the screen never does) and terminates only a process still there after ``CLOSE_GRACE_S``."""
        if self.process.poll() is not None:
            return
        try:
            self.process.stdin.close()  # the process ends when its input does
        except OSError:
            pass
        threading.Thread(target=self._reap, name="playground-close", daemon=True).start()

    def _reap(self) -> None:
        try:
            self.process.wait(timeout=CLOSE_GRACE_S)
        except subprocess.TimeoutExpired:
            self.process.terminate()
