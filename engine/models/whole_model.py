"""A fully fine-tuned model beside the base model it was trained from (worker processes only).

A LoRA run answers as its base model with the adapter switched off (``PeftModel.disable_adapter()``), so the
playground and ``rft compare`` put the base and the tuned model side by side with one set of weights. A run
with ``lora.enabled = false`` saved a whole model instead, and its base is a second set of weights.
``BaseAndTuned`` holds both and offers the same switch, so those callers need not tell the two kinds apart.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


class BaseAndTuned:
    """The tuned model, answering as the base model inside ``disable_adapter()``, as a PEFT model does."""

    def __init__(self, tuned: Any, base: Any):
        self.tuned, self.base = tuned, base
        self._active = tuned

    @contextlib.contextmanager
    def disable_adapter(self) -> Iterator[None]:
        """Answer with the base model's weights inside this block."""
        previous, self._active = self._active, self.base
        try:
            yield
        finally:
            self._active = previous

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._active(*args, **kwargs)

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        return self._active.generate(*args, **kwargs)

    def parameters(self) -> Iterator[Any]:
        return self._active.parameters()

    def __getattr__(self, name: str) -> Any:
        # Only reached for what is not defined above (config, device, generation_config...): the active
        # model's. The two share a configuration, being the same architecture.
        return getattr(self.__dict__["_active"], name)
