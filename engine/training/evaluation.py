"""Scoring a stage on rows it never trains on, while it trains (worker only).

``HeldOutEvaluator`` is a trainer callback that evaluates before the first
step (the base model: every eval curve starts there), every ``eval.every``
steps, and at the last or stopping step, and logs one ``eval`` event each time.
``eval.every = 'auto'`` is fixed after the first four steps from what one
evaluation and one step took, so evaluating stays near a tenth of the training
time on any machine (an ``eval_plan`` event records it for a resumed run):

- ``eval_loss`` and the method's other likelihood metrics, from the trainer's
  own evaluation on every held-out row (SFT, DPO, KTO, ORPO, RM);
- ``eval_reward`` and ``eval_rewards/<fn>``, for a model that answers and a run
  with reward functions: greedy answers to the held-out prompts, scored by the
  run's reward functions. For GRPO and PPO this is the number that says whether
  what was learnt carries over to prompts the run never saw.

It also keeps the best value of the chosen metric: with ``eval.keep_best`` it
saves the best step's adapter, with ``eval.patience`` it stops the run once
that many evaluations in a row were no better. A resumed stage rebuilds the
best-so-far and the count from the eval events already written.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any, Callable

from transformers import TrainerCallback

from engine.contract.eval_config import EVAL_SHARE, EvalConfig, auto_interval, is_better
from engine.contract.protocol import canonical_name
from engine.data.formats import prompt_text
from engine.training.adapter_files import save_adapter
from engine.training.trainer_context import TrainerContext

# Held-out prompts answered in one generate call. Decoding reads every weight once per token whatever the
# batch, so on a CPU (memory-bound) 16 prompts took 28 s and 8 took 22 s: one large batch is cheapest.
ANSWER_BATCH = 32
EXAMPLES = 3  # eval answers kept in each event, for the samples panel
# eval.every = 'auto' is fixed from this many timed steps; the first is left out (it warms up caches).
PLAN_STEPS = 4
# What the trainer's evaluation reports about itself, not about the model.
_TIMING = ("runtime", "model_preparation_time", "samples_per_second", "steps_per_second", "num_tokens", "epoch")


class HeldOutEvaluator(TrainerCallback):
    """Evaluates at step 0, every N steps and at the end; tracks the best step; stops early when asked."""

    def __init__(self, ctx: TrainerContext, settings: EvalConfig, metric: str | None, prompts: list[dict[str, Any]],
                 rewards: tuple[list[Callable[..., list[float | None]]], list[float]], max_new_tokens: int,
                 best_dir: Path, history: list[dict[str, Any]], on_status: Callable[[dict[str, Any]], None],
                 plan: dict[str, Any] | None = None):
        self.ctx, self.settings, self.metric = ctx, settings, metric
        self.prompts, (self.reward_funcs, self.reward_weights) = prompts, rewards
        self.max_new_tokens, self.best_dir, self.on_status = max_new_tokens, best_dir, on_status
        self.trainer: Any = None  # the trainer whose own evaluate() gives eval_loss; None for GRPO and PPO
        self.best: dict[str, Any] | None = None  # {metric, value, step}
        self.since_best = 0  # evaluations since the best one
        self.stopped_early = False
        self.seconds = 0.0  # time spent evaluating in this attempt
        self._last_step: int | None = None
        self._direct = False  # inside our own call of the trainer's evaluate()
        # Steps between evaluations; None until eval.every = 'auto' is fixed from the first steps' times. A
        # resumed stage keeps the interval its eval_plan event recorded, so it evaluates at the same steps.
        self.every: int | None = settings.every if isinstance(settings.every, int) else \
            (plan or {}).get("every")
        self.last_seconds = history[-1].get("seconds") if history else None  # what the last evaluation took
        self._step_started: float | None = None
        self._step_times: list[float] = []
        for event in history:  # a resumed stage: the evaluations it already made, in order
            self._track(event["step"], event.get("values", {}), save=None)

    @property
    def active(self) -> bool:
        return self.trainer is not None or bool(self.prompts and self.reward_funcs)

    @property
    def _stage(self) -> dict[str, str]:
        """The ``stage`` field of this evaluator's events (runs of several stages only)."""
        return {"stage": self.ctx.stage_name} if self.ctx.stage_name else {}

    def on_step_begin(self, args, state, control, **kwargs):
        self._step_started = time.perf_counter()

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if self._step_started is not None:
            self._step_times.append(time.perf_counter() - self._step_started)
            self._step_started = None
        if self.every is None and self.active and len(self._step_times) >= PLAN_STEPS:
            self._plan(state.global_step)
        step, every = state.global_step, self.every
        if not (step == state.max_steps or control.should_training_stop or (every and step % every == 0)):
            return
        if self.trainer is not None:
            # The trainer evaluates after it has logged this step (on_evaluate below): its evaluate() called
            # from here would take the place of the step's own log.
            control.should_evaluate = True
            return
        self.evaluate(step, model or self.ctx.model)
        if self.stopped_early:
            control.should_training_stop = True

    def on_evaluate(self, args, state, control, metrics=None, model=None, **kwargs):
        if self._direct:
            return  # our own call of trainer.evaluate() (step 0): evaluate() goes on with its result
        self.evaluate(state.global_step, model or self.ctx.model, metrics or {})
        if self.stopped_early:
            control.should_training_stop = True

    def evaluate(self, step: int, model: Any, metrics: dict[str, Any] | None = None) -> dict[str, float]:
        """Evaluate the model as it is after ``step`` and log the ``eval`` event; returns its values.

        ``metrics``: the trainer's own evaluation of this step, when it has just made it.
        """
        if not self.active or step == self._last_step:
            return {}
        self._last_step = step
        started = time.perf_counter()
        # The trainer's own evaluation, when it ran before this call, took its eval_runtime.
        ran_before = float(metrics.get("eval_runtime", 0.0)) if metrics is not None else 0.0
        values: dict[str, float] = {}
        if self.trainer is not None:
            if metrics is None:
                self._direct = True
                try:
                    metrics = self.trainer.evaluate()
                finally:
                    self._direct = False
            values.update(_eval_metrics(metrics))
        examples: list[dict[str, Any]] = []
        if self.prompts and self.reward_funcs:
            rewards, examples = self._answer(model)
            values.update(rewards)
        seconds = time.perf_counter() - started + ran_before
        self.last_seconds = seconds
        self.seconds += seconds
        saved = self._track(step, values, save=model)
        if self.ctx.events is not None:
            self.ctx.events.emit("eval", step=step, values=values, prompts=len(self.prompts) if self.reward_funcs
                                 else 0, seconds=round(seconds, 3), examples=examples, best=self.best,
                                 saved_best=saved, **self._stage)
        if self.best is not None:
            self.on_status(dict(self.best))
        if self.stopped_early and self.ctx.events is not None:
            self.ctx.events.emit("log", level="info", message=(
                f"early stop at step {step}: {self.metric} has not improved for {self.since_best} evaluations "
                f"(eval.patience = {self.settings.patience}); best {self.best['value']:.4g} at step "
                f"{self.best['step']}"))
        return values

    def _plan(self, step: int) -> None:
        """Fix ``eval.every = 'auto'`` from what an evaluation and a training step cost here."""
        step_seconds = statistics.median(self._step_times[1:])
        eval_seconds = self.last_seconds or 0.0
        self.every = auto_interval(eval_seconds, step_seconds)
        message = (f"evaluating every {self.every} steps (eval.every = 'auto'): one evaluation took "
                   f"{eval_seconds:.1f} s, a training step {step_seconds:.2f} s, and evaluating is kept near "
                   f"{EVAL_SHARE:.0%} of the training time")
        if self.ctx.events is not None:
            self.ctx.events.emit("eval_plan", step=step, every=self.every, eval_seconds=round(eval_seconds, 3),
                                 step_seconds=round(step_seconds, 4), **self._stage)
            self.ctx.events.emit("log", level="info", message=message)

    def _track(self, step: int, values: dict[str, float], save: Any) -> bool:
        """Update the best and the patience count with one evaluation; returns whether the best was saved."""
        if self.metric is None or self.metric not in values:
            return False
        value = values[self.metric]
        if not is_better(self.metric, value, self.best["value"] if self.best else None):
            self.since_best += 1
            if self.settings.patience and self.since_best >= self.settings.patience:
                self.stopped_early = save is not None  # a count rebuilt on resume stops at the next evaluation
            return False
        self.best, self.since_best = {"metric": self.metric, "value": value, "step": step}, 0
        if save is None or not self.settings.keep_best:
            return False
        save_adapter(save, self.ctx.tokenizer, self.best_dir)
        return True

    def _answer(self, model: Any) -> tuple[dict[str, float], list[dict[str, Any]]]:
        """Greedy answers to the held-out prompts, scored: the mean total and each function's mean."""
        import torch

        from engine.generation.rollout import generate_rollouts

        was_training = model.training
        model.eval()
        completions: list[str] = []
        try:
            device = next(model.parameters()).device
            for start in range(0, len(self.prompts), ANSWER_BATCH):
                chunk = [row["prompt"] for row in self.prompts[start:start + ANSWER_BATCH]]
                completions += generate_rollouts(model, self.ctx.tokenizer, chunk, self.max_new_tokens, 1.0,
                                                 device, do_sample=False).completions
        finally:
            model.train(was_training)
            torch.set_grad_enabled(True)
        scores = self.ctx.score(self.prompts, completions, self.reward_funcs, self.reward_weights)
        values = {"eval_reward": statistics.fmean(scores["total"])}
        for name, scored in scores["by_function"].items():
            values[f"eval_rewards/{name}"] = statistics.fmean(v or 0.0 for v in scored)
        examples = [{"prompt": prompt_text(row["prompt"]), "completion": completions[i], "reward": scores["total"][i],
                     "rewards": {name: scored[i] for name, scored in scores["by_function"].items()}}
                    for i, row in enumerate(self.prompts[:EXAMPLES])]
        return values, examples


def _eval_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """A trainer's ``evaluate()`` result under canonical eval names ('eval_rewards/margins' → 'eval_margin')."""
    values = {}
    for key, value in metrics.items():
        if not key.startswith("eval_") or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        name = key[len("eval_"):]
        if name not in _TIMING:
            values[f"eval_{canonical_name(name)}"] = float(value)
    return values
