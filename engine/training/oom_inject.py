"""Test hooks for running out of memory (worker only).

``RFT_INJECT_OOM_AT_STEP=N`` in the worker's environment makes training raise
``torch.OutOfMemoryError`` as step N + 1 begins (after step N was logged and
its state is what a checkpoint would hold), once per worker process. It lets
the recovery path (``engine.training.oom_recovery``) be tested on a CPU.

``RFT_CUDA_MEMORY_FRACTION=F`` caps what this process may allocate on the GPU
at F of its memory (``torch.cuda.set_per_process_memory_fraction``), so a real
CUDA out-of-memory error happens where the setup needs more (``bench.gpu_check``).

Nothing else sets them, and without them this module does nothing.
"""

from __future__ import annotations

import os
from typing import Any

ENV = "RFT_INJECT_OOM_AT_STEP"
FRACTION_ENV = "RFT_CUDA_MEMORY_FRACTION"

_fired = False  # once per process: the resumed attempt passes the same step again


def oom_injector() -> Any | None:
    """A trainer callback that raises the fake OOM, or None when the hook is not set; caps the GPU's memory
    first when ``RFT_CUDA_MEMORY_FRACTION`` asks."""
    cap_gpu_memory()
    raw = os.environ.get(ENV, "").strip()
    if not raw or _fired:
        return None
    try:
        at_step = int(raw)
    except ValueError:
        raise ValueError(f"{ENV} must be a step number, not {raw!r}") from None

    import torch
    from transformers import TrainerCallback

    class InjectOutOfMemory(TrainerCallback):
        """Raises ``torch.OutOfMemoryError`` when step ``at_step + 1`` begins."""

        def on_step_begin(self, args, state, control, **kwargs):
            global _fired
            if not _fired and state.global_step == at_step:
                _fired = True
                raise torch.OutOfMemoryError(f"CUDA out of memory. Tried to allocate 2.00 GiB (injected by {ENV}, "
                                             "a test hook)")

    return InjectOutOfMemory()


def cap_gpu_memory() -> None:
    """Apply ``RFT_CUDA_MEMORY_FRACTION`` when it is set and there is a GPU."""
    raw = os.environ.get(FRACTION_ENV, "").strip()
    if not raw:
        return
    import torch

    try:
        fraction = float(raw)
    except ValueError:
        raise ValueError(f"{FRACTION_ENV} must be a fraction such as 0.1, not {raw!r}") from None
    if torch.cuda.is_available():
        torch.cuda.set_per_process_memory_fraction(fraction)
