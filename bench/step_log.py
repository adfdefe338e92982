"""Training steps as the two sides of the overhead bench log them, and what is computed from them.

rft's worker logs each step as a ``metrics`` event in ``events.jsonl``;
``bench.bare_trl`` logs TRL's own log dict from a ``TrainerCallback``. Both
carry the wall time of the log, so speed is measured between steps, without
process start or model load.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from bench.record import CpuClock, median
from engine.contract.protocol import canonical_metrics

# Everything the trainers log that does not depend on the clock, under rft's canonical names.
COMPARED = ("loss", "grad_norm", "lr", "token_accuracy", "margin", "accuracy", "reward_chosen", "reward_rejected",
            "reward", "reward_std", "completion_length", "kl", "entropy")


@dataclass
class StepPoint:
    """One logged training step: when it was logged and what it logged."""

    step: int
    t: float
    values: dict[str, float]


def rft_steps(events_path: Path) -> list[StepPoint]:
    """The ``metrics`` events of a run's ``events.jsonl``."""
    points = []
    for line in events_path.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if event.get("type") == "metrics":
            points.append(StepPoint(event["step"], event["t"], event["values"]))
    return points


def bare_steps(out_path: Path) -> list[StepPoint]:
    """The per-step lines of ``bench.bare_trl``'s output (its end-of-training summary left out)."""
    points = []
    for line in out_path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if "step" in record and "train_runtime" not in record["logs"]:
            points.append(StepPoint(record["step"], record["t"], canonical_metrics(record["logs"])))
    return points


def steps_per_s(points: list[StepPoint]) -> float:
    """Steps per second from the first logged step to the last (the first step's own warm-up left out)."""
    if len(points) < 2 or points[-1].t <= points[0].t:
        return float("nan")
    return (points[-1].step - points[0].step) / (points[-1].t - points[0].t)


def median_step_per_s(points: list[StepPoint]) -> float:
    """Steps per second of the median step (robust to a burst of load from elsewhere on a shared machine)."""
    gaps = [(b.t - a.t) / (b.step - a.step) for a, b in zip(points, points[1:]) if b.step > a.step]
    return 1 / median(gaps) if gaps and median(gaps) > 0 else float("nan")


def first_difference(a: list[StepPoint], b: list[StepPoint], keys: tuple[str, ...] = COMPARED) -> str | None:
    """None when every step logged the same values for ``keys`` (those both sides log; the loss always);
    else the first step and value that differ."""
    if [p.step for p in a] != [p.step for p in b]:
        return f"logged steps differ: {[p.step for p in a][:5]}… vs {[p.step for p in b][:5]}…"
    for pa, pb in zip(a, b):
        for key in keys:
            va, vb = pa.values.get(key), pb.values.get(key)
            if key != "loss" and (va is None or vb is None):
                continue
            if va != vb and not (isinstance(va, float) and isinstance(vb, float) and math.isnan(va) and math.isnan(vb)):
                return f"step {pa.step}: {key} {va!r} vs {vb!r}"
    return None


def cpu_per_step(points: list[StepPoint], clock: CpuClock) -> float:
    """CPU seconds per step between the first and the last logged step."""
    if len(points) < 2:
        return float("nan")
    return (clock.at(points[-1].t) - clock.at(points[0].t)) / (points[-1].step - points[0].step)
