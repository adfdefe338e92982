"""The ``[eval]`` section of a run: which rows it is scored on, how often, and what it does with the score.

Pure Python, part of the one schema (``engine.contract.config`` embeds it).
Which metrics a run logs depends on its method and its reward functions:
``eval_metrics`` says which, so a config that names one the run will never log
is refused when it loads, not after the first evaluation.
"""

from __future__ import annotations

import math

from pydantic import Field, field_validator

from engine.contract.schema_base import StrictModel

# eval.every = 'auto': at least this many steps apart, and evaluation at most this share of training time.
AUTO_EVERY = 50
EVAL_SHARE = 0.10
# Metrics where lower is better; every other eval metric (reward, accuracy, margin) is better higher.
LOWER_IS_BETTER = ("eval_loss",)


class EvalConfig(StrictModel):
    """Held-out rows the run is scored on while it trains, and what the score decides."""

    size: float | int | str = Field(
        "auto", description="Rows held out of the training set, by prompt: a share below 1 (0.1), a number of "
        "prompts, 0 for none, or 'auto' (a tenth, 5 to 200 prompts; none for a dataset under 50 prompts).")
    source: str | None = Field(
        None, description="A separate eval dataset instead of held-out rows: 'builtin:NAME', a local file or a "
        "Hugging Face id, read like the training data (same columns settings).")
    split: str | None = Field(None, description="Split of a Hugging Face eval dataset (default: dataset.split).")
    every: int | str = Field(
        "auto", description="Evaluate every N steps; always before the first step and after the last "
        "(0: only those two). 'auto': every 50 steps, or more where one evaluation costs more than a tenth "
        "of 50 training steps, so evaluating takes at most about a tenth of the training time.")
    prompts: int = Field(
        32, ge=1, le=4096, description="How many eval prompts get a greedy answer scored by the reward "
        "functions (eval_reward); eval_loss uses every held-out row.")
    max_new_tokens: int | None = Field(
        None, ge=1, le=8192, description="Longest eval answer in tokens (default: the method's completion "
        "length, else training.sample_max_new_tokens).")
    metric: str = Field(
        "auto", description="The eval metric that picks the best step and drives early stopping: 'auto' "
        "(eval_reward when reward functions are set, else eval_loss), or one the run logs, e.g. eval_loss, "
        "eval_accuracy, eval_rewards/correctness.")
    patience: int = Field(
        0, ge=0, description="Stop after this many evaluations in a row without a better eval metric "
        "(0: never stop early).")
    keep_best: bool = Field(
        False, description="Make the run's adapter the best evaluated step's, not the last step's.")

    @field_validator("size")
    @classmethod
    def _size(cls, value: float | int | str) -> float | int | str:
        if isinstance(value, bool) or (isinstance(value, str) and value != "auto") or \
                (not isinstance(value, str) and value < 0):
            raise ValueError("a share below 1 (0.1), a number of prompts (40), 0 for none, or 'auto'")
        if isinstance(value, float) and value >= 1:
            if value != int(value):
                raise ValueError(f"{value} is neither a share below 1 nor a whole number of prompts")
            return int(value)
        return value

    @field_validator("every")
    @classmethod
    def _every(cls, value: int | str) -> int | str:
        if isinstance(value, bool) or (isinstance(value, str) and value != "auto") or \
                (isinstance(value, int) and value < 0):
            raise ValueError("a number of steps (50), 0 for only before and after training, or 'auto'")
        return value

    @property
    def holds_out(self) -> bool:
        """Whether this config may hold out rows of the training data (no separate source, size not 0)."""
        return self.source is None and self.size != 0


def eval_metrics(loss_metrics: tuple[str, ...], scores_answers: bool, reward_names: list[str]) -> list[str]:
    """The eval metrics a stage logs: its method's likelihood metrics, and the reward ones when it answers
    held-out prompts and has reward functions to score them."""
    rewarded = ["eval_reward", *(f"eval_rewards/{name}" for name in reward_names)] if scores_answers and \
        reward_names else []
    return [*loss_metrics, *rewarded]


def chosen_metric(metric: str, logged: list[str]) -> str | None:
    """The metric ``metric`` names for a stage that logs ``logged`` ('auto': the reward, else the loss)."""
    if metric != "auto":
        return metric if metric in logged else None
    for name in ("eval_reward", "eval_loss", "eval_accuracy"):
        if name in logged:
            return name
    return None


def is_better(metric: str, value: float, best: float | None) -> bool:
    """Whether ``value`` beats ``best`` on ``metric`` (its direction: a loss falls, anything else rises)."""
    if best is None:
        return True
    return value < best if metric in LOWER_IS_BETTER else value > best


def auto_interval(eval_seconds: float, step_seconds: float) -> int:
    """``eval.every = 'auto'``: the fewest steps between evaluations, at least ``AUTO_EVERY``, that keeps
    one evaluation within ``EVAL_SHARE`` of the training time between two; rounded up to a round number
    (10s below 100, 50s below 1000, 100s above) so the eval steps read well on a chart."""
    needed = eval_seconds / (EVAL_SHARE * step_seconds) if step_seconds > 0 else AUTO_EVERY
    steps = max(AUTO_EVERY, math.ceil(needed))
    unit = 10 if steps < 100 else 50 if steps < 1000 else 100
    return -(-steps // unit) * unit


def answer_length(config) -> int:
    """How long an eval answer may be: ``eval.max_new_tokens``, else the method's completion length, else
    ``training.sample_max_new_tokens`` (``config`` is a ``RunConfig``)."""
    method = config.method
    return config.eval.max_new_tokens or getattr(method, "max_completion_length", None) or \
        getattr(method, "max_new_tokens", None) or config.training.sample_max_new_tokens
