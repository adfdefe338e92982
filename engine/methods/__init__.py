"""The registry of training methods.

Each method lives in its own module with the same shape: a pydantic parameter
model (``Params``, pure Python), the dataset formats it accepts, and a
``build_trainer`` function that the worker calls (it imports torch/TRL lazily).
The UI and the config schema read this registry without importing torch.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

from engine.methods import sft


@dataclass(frozen=True)
class MethodSpec:
    """What the UI and the config need to know about one method."""

    name: str
    title: str
    summary: str
    formats: tuple[str, ...]
    params: type
    module: str

    def builder(self) -> Callable[..., Any]:
        """Import the method's module and return its trainer builder."""
        return importlib.import_module(self.module).build_trainer


METHODS: dict[str, MethodSpec] = {
    spec.name: spec
    for spec in (
        MethodSpec(
            name="sft",
            title="SFT",
            summary="Supervised fine-tuning: learn from demonstrations (prompt → answer).",
            formats=sft.FORMATS,
            params=sft.Params,
            module="engine.methods.sft",
        ),
    )
}


def get_method(name: str) -> MethodSpec:
    """Look up a method by name, with a message that lists the known ones."""
    try:
        return METHODS[name]
    except KeyError:
        known = ", ".join(sorted(METHODS))
        raise KeyError(f"unknown method {name!r}; known methods: {known}") from None
