"""The registry of training methods.

Each method lives in its own module with the same shape: a pydantic parameter
model (``Params``) and the dataset formats it accepts. Pure Python, so the
config schema and the UI read this registry freely; the trainers that train each
method are built in the worker by ``engine.training.trainers``.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.methods import dpo, grpo, kto, orpo, ppo, rm, rm_ppo, sft


@dataclass(frozen=True)
class MethodSpec:
    """What the UI and the config need to know about one method."""

    name: str
    title: str
    summary: str
    formats: tuple[str, ...]
    params: type
    model_kind: str = "causal_lm"  # 'sequence_classification' for a reward model
    uses_rewards: bool = False  # scores come from reward functions / a reward model
    # What the trainer's own evaluation logs on held-out rows, under canonical names (none for GRPO and
    # PPO: their held-out score is eval_reward, the greedy answers scored by the reward functions).
    eval_loss_metrics: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()  # the methods a run of several stages trains in turn (RM+PPO)

    @property
    def answers(self) -> bool:
        """Whether the trained model writes answers (a reward model only scores them)."""
        return self.model_kind == "causal_lm"


METHODS: dict[str, MethodSpec] = {
    spec.name: spec
    for spec in (
        MethodSpec("sft", "SFT", "Learn from demonstrations (prompt → answer).", sft.FORMATS, sft.Params,
                   eval_loss_metrics=("eval_loss", "eval_token_accuracy")),
        MethodSpec("rm_ppo", "RM+PPO", "Train a reward model on preferences, then RLHF with PPO against it.",
                   rm_ppo.FORMATS, rm_ppo.Params, uses_rewards=True, stages=("rm", "ppo")),
        MethodSpec("dpo", "DPO", "Prefer the chosen answer over the rejected one; no reward model.", dpo.FORMATS,
                   dpo.Params, eval_loss_metrics=("eval_loss", "eval_margin", "eval_accuracy")),
        MethodSpec("grpo", "GRPO", "Sample a group per prompt, score with reward functions, favour the best.",
                   grpo.FORMATS, grpo.Params, uses_rewards=True),
        MethodSpec("kto", "KTO", "Learn from unpaired thumbs-up / thumbs-down answers.", kto.FORMATS, kto.Params,
                   eval_loss_metrics=("eval_loss", "eval_margin")),
        MethodSpec("orpo", "ORPO", "SFT and a preference term in one step, no reference model.", orpo.FORMATS,
                   orpo.Params, eval_loss_metrics=("eval_loss", "eval_margin", "eval_accuracy")),
        MethodSpec("rm", "RM", "A reward model: a score head that ranks chosen above rejected.", rm.FORMATS,
                   rm.Params, model_kind=rm.MODEL_KIND,
                   eval_loss_metrics=("eval_loss", "eval_accuracy", "eval_margin")),
        MethodSpec("ppo", "PPO", "RLHF: policy + value head, KL to the reference, against rewards.", ppo.FORMATS,
                   ppo.Params, uses_rewards=True),
    )
}


def get_method(name: str) -> MethodSpec:
    """Look up a method by name, with a message that lists the known ones."""
    try:
        return METHODS[name]
    except KeyError:
        known = ", ".join(sorted(METHODS))
        raise KeyError(f"unknown method {name!r}; known methods: {known}") from None
