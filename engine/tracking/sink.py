"""What every tracker sink does, and the config flattened into hyper-parameters they all take."""

from __future__ import annotations

from typing import Any, Protocol


class Sink(Protocol):
    """One tracker's writer for one run. ``stage`` is the stage's name in runs of several stages, else None."""

    # Whether a resume makes the tracker drop the points after the resume step (TensorBoard's purge), so they
    # can be sent again; a sink that cannot is sent each step once, its first value kept.
    replaces_resumed_steps: bool

    def scalars(self, stage: str | None, step: int, values: dict[str, float]) -> None: ...

    def samples(self, stage: str | None, step: int, rows: list[dict[str, Any]], name: str = "samples") -> None: ...

    def resumed(self, stage: str | None, step: int) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


SAMPLE_COLUMNS = ("step", "prompt", "completion", "reward")


def flat_config(data: dict[str, Any], prefix: str = "") -> dict[str, str | int | float | bool]:
    """A nested config dump as ``{"training.learning_rate": 0.001, …}``: what hyper-parameter tables take
    (a list, like the rewards, becomes its JSON text)."""
    import json

    flat: dict[str, str | int | float | bool] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flat_config(value, f"{path}."))
        elif isinstance(value, (str, int, float, bool)):
            flat[path] = value
        elif value is not None:
            flat[path] = json.dumps(value, default=str)
    return flat


def tag(stage: str | None, name: str) -> str:
    """A metric's name in a tracker that keeps one run's stages together: 'rm/loss' for stage rm."""
    return f"{stage}/{name}" if stage else name
