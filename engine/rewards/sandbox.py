"""Run a reward function of yours in its own process, with a timeout.

A hang, a crash or a runaway loop in user code then costs one call, not the
run: the call is cut off after ``timeout_s``, the child is replaced, and the
failure comes back as a ``RewardError`` naming the function, the completion
and the traceback. ``guard`` applies the run's policy: stop the run, or skip
that function for the batch with a warning.
"""

from __future__ import annotations

import multiprocessing
import traceback
from pathlib import Path
from typing import Any, Callable

from engine.rewards.user_files import EXAMPLE, RewardError, check_scores, load_function


def _serve(path: str, function: str, conn) -> None:
    """The child: load the function once, then answer calls until the pipe closes."""
    try:
        fn = load_function(Path(path), function)
        conn.send(("ready", None))
    except BaseException as error:  # report any failure to load, then stop
        # A RewardError already names the function; the parent names it again, so send only the problem.
        conn.send(("error", (getattr(error, "problem", None) or str(error), traceback.format_exc())))
        return
    while True:
        try:
            prompts, completions, columns = conn.recv()
        except EOFError:
            return
        try:
            conn.send(("ok", list(fn(prompts=prompts, completions=completions, **columns))))
        except BaseException as error:  # user code may raise anything
            conn.send(("error", (f"raised {type(error).__name__}: {error}", traceback.format_exc())))


def _plain(columns: dict[str, Any]) -> dict[str, Any]:
    """Only the dataset's columns cross to the child (trainer objects do not pickle)."""
    return {k: v for k, v in columns.items() if isinstance(v, list) and k not in {"completion_ids", "prompts"}}


class SandboxedReward:
    """A callable reward function backed by a child process; ``__name__`` is the function's name."""

    def __init__(self, path: Path, function: str, timeout_s: float = 10.0):
        self.path, self.function, self.timeout_s = path, function, timeout_s
        self.__name__ = function
        self.label = f"{path.name}:{function}"
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn = None

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(str(self.path), self.function, child), daemon=True)
        self._process.start()
        child.close()
        self._conn = parent
        if not parent.poll(max(self.timeout_s, 30.0)):
            self.close()
            raise RewardError(self.label, "did not load in time (its file's top level may hang)")
        kind, payload = parent.recv()
        if kind == "error":
            self.close()
            raise RewardError(self.label, payload[0], traceback=payload[1])

    def __call__(self, prompts: list[Any], completions: list[Any], **columns: Any) -> list[float | None]:
        if self._process is None or not self._process.is_alive():
            self._start()
        self._conn.send((prompts, completions, _plain(columns)))
        if not self._conn.poll(self.timeout_s):
            self.close()  # the next call starts a fresh child
            raise RewardError(self.label, f"did not return within {self.timeout_s:g} s",
                              completion=str(completions[0]) if completions else None)
        try:
            kind, payload = self._conn.recv()
        except EOFError:
            self.close()
            raise RewardError(self.label, "crashed its process") from None
        if kind == "error":
            raise RewardError(self.label, payload[0], traceback=payload[1])
        return check_scores(self.label, payload, completions)

    def close(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=5)
        self._process = None

    def __del__(self):
        self.close()


def validate(fn: Callable[..., Any], name: str) -> list[float | None]:
    """A quick call on one example, so a broken function fails before any model loads."""
    return check_scores(name, fn(**EXAMPLE), EXAMPLE["completions"])


def guard(fn: Callable[..., Any], policy: str, warn: Callable[[str], None]) -> Callable[..., Any]:
    """Apply the run's policy to a reward function's failures ('stop' re-raises, 'skip' scores None)."""

    def guarded(prompts: list[Any], completions: list[Any], **columns: Any) -> list[float | None]:
        try:
            return fn(prompts=prompts, completions=completions, **columns)
        except RewardError as error:
            if policy == "stop":
                raise
            warn(f"{error}; skipped for this batch (training.on_reward_error = 'skip')")
            return [None] * len(completions)

    guarded.__name__ = fn.__name__
    return guarded
