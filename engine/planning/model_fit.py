"""Whether each model of the catalog fits a setup: its parameter count and a fit badge.

The badge compares ``memory_estimate.estimate`` for the setup on that model with the memory there
is: the GPU's free memory when ``nvidia-smi`` sees one, else the RAM the kernel says is available
(``MemAvailable`` in /proc/meminfo; a CPU run trains in that). No torch.

- **fits**: the estimate is at most ``TIGHT_SHARE`` (85 %) of the available memory;
- **tight**: above 85 % and up to all of it: it may run, but the estimate is rough (it leaves out
  fragmentation, and other programs' memory moves), and a run that runs out shrinks its micro-batch;
- **won't fit**: the estimate is more than there is.

The estimate is an upper bound at full-length rows (see ``memory_estimate``), so 'tight' is worth a
try and 'won't fit' wants a smaller batch, shorter rows or 4-bit loading first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.contract.config import RunConfig
from engine.models.catalog import ModelEntry
from engine.planning import device_memory
from engine.planning.memory_estimate import GIB, ModelShape, estimate

TIGHT_SHARE = 0.85
FITS, TIGHT, WONT_FIT, UNKNOWN = "fits", "tight", "won't fit", "?"


@dataclass(frozen=True)
class AvailableMemory:
    """How much memory a run could use, and where: ``device`` is 'cuda' (free GPU memory) or 'cpu' (RAM)."""

    bytes: float
    device: str

    def describe(self) -> str:
        where = "free on the GPU" if self.device == "cuda" else "of RAM available (no GPU seen)"
        return f"{self.bytes / GIB:.1f} GiB {where}"


def _mem_available(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    try:
        for line in meminfo.read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024  # kB
    except (OSError, ValueError, IndexError):
        return None
    return None


def available_memory() -> AvailableMemory | None:
    """The free GPU memory when there is a GPU, else the available RAM; None when neither can be read."""
    gpu = device_memory.gpu_free_bytes()
    if gpu is not None:
        return AvailableMemory(gpu, "cuda")
    ram = _mem_available()
    return AvailableMemory(ram, "cpu") if ram is not None else None


@dataclass(frozen=True)
class RatedModel:
    """A catalog entry with what the setup would need on it."""

    entry: ModelEntry
    parameters: int | None  # from config.json; None when its sizes are not there
    needed_bytes: float | None  # the estimate for the setup; None when it cannot be made
    badge: str  # FITS, TIGHT, WONT_FIT or UNKNOWN

    def fit_text(self, available: AvailableMemory | None) -> str:
        """The badge with the numbers behind it, e.g. "fits · ~1.2 of 18.4 GiB"."""
        if self.needed_bytes is None or available is None:
            return self.badge
        needed = f"{self.needed_bytes / GIB:.1f}" if self.needed_bytes >= 0.1 * GIB else "<0.1"
        return f"{self.badge} · ~{needed} of {available.bytes / GIB:.1f} GiB"


def badge_for(needed: float, available: float) -> str:
    if needed <= TIGHT_SHARE * available:
        return FITS
    return TIGHT if needed <= available else WONT_FIT


def rate(entry: ModelEntry, config: RunConfig, available: AvailableMemory | None) -> RatedModel:
    """``entry`` rated for ``config`` against ``available`` (None: no badge, only the parameter count)."""
    shape = ModelShape.from_config(entry.config) if entry.config else None
    if shape is None:
        return RatedModel(entry, None, None, UNKNOWN)
    try:
        parameters = shape.parameters()
        needed = estimate(config, shape, available.device if available is not None else "cuda").total
    except Exception:  # sizes no model has (a zero head count, say): no badge rather than no list
        return RatedModel(entry, None, None, UNKNOWN)
    badge = badge_for(needed, available.bytes) if available is not None else UNKNOWN
    return RatedModel(entry, parameters, needed, badge)


def rate_all(entries: list[ModelEntry], config: RunConfig,
             available: AvailableMemory | None = None) -> list[RatedModel]:
    """Each entry rated for ``config``; ``available`` defaults to ``available_memory()`` (a caller passes
    its own to rate for another machine, or to show fixed numbers)."""
    available = available if available is not None else available_memory()
    return [rate(entry, config, available) for entry in entries]


def parameter_text(count: int | None) -> str:
    """A parameter count as people say it: '135M', '1.5B', '—' when unknown."""
    if count is None:
        return "—"
    if count >= 10**9:
        return f"{count / 10**9:.1f}B".replace(".0B", "B")
    if count >= 10**6:
        return f"{count / 10**6:.0f}M"
    return f"{count / 10**3:.0f}K"


def full_fine_tuning_problem(config: RunConfig, available: AvailableMemory | None = None) -> str | None:
    """Why fine-tuning every weight (``lora.enabled = false``) will not fit, from the estimate against the
    memory there is (``available_memory()`` by default); None when it fits, for LoRA, or when either is unknown.
    LoRA runs that look too big only warn (they shrink their micro-batch on their own); full fine-tuning's
    weights, gradients and optimiser alone can be more than the machine has, which no smaller batch fixes."""
    if config.lora.enabled:
        return None
    from engine.planning.memory_estimate import model_config_json

    data = model_config_json(config.model.name, config.model.revision)
    shape = ModelShape.from_config(data) if data else None
    available = available if available is not None else available_memory()
    if shape is None or available is None:
        return None
    needed = estimate(config, shape, available.device)
    if needed.total <= available.bytes:
        return None
    lora = config.model_copy(update={"lora": config.lora.model_copy(update={"enabled": True})})
    with_lora = estimate(lora, shape, available.device).total
    return (f"full fine-tuning of this {parameter_text(shape.parameters())}-parameter model needs "
            f"{needed.describe()} at {config.model.max_seq_length}-token rows, and there is "
            f"{available.describe()}. Train a LoRA adapter instead (lora.enabled = true, ~{with_lora / GIB:.1f} "
            "GiB), pick a smaller model, or lower training.batch_size or model.max_seq_length.")
