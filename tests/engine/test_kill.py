"""The kill test: SIGKILL workers at random moments; every run directory reads back, resumes and finishes."""

from __future__ import annotations

import os
import random
import signal
import time

from engine.contract.launch import resume_run, start_run
from engine.contract.protocol import read_events
from tests.conftest import tiny_config, wait_final

RUNS = 12  # three waves: kills while loading (5 of them) and mid-training (7), seen resumed to the end
AT_ONCE = 4  # workers alive together; more only slows each one down on a small machine


def _kill_wave(wave: list, rng: random.Random) -> list[str]:
    """Kill each worker at its own random moment: while loading (a random time after launch), or a random
    fraction of a second after it reports step 1 to 4 (mid-step, or while saving a checkpoint)."""
    started = time.monotonic()
    plans = []
    for run, process in wave:
        step = rng.choice([0, 1, 2, 3, 4])  # a tiny step takes about a tenth of a second
        plans.append([run, process, step, rng.uniform(0.3, 3.0) if step == 0 else rng.uniform(0.0, 0.15), None])
    while any(p[1].poll() is None and p[4] != "killed" for p in plans):
        for plan in plans:
            run, process, step, delay, seen = plan
            if process.poll() is not None or seen == "killed":
                continue
            if step == 0:
                due = time.monotonic() - started >= delay
            else:
                if seen is None and run.read_status_file().step >= step:
                    plan[4] = seen = time.monotonic()
                due = seen is not None and time.monotonic() - seen >= delay
            if due:
                os.kill(process.pid, signal.SIGKILL)
                plan[4] = "killed"
        time.sleep(0.02)
    for _, process, *_ in plans:
        process.wait()
    return [f"step {p[2]}+{p[3]:.2f}s" for p in plans]


def test_runs_killed_at_random_points_read_back_resume_and_finish(tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # four tiny workers share two cores without thrashing
    rng = random.Random(2026)
    config = tiny_config(tiny_model_dir, tmp_path / "runs",
                         training={"max_steps": 5, "batch_size": 2, "save_steps": 1, "sample_every": 0})
    states, moments = [], []  # the plan, then what the run read as
    for first in range(0, RUNS, AT_ONCE):
        wave = [start_run(config) for _ in range(AT_ONCE)]
        plans = _kill_wave(wave, rng)
        for (run, process), seconds in zip(wave, plans):
            status = run.status()  # reads back: an unfinished run of a dead worker is crashed, never stuck
            states.append(status.state)
            moments.append((seconds, status.state, status.step))
            assert status.state in {"crashed", "done"}, (run.name, seconds, status)
            read_events(run.events_path)  # a torn last line is tolerated
            if status.state == "crashed":
                resume_run(run)
        for (run, process), seconds in zip(wave, plans):
            final = wait_final(run, timeout=300)
            errors = [e.get("traceback", e.get("message")) for e in read_events(run.events_path) if e["type"] == "error"]
            assert final.state == "done", (run.name, seconds, final.error, errors[-1:], run.log_path.read_text()[-2000:])
            steps = {e["step"] for e in read_events(run.events_path) if e["type"] == "metrics"}
            assert steps == {1, 2, 3, 4, 5}, (run.name, steps)
            assert (run.adapter_dir / "adapter_model.safetensors").is_file()
    # The moments must have cut real work short: before training and during it.
    crashed_steps = [step for _, state, step in moments if state == "crashed"]
    assert len(crashed_steps) >= RUNS // 2 and 0 in crashed_steps and max(crashed_steps) >= 1, moments
