"""The reward functions a config names, built and checked (engine processes only).

Built-ins are made with their parameters; a user's ``FILE.py:FUNCTION`` runs
in its own sandboxed process and is validated by one quick call. Training,
the dry run and the playground all build their rewards here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from engine.contract.config import ConfigError, RunConfig


@dataclass
class ConfiguredReward:
    """One reward function as the run names it, with its weight."""

    name: str
    fn: Callable[..., list[float | None]]
    weight: float

    def close(self) -> None:
        getattr(self.fn, "close", lambda: None)()


def configured_rewards(config: RunConfig, log: Callable[[str], None] | None = None) -> list[ConfiguredReward]:
    """Build ``config.rewards``; a bad built-in parameter is a ConfigError naming the entry."""
    from engine.rewards import make_reward
    from engine.rewards.sandbox import SandboxedReward, validate
    from engine.rewards.user_files import resolve_reward

    built = []
    for i, spec in enumerate(config.rewards):
        if ":" in spec.name:
            fn: Any = SandboxedReward(*resolve_reward(spec.name), config.training.reward_timeout_s)
            validate(fn, spec.name)
            if log:
                log(f"reward function {spec.name} loaded and checked")
        else:
            try:
                fn = make_reward(spec.name, **spec.params)
            except ValueError as error:
                raise ConfigError([(f"rewards.{i}", str(error))]) from None
        built.append(ConfiguredReward(getattr(fn, "__name__", spec.name), fn, spec.weight))  # as training names it
    return built
