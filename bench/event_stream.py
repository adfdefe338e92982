"""A stand-in worker for the UI benchmark: a run directory whose events arrive at a given rate.

    python -m bench.event_stream RUN_DIR [--rate 200] [--seconds 30]

It writes what rft's worker writes during a GRPO run — one ``metrics`` event
(the values TRL logs) and one ``sample`` event per rollout each step, with
``status.json`` rewritten every step — as fast as a quick GPU run would, and
holds ``worker.lock`` so readers see a live run. ``write_finished_run``
writes a whole finished run at once, for replays.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import math
import os
import random
import sys
import time
from pathlib import Path

from engine.contract.config import config_from_dict
from engine.contract.runs import RunDir, RunStatus, create_run

ROLLOUTS = 8  # samples per step: 2 prompts × 4 answers
CONFIG = {"model": {"name": "default"}, "dataset": {"source": "builtin:arithmetic-prompts"},
          "method": {"name": "grpo"}, "rewards": [{"name": "format"}, {"name": "correctness"}],
          "training": {"max_steps": 100_000}}
PROMPT = "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many?"


def step_events(step: int, t: float, rng: random.Random) -> list[dict]:
    """One GRPO step as the worker logs it: its metrics, then one sample per rollout."""
    reward = 0.4 + 0.5 * (1 - math.exp(-step / 200)) + rng.uniform(-0.1, 0.1)
    values = {"loss": rng.uniform(-0.05, 0.05), "reward": reward, "reward_std": rng.uniform(0.1, 0.4),
              "rewards/format": min(1.0, reward + 0.05), "rewards/format_std": 0.2, "rewards/correctness": reward / 8,
              "rewards/correctness_std": 0.3, "kl": 0.002 * math.sqrt(step), "entropy": rng.uniform(0.5, 1.0),
              "lr": 2e-4, "grad_norm": rng.uniform(0.2, 1.2), "completion_length": rng.uniform(20, 60),
              "completions/max_length": 64.0, "clip_fraction": 0.0, "zero_std_fraction": 0.25, "epoch": step / 200,
              "tokens_per_s": 900.0 + rng.uniform(-50, 50), "step_time": 0.04}
    events = [{"v": 1, "t": t, "type": "metrics", "step": step, "total": CONFIG["training"]["max_steps"],
               "values": values}]
    for i in range(ROLLOUTS):
        right = rng.random() < 0.3
        answer = (f"<think>In May she sold 48 / 2 = 24 clips. Altogether 48 + 24 = {72 if right else 70 + i}."
                  f"</think><answer>{72 if right else 70 + i}</answer>")
        events.append({"v": 1, "t": t, "type": "sample", "step": step, "prompt": PROMPT, "completion": answer,
                       "rewards": {"format": 1.0, "correctness": 1.0 if right else 0.0},
                       "reward": 2.0 if right else 1.0, "advantage": rng.uniform(-1.5, 1.5)})
    return events


def new_run(runs_dir: Path, name: str) -> RunDir:
    return create_run(config_from_dict({**CONFIG, "output": {"run_name": name}}), runs_dir)


def write_finished_run(runs_dir: Path, name: str, n_events: int) -> RunDir:
    """A finished GRPO run of ``n_events`` events (status changes, then whole steps), written at once."""
    run, rng, t0 = new_run(runs_dir, name), random.Random(0), time.time() - 3600
    lines = [{"v": 1, "t": t0, "type": "status", "state": "loading"}, {"v": 1, "t": t0 + 5, "type": "status",
                                                                         "state": "training"}]
    step = 0
    while len(lines) < n_events - 1:
        step += 1
        lines += step_events(step, t0 + 5 + step, rng)
    lines = lines[: n_events - 1] + [{"v": 1, "t": t0 + 10 + step, "type": "status", "state": "done"}]
    run.events_path.write_text("".join(json.dumps(e) + "\n" for e in lines), encoding="utf-8")
    run.write_status(RunStatus(state="done", pid=0, step=step, total=step, created_at=t0, started_at=t0,
                               finished_at=t0 + 10 + step))
    return run


def stream(run: RunDir, rate: float, seconds: float) -> int:
    """Append events at ``rate`` per second for ``seconds``, as the worker does; returns how many."""
    lock = open(run.lock_path, "a+")
    fcntl.flock(lock, fcntl.LOCK_EX)  # a live worker holds this for its whole life
    status = RunStatus(state="training", pid=os.getpid(), total=CONFIG["training"]["max_steps"],
                       created_at=time.time(), started_at=time.time())
    run.write_status(status)
    rng, written, step, pending = random.Random(1), 0, 0, []
    started = time.monotonic()
    with open(run.events_path, "a", encoding="utf-8") as events:
        while time.monotonic() - started < seconds:
            due = int((time.monotonic() - started) * rate)
            while written < due:
                if not pending:
                    step += 1
                    pending = step_events(step, time.time(), rng)
                    status.step = step
                    run.write_status(status, durable=False)
                events.write(json.dumps(pending.pop(0)) + "\n")
                events.flush()  # the worker flushes every event
                written += 1
            time.sleep(0.005)
    status.state, status.finished_at = "done", time.time()
    run.write_status(status)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    written = stream(RunDir(args.run_dir), args.rate, args.seconds)
    print(json.dumps({"events": written}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
