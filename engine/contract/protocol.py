"""The event protocol between the worker and everyone who watches a run.

``runs/<run>/events.jsonl`` is the one record of what happened in a run. Only the
worker writes it, one JSON object per line, flushed per line, never rewritten.
Readers (the TUI, ``rft train``, ``rft runs``) tail it from a byte offset and
tolerate a torn last line: a line without its newline is not yet an event.

Every event carries:

- ``v``: the schema version (``SCHEMA_VERSION``),
- ``t``: wall-clock time, seconds since the epoch,
- ``type``: one of the types below.

Event types and their fields:

``status``     ``state`` (see ``STATES``), ``message`` (optional)
``model``      ``name``, ``path``, ``backend`` ('unsloth' | 'transformers+peft'),
               ``device``, ``dtype``, ``load_in_4bit``, ``parameters``, ``trainable``, ``world_size``
               (processes training), ``strategy`` (``[distributed]``'s, when more than one)
``dataset``    ``source``, ``format``, ``rows`` (the training rows), ``truncated`` (rows longer than max
               length), ``eval_rows`` (rows evaluated on), ``eval_source`` (``eval.source``, or 'held out')
``metrics``    ``step``, ``total``, ``stage`` (multi-stage runs), ``values`` under canonical
               names: ``loss``, ``lr``, ``grad_norm``, ``tokens_per_s``, ``epoch``,
               ``token_accuracy``, ``reward``, ``reward_std``, ``rewards/<fn>``, ``kl``,
               ``entropy``, ``margin``, ``accuracy``, ``value_loss``, ``policy_loss``,
               ``clip_fraction``, ``completion_length``, …
``sample``     ``step``, ``prompt``, ``completion``, ``rewards`` (function → score),
               ``reward`` (weighted total, if any), ``advantage`` (GRPO, PPO)
``eval``       ``step`` (0: before the first step, the base model), ``stage`` (runs of several stages),
               ``values`` under canonical names prefixed ``eval_``: ``eval_loss`` and the method's other
               likelihood metrics (``eval_accuracy``, ``eval_margin``, …) on every held-out row, and where
               reward functions are set ``eval_reward``, ``eval_rewards/<fn>``: greedy answers to
               ``prompts`` held-out prompts, scored; ``examples`` (a few of those answers: ``prompt``,
               ``completion``, ``reward``, ``rewards``), ``seconds`` (what it took), ``best`` (``metric``,
               ``value``, ``step`` of the best evaluation so far), ``saved_best`` (its adapter was saved)
``eval_plan``  ``step``, ``stage``, ``every``, ``eval_seconds``, ``step_seconds``: ``eval.every = 'auto'``
               was fixed at ``every`` steps from what one evaluation and one training step took
``best``       ``metric``, ``value``, ``step``, ``adapter``: ``eval.keep_best`` made that step's adapter the
               stage's result
``stage``      ``index``, ``total``, ``name``, ``max_steps`` (runs of several stages)
``checkpoint`` ``step``, ``path`` (relative to the run directory)
``resume``     ``step``, ``stage``, ``checkpoint``: the run continues from that step; readers drop
               later points of the attempt before (they are trained again)
``adjusted``   ``reason`` ('out of memory'), ``error`` (its first line), ``at_step`` (the step that
               failed), ``step`` (where training resumes), ``stage``, ``changes`` (a list of
               ``{key, from, to}``, e.g. ``training.batch_size`` 4 → 2), ``saved`` (written to
               config.toml), ``message`` (all of it in words): the worker changed the setup to go
               on; a ``resume`` event follows
``ranks``      ``world_size``, ``digests`` (a hash of each rank's trained weights), ``agree``: a
               stage of several processes ended; rank 0 writes every event, for all ranks
``log``        ``level`` ('info' | 'warning'), ``message``
``error``      ``message`` (in words), ``traceback``
``summary``    ``values`` (final numbers: runtime, mean loss, …)

Readers ignore unknown types and fields, so adding one is not a version bump;
changing the meaning of an existing field is.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

SCHEMA_VERSION = 1

EVENT_TYPES = ("status", "stage", "model", "dataset", "metrics", "sample", "checkpoint", "log", "error", "summary",
               "resume", "adjusted", "eval", "eval_plan", "best", "ranks")

# Metric names as trainers log them → the canonical names every screen uses.
CANONICAL_METRICS = {
    "learning_rate": "lr",
    "mean_token_accuracy": "token_accuracy",
    "train_loss": "loss",
    # DPO, ORPO, KTO: implicit rewards of chosen/rejected answers
    "rewards/margins": "margin",
    "rewards/accuracies": "accuracy",
    "rewards/chosen": "reward_chosen",
    "rewards/rejected": "reward_rejected",
    # RM
    "mean_reward": "reward",
    # GRPO
    "clip_ratio/region_mean": "clip_fraction",
    "completions/mean_length": "completion_length",
    "frac_reward_zero_std": "zero_std_fraction",
}


def canonical_name(key: str) -> str:
    """The canonical name of one logged metric ('rewards/format/mean' → 'rewards/format')."""
    if key in CANONICAL_METRICS:
        return CANONICAL_METRICS[key]
    if key.startswith("rewards/") and key.count("/") == 2:
        _, fn, stat = key.split("/")
        return f"rewards/{fn}" if stat == "mean" else f"rewards/{fn}_{stat}"
    return key


def canonical_metrics(logs: dict[str, Any]) -> dict[str, float]:
    """Rename a trainer's log dict to canonical names, keeping numbers only."""
    values: dict[str, float] = {}
    for key, value in logs.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        values[canonical_name(key)] = float(value)
    return values


class EventWriter:
    """Appends events to ``events.jsonl``, one flushed line per event."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._handle = open(self.path, "a", encoding="utf-8")
        # Called with each event once it is written: the experiment trackers (engine.tracking) see what
        # the file says, in its order.
        self.listeners: list[Callable[[dict[str, Any]], None]] = []

    def emit(self, type: str, **fields: Any) -> dict[str, Any]:
        """Write one event and flush it so readers see it at once."""
        event = {"v": SCHEMA_VERSION, "t": time.time(), "type": type, **fields}
        self._handle.write(json.dumps(event, default=str, allow_nan=True) + "\n")
        self._handle.flush()
        for listener in self.listeners:
            listener(event)
        return event

    def sync(self) -> None:
        """Force what was written to disk (at state changes, not per metric)."""
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()


@dataclass
class JsonLinesTail:
    """Reads new complete JSON lines from a file, remembering where it stopped."""

    path: Path
    offset: int = 0
    skipped: int = field(default=0)

    # Whether the last ``read_lines`` stopped at its byte limit, with more of the file unread.
    more: bool = field(default=False)

    def read_new(self) -> list[dict[str, Any]]:
        """Objects appended since the last call; a torn last line waits for its newline."""
        return [event for event in map(self.parse_line, self.read_lines()) if event is not None]

    def read_lines(self, max_bytes: int | None = None) -> list[bytes]:
        """The complete lines appended since the last call, unparsed; at most about ``max_bytes`` of
        them (a longer single line is read whole), ``more`` telling whether the file goes on."""
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read() if max_bytes is None else handle.read(max_bytes)
                self.more = max_bytes is not None and len(chunk) == max_bytes
                while self.more and b"\n" not in chunk:  # one line longer than the limit
                    piece = handle.read(max_bytes)
                    chunk += piece
                    self.more = len(piece) == max_bytes
        except FileNotFoundError:
            self.more = False
            return []
        end = chunk.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        return [line for line in chunk[: end + 1].splitlines() if line.strip()]

    def parse_line(self, line: bytes) -> dict[str, Any] | None:
        """One line's object; None (and counted in ``skipped``) for a line that is not one."""
        try:
            event = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            # A line torn by a kill and then followed by later writes: skip it.
            self.skipped += 1
            return None
        return event if isinstance(event, dict) else None


class EventTail(JsonLinesTail):
    """A ``JsonLinesTail`` over ``events.jsonl`` that keeps only events."""

    def read_new(self) -> list[dict[str, Any]]:
        return [event for event in super().read_new() if "type" in event]


def read_events(path: str | Path) -> list[dict[str, Any]]:
    """All complete events in a file (a torn last line is left out)."""
    return EventTail(Path(path)).read_new()
