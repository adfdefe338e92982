"""Reward functions for the RL methods (GRPO, PPO).

Every reward has TRL's signature ``fn(prompts, completions, **kwargs) ->
list[float | None]``: ``kwargs`` carries the dataset's other columns as lists
aligned with ``completions`` (plus trainer keys that rewards ignore). This
package holds the built-in rewards (``builtin``, ``text_checks``) and their
``catalog``; the user's reward files (``user_files``), what columns a reward
reads (``needs``), the sandbox that runs a user's function in its own process
(``sandbox``), and a run's rewards built from its config (``configured``).
Nothing here imports torch.
"""

from engine.rewards.builtin import (
    RewardFunction,
    completion_text,
    correctness_reward,
    extract_answer,
    format_reward,
    make_correctness_reward,
    make_format_reward,
    make_length_reward,
)
from engine.rewards.catalog import BUILTIN_REWARDS, RewardInfo, make_reward

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
