"""Running one training for the GPU check: rft's worker or the bare scripts, within the time left, and what
their logs say (speed, peak memory, the estimate beside it)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.record import median
from engine.contract.config import RunConfig, config_from_dict
from engine.contract.presets import load_config
from engine.planning.memory_estimate import GIB, ModelShape, estimate

ROOT = Path(__file__).resolve().parents[2]


class Skipped(Exception):
    """A part that cannot run here; the message says why (no GPU, no Unsloth, out of time)."""


@dataclass
class Plan:
    """What every part shares: where to work, the models, the sizes, and the clock."""

    smoke: bool
    work: Path
    device: str  # 'cuda' | 'cpu'
    models: dict[str, Path]  # role ('main', 'largest') → model folder
    shapes: dict[str, str]  # role → shape name (bench.gpu_check.models.SHAPES)
    steps: int
    seq: int
    batch: int
    deadline: float  # time.monotonic() by which every part must be done
    unsloth: str | None = None  # why Unsloth cannot run here; None when it can
    bitsandbytes: str | None = None  # why 4-bit loading cannot run here
    runs: dict[str, Any] = field(default_factory=dict)  # part name → its RunDir, for the parts after it

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def best_backend(self) -> str:
        return "transformers" if self.unsloth else "unsloth"


def run_config(plan: Plan, method: str, role: str, backend: str, sections: dict | None = None) -> RunConfig:
    """The shipped ``method`` preset on the ``role`` model at the plan's sizes; probes and evaluation off."""
    data = load_config(method).model_dump(mode="json", exclude_none=True)
    data["model"].update(name=str(plan.models[role]), backend=backend, max_seq_length=plan.seq)
    data["model"].pop("start_from", None)  # GRPO's preset starts from an SFT stage: one stage is timed here
    data["training"].update(max_steps=plan.steps, batch_size=plan.batch, sample_every=0, save_steps=0)
    data["eval"] = {"size": 0}
    data["output"] = {"runs_dir": str(plan.work / "runs")}
    for section, values in (sections or {}).items():
        data.setdefault(section, {}).update(values)
    return config_from_dict(data)


def _wait(process: subprocess.Popen, plan: Plan, what: str) -> None:
    try:
        process.wait(timeout=max(1.0, plan.remaining()))
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise TimeoutError(f"{what} was still running when the check's time ran out") from None


def rft_run(plan: Plan, config: RunConfig, env: dict[str, str] | None = None,
            flags: tuple[str, ...] = ()) -> tuple[Any, list[dict]]:
    """Train ``config`` in rft's worker (with the benchmarks' hooks); returns the run and its events."""
    from bench.worker_hooks import launch
    from engine.contract.protocol import read_events
    from engine.contract.runs import create_run

    run = create_run(config)
    _wait(launch(run.path, list(flags), env), plan, f"the {config.method_name} run {run.path}")
    status = run.status()
    if status.state != "done":
        tail = run.log_path.read_text(errors="replace")[-1500:]
        raise RuntimeError(f"the run ended {status.state}: {status.error or ''}\n{tail}")
    return run, read_events(run.events_path)


def measured(plan: Plan, config: RunConfig, events: list[dict]) -> dict[str, float | None]:
    """Speed after the first step, peak GPU memory, and the pre-flight estimate beside it."""
    metrics = [e for e in events if e["type"] == "metrics"]
    later = metrics[1:] or metrics
    speeds = [m["values"]["tokens_per_s"] for m in later if "tokens_per_s" in m["values"]]
    gaps = [b["t"] - a["t"] for a, b in zip(metrics, metrics[1:])]
    peaks = [m["values"].get("memory_peak_reserved_gb", 0.0) for m in metrics]
    shape = ModelShape.from_config(json.loads((Path(config.model.name) / "config.json").read_text()))
    guess = estimate(config, shape, plan.device).total / GIB
    peak = max(peaks, default=0.0) or None
    return {"tokens_per_s": median(speeds) if speeds else None, "step_s": median(gaps) if gaps else None,
            "peak_gib": peak, "estimate_gib": guess, "estimate_over_peak": guess / peak if peak else None}


def bare_run(plan: Plan, config: RunConfig, tag: str, unsloth: bool = False) -> dict[str, float | None]:
    """The same SFT in ``bench.bare_trl`` (plain TRL + PEFT, or ``--unsloth``): step time and peak memory."""
    from bench.bare_trl import settings_json
    from bench.engine_overhead import bare_settings

    settings = bare_settings(config)
    if plan.device == "cuda":
        settings.dtype, settings.bf16 = "bfloat16", True
    settings_path, out = plan.work / f"{tag}.json", plan.work / f"{tag}.jsonl"
    settings_path.write_text(settings_json(settings), encoding="utf-8")
    env = {**os.environ, "PYTHONHASHSEED": "0", "HF_HUB_DISABLE_TELEMETRY": "1", "TOKENIZERS_PARALLELISM": "false"}
    with open(plan.work / f"{tag}.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "bench.bare_trl", str(settings_path), str(out),
                                    *(["--unsloth"] if unsloth else [])], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        _wait(process, plan, f"the bare script {tag}")
    if process.returncode:
        raise RuntimeError(f"the bare script failed:\n{(plan.work / f'{tag}.log').read_text(errors='replace')[-1500:]}")
    records = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    steps = [r for r in records if "step" in r and "loss" in r.get("logs", {})]
    gaps = [b["t"] - a["t"] for a, b in zip(steps, steps[1:])]
    trained = next((r for r in records if r.get("phase") == "trained"), {})
    return {"step_s": median(gaps) if gaps else None, "peak_gib": trained.get("memory_peak_reserved_gb")}
