"""Out-of-memory recovery: what to shrink, and recording the change (no torch).

When training runs out of GPU memory, the stage runner saves a checkpoint and
raises ``StageOutOfMemory``; the worker then asks ``shrink`` for a smaller
setup, applies it to the stage, writes it to the run's ``config.toml`` (so a
later ``rft resume`` keeps it) and resumes from that checkpoint through the
ordinary resume path, in the same process. In a job of several processes no
rank can save once one ran out (the others wait for it): that rank leaves a
note (``JobOutOfMemory``), the job ends, and ``engine.training.job`` shrinks
the setup the same way and starts the job again from its newest checkpoint.

What shrinks, in order (the first that can):

- every method but PPO: gradient checkpointing turns on
  (``training.gradient_checkpointing``): activations are recomputed in the
  backward pass instead of kept, for about a third more compute a step and
  nothing else changed. It is off until memory asks for it;
- every method: the micro-batch (``training.batch_size``) halves while
  ``training.gradient_accumulation_steps`` grows by the same factor, so the
  examples per optimizer step, and so what is learnt, stay the same. An odd
  batch drops to its largest divisor below half (6 → 3, 5 → 1) for the same
  reason;
- GRPO, once a step is one prompt: fewer answers per prompt
  (``method.num_generations``, not below 2, since a group needs two), then
  shorter answers (``method.max_completion_length``);
- PPO (our own loop, which has no accumulation): fewer rollouts per step
  (``training.batch_size``), then shorter answers (``method.max_new_tokens``).

Below that nothing is left to shrink: ``CannotShrink`` fails the run with what
the person can change instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.contract.atomic_files import atomic_write_text
from engine.contract.config import RunConfig, config_from_dict
from engine.contract.errors import ExplainedError

MIN_COMPLETION_TOKENS = 16  # shorter answers than this teach an RL method nothing useful
MAX_ACCUMULATION = 4096  # TrainingConfig's bound


class StageOutOfMemory(RuntimeError):
    """Step ``at_step`` ran out of memory; training resumes from ``checkpoint`` at ``step`` (None, 0: afresh)."""

    def __init__(self, message: str, at_step: int, step: int, checkpoint: Path | None):
        super().__init__(message)
        self.at_step, self.step, self.checkpoint = at_step, step, checkpoint


OUT_OF_MEMORY_FILE = "out_of_memory.json"  # in the run directory: a rank of a job of several ran out


class JobOutOfMemory(RuntimeError):
    """A rank of a job of several processes ran out of memory in step ``at_step``. The other ranks wait for
    it in a collective, so nothing can be saved: the job ends, and ``engine.training.job`` shrinks the setup
    and starts it again from the newest complete checkpoint."""

    def __init__(self, message: str, at_step: int, rank: int):
        super().__init__(message)
        self.at_step, self.rank = at_step, rank

    def record(self, run: Any) -> None:
        """Leave the job a note of what ran out, for the relaunch (any rank may write it)."""
        note = {"error": str(self), "at_step": self.at_step, "rank": self.rank}
        atomic_write_text(Path(run.path) / OUT_OF_MEMORY_FILE, json.dumps(note) + "\n")


def take_job_out_of_memory(run_path: Path) -> dict[str, Any] | None:
    """The note a rank left when it ran out of memory, removed as it is read; None when there is none."""
    path = Path(run_path) / OUT_OF_MEMORY_FILE
    try:
        note = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    path.unlink(missing_ok=True)
    return note if isinstance(note, dict) else None


class CannotShrink(ExplainedError, RuntimeError):
    """Out of memory with nothing left to shrink; the message says what the person can change."""


@dataclass(frozen=True)
class Adjustment:
    """One config value changed to fit in memory."""

    key: str  # dotted path, e.g. 'training.batch_size'
    before: Any
    after: Any

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "from": self.before, "to": self.after}

    def describe(self) -> str:
        return f"{self.key} {self.before} → {self.after}"


def _largest_divisor_at_most_half(n: int) -> int:
    return next(d for d in range(n // 2, 0, -1) if n % d == 0)


def _smaller_micro_batch(config: RunConfig) -> list[Adjustment]:
    t = config.training
    if t.batch_size <= 1:
        return []
    smaller = _largest_divisor_at_most_half(t.batch_size)
    accumulation = t.gradient_accumulation_steps * (t.batch_size // smaller)
    if accumulation > MAX_ACCUMULATION:
        return []
    return [Adjustment("training.batch_size", t.batch_size, smaller),
            Adjustment("training.gradient_accumulation_steps", t.gradient_accumulation_steps, accumulation)]


def _halved(key: str, value: int, floor: int) -> list[Adjustment]:
    return [Adjustment(key, value, max(floor, value // 2))] if value > floor else []


def shrink(config: RunConfig) -> list[Adjustment]:
    """The next smaller setup for ``config`` (see the module docstring), or ``CannotShrink``."""
    name, t, m = config.method_name, config.training, config.method
    if name not in {"ppo", "rm_ppo"} and not t.gradient_checkpointing:
        # Not for PPO: its own training loop never turns checkpointing on, so the flag would change nothing.
        return [Adjustment("training.gradient_checkpointing", False, True)]
    if name in {"ppo", "rm_ppo"}:
        # One rollout batch per step and no accumulation: fewer rollouts is the only smaller micro-batch.
        changes = _halved("training.batch_size", t.batch_size, 1) or \
            _halved("method.max_new_tokens", m.max_new_tokens, MIN_COMPLETION_TOKENS)
    elif name == "grpo":
        changes = _smaller_micro_batch(config) or _halved("method.num_generations", m.num_generations, 2) or \
            _halved("method.max_completion_length", m.max_completion_length, MIN_COMPLETION_TOKENS)
    else:
        changes = _smaller_micro_batch(config)
    if not changes:
        raise CannotShrink(
            f"Out of memory even at {describe_setup(config)}: nothing is left to shrink. Lower "
            "model.max_seq_length, set model.load_in_4bit = true (CUDA), use a smaller model or a smaller "
            "lora.r, or free GPU memory other programs hold.")
    return changes


def describe_setup(config: RunConfig) -> str:
    """The memory-relevant part of a setup in words ('batch 1 × accumulation 8, 512 tokens')."""
    t, m = config.training, config.method
    text = f"batch {t.batch_size} × accumulation {t.gradient_accumulation_steps}, {config.model.max_seq_length} tokens"
    if config.method_name == "grpo":
        text += f", {m.num_generations} answers of ≤ {m.max_completion_length} tokens per prompt"
    elif config.method_name in {"ppo", "rm_ppo"}:
        text += f", answers of ≤ {m.max_new_tokens} tokens"
    return text


def apply(config: RunConfig, changes: list[Adjustment]) -> RunConfig:
    """``config`` with ``changes`` made, validated like any config."""
    data = config.model_dump(mode="json", exclude_none=True)
    for change in changes:
        section, _, key = change.key.partition(".")
        data[section][key] = change.after
    return config_from_dict(data)


def save_to_run_config(config_path: Path, changes: list[Adjustment]) -> None:
    """Write ``changes`` into a run's ``config.toml``, atomically, so a later resume starts from them."""
    from engine.contract.config import parse_toml

    data = parse_toml(config_path.read_text(encoding="utf-8"), str(config_path))
    updated = apply(config_from_dict(data, str(config_path)), changes)
    atomic_write_text(config_path, updated.to_toml())


def summary(changes: list[Adjustment], before: RunConfig) -> str:
    """The changes in words, saying when the examples per optimizer step stayed the same."""
    text = ", ".join(c.describe() for c in changes)
    keys = {c.key for c in changes}
    if keys == {"training.batch_size", "training.gradient_accumulation_steps"}:
        effective = before.training.batch_size * before.training.gradient_accumulation_steps
        text += f" (still {effective} examples per optimizer step)"
    return text
