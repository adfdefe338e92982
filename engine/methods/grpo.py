"""GRPO: sample a group of answers per prompt, score them with reward functions
(and/or a reward model), and push toward the answers that beat their group."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from engine.contract.schema_base import StrictModel

FORMATS = ("prompt_only",)


class Params(StrictModel):
    """Parameters of Group Relative Policy Optimization.

    ``training.batch_size`` counts prompts per step; each step generates
    ``batch_size × num_generations`` answers.
    """

    name: Literal["grpo"] = "grpo"
    num_generations: int = Field(4, ge=2, le=256, description="Group size: answers sampled per prompt.")
    max_completion_length: int = Field(64, ge=1, le=32768, description="Longest sampled answer, in tokens.")
    temperature: float = Field(1.0, gt=0.0, le=5.0, description="Sampling temperature; groups need variety.")
    beta: float = Field(0.0, ge=0.0, le=10.0, description="KL penalty against the reference (0: none, no KL "
                        "computed).")
    epsilon: float = Field(0.2, gt=0.0, lt=1.0, description="Clipping range of the policy ratio.")
    loss_type: Literal["dapo", "grpo", "dr_grpo", "bnpo"] = Field("dapo", description="How token losses are "
                                                                   "averaged.")
    scale_rewards: Literal["group", "batch", "none"] = Field("group", description="Divide advantages by the "
                                                              "group's (or batch's) reward std, or not.")
    num_iterations: int = Field(1, ge=1, le=16, description="Optimisation passes over each batch of samples.")
    reward_model: str | None = Field(None, description="An RM run directory (or a sequence-classification "
                                     "model folder) whose score joins the reward functions.")
    vllm_mode: Literal["off", "colocate", "server"] = Field("off", description="Generate the answers with vLLM "
        "(CUDA and `pip install vllm`): 'colocate' runs it inside each training process, sharing its GPU; "
        "'server' asks a `trl vllm-serve` already running on other GPUs (vllm_server_url). 'off': the "
        "trained model generates, as everywhere else.")
    vllm_server_url: str = Field("http://127.0.0.1:8000", description="Where `trl vllm-serve --model MODEL` "
                                 "listens, with vllm_mode = 'server'.")

    @field_validator("vllm_server_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or len(value.split("://", 1)[1]) == 0:
            raise ValueError("must be the server's address, like 'http://10.0.0.2:8000'")
        return value.rstrip("/")
