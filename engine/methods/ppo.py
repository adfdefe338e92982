"""PPO (RLHF): our own trainer, since TRL removed PPOTrainer in 1.13.

The policy is a LoRA adapter; the reference is the same network with the
adapter disabled; a value head reads the policy's last hidden states. Each step
samples answers for a batch of prompts, scores them (reward model and/or reward
functions), turns the score into per-token rewards with a KL penalty, estimates
advantages with GAE, and runs several epochs of clipped-surrogate updates over
mini-batches. The loop lives in ``engine.training.trainers.ppo_trainer``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from engine.contract.schema_base import StrictModel

FORMATS = ("prompt_only",)


class Params(StrictModel):
    """Parameters of Proximal Policy Optimization, named as the literature names them.

    ``training.batch_size`` counts prompts (rollouts) per step.
    """

    name: Literal["ppo"] = "ppo"
    kl_coef: float = Field(0.05, ge=0.0, le=10.0, description="Per-token KL penalty against the reference (beta).")
    kl_estimator: Literal["k1", "k3"] = Field("k1", description="KL estimator: k1 = log-ratio, k3 = low-variance.")
    gamma: float = Field(1.0, ge=0.0, le=1.0, description="Discount factor of GAE.")
    lam: float = Field(0.95, ge=0.0, le=1.0, description="GAE lambda: bias/variance trade-off of advantages.")
    cliprange: float = Field(0.2, gt=0.0, lt=1.0, description="Clip range of the policy ratio (epsilon).")
    cliprange_value: float = Field(0.2, gt=0.0, description="Clip range of the value update.")
    vf_coef: float = Field(0.1, ge=0.0, description="Weight of the value loss.")
    entropy_coef: float = Field(0.0, ge=0.0, description="Weight of the entropy bonus.")
    ppo_epochs: int = Field(2, ge=1, le=32, description="Passes over each batch of rollouts.")
    num_mini_batches: int = Field(1, ge=1, le=256, description="Mini-batches per PPO epoch.")
    whiten_rewards: bool = Field(False, description="Whiten per-token rewards before GAE.")
    max_new_tokens: int = Field(48, ge=1, le=32768, description="Longest sampled answer, in tokens.")
    temperature: float = Field(0.8, gt=0.0, le=5.0, description="Sampling temperature of rollouts.")
    reward_model: str | None = Field(None, description="An RM run directory (or a sequence-classification "
                                     "model folder) that scores answers.")
    missing_eos_penalty: float | None = Field(None, description="Subtracted from the score of answers that "
                                              "never end (hit max_new_tokens).")

