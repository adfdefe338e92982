"""Reward functions for the RL methods (GRPO, PPO).

Every reward has TRL's signature ``fn(prompts, completions, **kwargs) ->
list[float | None]``: ``kwargs`` carries the dataset's other columns as lists
aligned with ``completions`` (plus trainer keys that rewards ignore). This
package holds the built-in library (``builtin``: format, correctness, length,
and a registry the UI lists); a later step adds user reward files and a
sandboxed runner. Nothing here imports torch.
"""

from engine.rewards.builtin import (
    BUILTIN_REWARDS,
    RewardFunction,
    RewardInfo,
    completion_text,
    correctness_reward,
    extract_answer,
    format_reward,
    make_correctness_reward,
    make_format_reward,
    make_length_reward,
    make_reward,
)

__all__ = [
    "BUILTIN_REWARDS",
    "RewardFunction",
    "RewardInfo",
    "completion_text",
    "correctness_reward",
    "extract_answer",
    "format_reward",
    "make_correctness_reward",
    "make_format_reward",
    "make_length_reward",
    "make_reward",
]
