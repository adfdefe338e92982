"""Each method's trainer, built from a ``TrainerContext`` (worker only).

TRL provides most of them (``trl_trainers``); PPO is rft's own loop
(``ppo_trainer``, with its maths in ``ppo_math``), since TRL removed its
PPOTrainer. RM+PPO has no trainer of its own: ``engine.planning.stages`` splits
it into an RM stage and a PPO stage.
"""

from __future__ import annotations

from typing import Any

from engine.training.trainer_context import TrainerContext
from engine.training.trainers import trl_trainers

_TRL_BUILDERS = {
    "sft": trl_trainers.build_sft,
    "dpo": trl_trainers.build_dpo,
    "grpo": trl_trainers.build_grpo,
    "kto": trl_trainers.build_kto,
    "orpo": trl_trainers.build_orpo,
    "rm": trl_trainers.build_rm,
}


def build_trainer(ctx: TrainerContext) -> Any:
    """The trainer for the stage ``ctx`` describes, ready to ``train()``."""
    name = ctx.config.method_name
    if name == "ppo":
        from engine.training.trainers.ppo_trainer import PPOTrainer  # imports torch

        return PPOTrainer(ctx)
    if name not in _TRL_BUILDERS:
        raise RuntimeError(f"no trainer builds method {name!r}; engine.planning.stages splits rm_ppo into rm and ppo")
    return _TRL_BUILDERS[name](ctx)
