"""SFT: next-token cross-entropy on demonstrations, through TRL's SFTTrainer.

Datasets arrive normalised by ``engine.data`` to one of three shapes TRL
understands: conversational ``messages``, ``prompt``/``completion`` (strings or
message lists), or plain ``text``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from engine.contract.schema_base import StrictModel

FORMATS = ("messages", "prompt_completion", "text")


class Params(StrictModel):
    """Parameters of supervised fine-tuning."""

    name: Literal["sft"] = "sft"
    completion_only_loss: bool = Field(
        True,
        description="Train only on the answer tokens, not on the prompt "
        "(prompt/completion datasets; for messages, only assistant turns count).",
    )
    packing: bool = Field(
        False,
        description="Pack several short examples into one sequence of max length "
        "(faster on GPUs, changes what one step sees). Needs the Unsloth backend (CUDA).",
    )


PACKING_NEEDS = "packing needs the Unsloth backend (a CUDA GPU with unsloth installed)"
