"""Pick the backend that trains a run: Unsloth or transformers + PEFT, the device and the dtype.

Worker processes only: ``choose_backend`` imports torch, and Unsloth, when used,
must be imported before trl/transformers/peft, so the worker calls it before
anything else imports them. The UI's guess is ``engine.models.resolve.predict_backend``.
"""

from __future__ import annotations

import importlib.util
from dataclasses import asdict, dataclass
from typing import Any

from engine.models.resolve import ModelError


@dataclass(frozen=True)
class Backend:
    """How a run trains: library, device and precision."""

    name: str  # 'unsloth' | 'transformers+peft'
    device: str  # 'cuda' | 'mps' | 'cpu'
    dtype: str  # 'float32' | 'bfloat16' | 'float16'
    load_in_4bit: bool

    def describe(self) -> str:
        quant = " · 4-bit" if self.load_in_4bit else ""
        return f"{self.name} · {self.device} · {self.dtype}{quant}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def choose_backend(requested: str = "auto", load_in_4bit: bool = False, dtype: str = "auto",
                   peft_only: bool = False) -> Backend:
    """Pick unsloth or transformers+peft, the device and the dtype (imports torch).

    ``peft_only``: what trains is one Unsloth's kernels do not (DoRA, every weight), so 'auto' picks transformers;
    an explicit 'unsloth' with it is refused when the config loads (``RunConfig.problems``)."""
    import torch

    cuda = torch.cuda.is_available()
    if cuda:
        device = "cuda"
    elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        device = "mps"
    else:
        device = "cpu"
    unsloth_ok = cuda and importlib.util.find_spec("unsloth") is not None
    if requested == "unsloth" and not unsloth_ok:
        why = "CUDA is not available" if not cuda else "the unsloth package is not installed (pip install -e .[unsloth])"
        raise ModelError(f"model.backend = 'unsloth' but {why}; use backend = 'auto' or 'transformers'.")
    name = "unsloth" if unsloth_ok and requested in {"auto", "unsloth"} and not peft_only else "transformers+peft"
    if name == "unsloth":
        import unsloth  # noqa: F401  (patches transformers/trl; must precede their import)
    if load_in_4bit and device != "cuda":
        raise ModelError("model.load_in_4bit needs a CUDA GPU (bitsandbytes); set it to false on this machine.")
    if dtype == "auto":
        dtype = "bfloat16" if cuda and torch.cuda.is_bf16_supported() else ("float16" if cuda else "float32")
    if device == "cpu" and dtype != "float32":
        raise ModelError(f"model.dtype = {dtype!r} is not supported for training on CPU; use 'float32' or 'auto'.")
    return Backend(name=name, device=device, dtype=dtype, load_in_4bit=load_in_4bit)


def cuda_free_bytes() -> int | None:
    """Free memory of the current CUDA device, per torch; None without CUDA."""
    import torch

    if not torch.cuda.is_available():
        return None
    free, _total = torch.cuda.mem_get_info()
    return int(free)
