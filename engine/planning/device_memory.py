"""Free GPU memory as the UI can read it: from ``nvidia-smi``, without torch.

The UI must never import torch, so it asks ``nvidia-smi`` (when it is on
``PATH``) and keeps the answer for a while: the setup screen validates on every
keystroke, and a subprocess per keystroke would be felt. No ``nvidia-smi``, no
CUDA: then there is no number and no warning. The worker asks torch instead
(``engine.models.backend.cuda_free_bytes``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

CACHE_S = 30.0
_cache: tuple[float, int | None] | None = None


def _first_visible_gpu() -> str | None:
    """The GPU a worker would use: the first of ``CUDA_VISIBLE_DEVICES``, when it names one by index."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")[0].strip()
    return visible if visible.isdigit() else None


def _ask_nvidia_smi() -> int | None:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    args = [exe, "--query-gpu=memory.free", "--format=csv,noheader,nounits"]
    gpu = _first_visible_gpu()
    if gpu is not None:
        args.append(f"--id={gpu}")
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=3, check=True).stdout
        return int(float(out.strip().splitlines()[0])) * 2**20  # MiB
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def gpu_free_bytes() -> int | None:
    """Free memory of the GPU a run would use, per ``nvidia-smi``; None without one. Cached 30 s."""
    global _cache
    now = time.monotonic()
    if _cache is None or now - _cache[0] > CACHE_S:
        _cache = (now, _ask_nvidia_smi())
    return _cache[1]

