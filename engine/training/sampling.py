"""Sampled answers during training, as ``sample`` events.

- ``ProbeSampler`` (SFT, DPO, KTO, ORPO): every ``training.sample_every`` steps,
  answer a fixed set of the dataset's prompts greedily and log the answers with
  the reward functions' scores, so a person sees the model change.
- ``PairScorer`` (RM): a reward model cannot answer, so it shows its score of
  the probe pairs' chosen and rejected answers instead.
- ``RecordingRewards`` (GRPO): wraps the reward functions TRL calls, and once
  all of them have scored a batch, logs every rollout with each function's
  score and its group-relative advantage.
"""

from __future__ import annotations

import statistics
from typing import Any, Callable

from transformers import TrainerCallback

from engine.data.formats import prompt_text
from engine.training.trainer_context import TrainerContext


def sample_due(step: int, every: int, state: Any, control: Any) -> bool:
    """Sample after the first step (a baseline), every ``every`` steps, and at the last or stopping step."""
    if not every:
        return False
    return step == 1 or step % every == 0 or step == state.max_steps or bool(control.should_training_stop)


class ProbeSampler(TrainerCallback):
    """Answers the probe prompts every N steps (and after the first step, as a baseline)."""

    def __init__(self, ctx: TrainerContext, probes: list[dict[str, Any]], every: int, max_new_tokens: int):
        self.ctx, self.probes, self.every, self.max_new_tokens = ctx, probes, every, max_new_tokens

    def on_step_end(self, args, state, control, model=None, **kwargs):
        step = state.global_step
        if not self.probes or model is None or not sample_due(step, self.every, state, control):
            return
        import torch

        from engine.generation.rollout import generate_rollouts

        was_training = model.training
        model.eval()
        try:
            device = next(model.parameters()).device
            batch = generate_rollouts(model, self.ctx.tokenizer, [p["prompt"] for p in self.probes],
                                      self.max_new_tokens, 1.0, device, do_sample=False)
        finally:
            model.train(was_training)
            torch.set_grad_enabled(True)
        self.ctx.emit_samples(step, self.probes, batch.completions, self.ctx.score(self.probes, batch.completions))


class PairScorer(TrainerCallback):
    """For a reward model: every N steps, its scores of the probe pairs' chosen and rejected answers."""

    def __init__(self, ctx: TrainerContext, pairs: list[dict[str, Any]], every: int):
        self.ctx, self.pairs, self.every = ctx, pairs, every

    def on_step_end(self, args, state, control, model=None, **kwargs):
        step = state.global_step
        if not self.pairs or model is None or not sample_due(step, self.every, state, control):
            return
        import torch

        from engine.models.chat_template import render_prompts
        from engine.rewards import completion_text

        tokenizer = self.ctx.tokenizer
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                for pair in self.pairs:
                    for side in ("chosen", "rejected"):
                        answer = completion_text(pair[side])
                        if isinstance(pair["prompt"], list):
                            text = tokenizer.apply_chat_template(
                                pair["prompt"] + [{"role": "assistant", "content": answer}], tokenize=False)
                        else:
                            text = render_prompts(tokenizer, [pair["prompt"]])[0] + answer
                        encoded = tokenizer(text, return_tensors="pt", add_special_tokens=False).to(model.device)
                        score = float(model(**encoded).logits[0, 0])
                        if self.ctx.events is not None:
                            self.ctx.events.emit("sample", step=step, prompt=prompt_text(pair["prompt"]),
                                                 completion=answer, rewards={"reward_model": score}, reward=score,
                                                 side=side)
        finally:
            model.train(was_training)


class RecordingRewards:
    """Reward functions for TRL's GRPO that also log each scored rollout as a sample."""

    def __init__(self, ctx: TrainerContext, num_generations: int, current_step: Callable[[], int],
                 ranks: Any = None):
        self.ctx = ctx
        self.ranks = ranks  # in a job of several processes each scores its own answers; rank 0 logs them all
        self.num_generations = num_generations
        self.current_step = current_step
        self._pending: dict[str, list[float | None]] = {}

    def wrapped(self) -> list[Callable[..., list[float | None]]]:
        """One wrapper per reward function, in the order TRL will call them."""
        return [self._wrap(i, fn) for i, fn in enumerate(self.ctx.reward_funcs)]

    def _wrap(self, index: int, fn: Callable[..., list[float | None]]) -> Callable[..., list[float | None]]:
        def reward(prompts, completions, **kwargs):
            values = list(fn(prompts=prompts, completions=completions, **kwargs))
            self._pending[fn.__name__] = values
            if index == len(self.ctx.reward_funcs) - 1:
                self._emit(prompts, completions, kwargs)
            return values

        reward.__name__ = fn.__name__
        return reward

    def _emit(self, prompts: list[Any], completions: list[Any], columns: dict[str, Any]) -> None:
        from engine.rewards import completion_text

        by_function, self._pending = self._pending, {}
        total = [0.0] * len(completions)
        for (name, values), weight in zip(by_function.items(), self.ctx.reward_weights):
            total = [t + weight * (v or 0.0) for t, v in zip(total, values)]
        advantages = group_advantages(total, self.num_generations)
        scored = ([{"prompt": p} for p in prompts], [completion_text(c) for c in completions],
                  {"total": total, "by_function": by_function}, advantages)
        # TRL calls the reward functions on every rank at the same point, so this gather meets on all of them.
        for rows, texts, scores, group_scores in self.ranks.gather(scored) if self.ranks else [scored]:
            self.ctx.emit_samples(self.current_step(), rows, texts, scores, group_scores)


def group_advantages(scores: list[float], group: int) -> list[float]:
    """Score minus its group's mean, over the group's std (0 where a group has no spread)."""
    advantages = []
    for start in range(0, len(scores), group):
        chunk = scores[start:start + group]
        mean = statistics.fmean(chunk)
        std = statistics.pstdev(chunk) if len(chunk) > 1 else 0.0
        advantages += [(s - mean) / std if std > 1e-8 else 0.0 for s in chunk]
    return advantages
