"""A run on two processes (two CPU ranks over gloo), through the real job, torchrun and worker.

Each test starts ``engine.training.job`` as the dashboard and ``rft train`` do, so the launcher, the
lock, the rank-0-only writer, the broadcast commands and the per-rank checkpoints are the real ones.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


import pytest

from engine.contract.launch import resume_run, start_run
from engine.contract.protocol import read_events
from engine.contract.runs import RunDir
from tests.conftest import tiny_config, wait_final, wait_for

TWO = {"num_processes": 2}


def _steps_logged(run: RunDir) -> list[int]:
    return [e["step"] for e in read_events(run.events_path) if e["type"] == "metrics"]


def _agreement(run: RunDir) -> dict:
    """The last comparison of the ranks' weights (a stopped attempt made one too)."""
    found = [e for e in read_events(run.events_path) if e["type"] == "ranks"]
    assert found, "no ranks event"
    return found[-1]


def _adapter_bytes(run: RunDir) -> bytes:
    return (run.adapter_dir / "adapter_model.safetensors").read_bytes()


def test_sft_on_two_ranks_logs_each_step_once_and_the_ranks_agree(tiny_model_dir, tmp_path):
    config = tiny_config(tiny_model_dir, tmp_path / "runs", training={"max_steps": 6, "batch_size": 2,
                         "sample_every": 0}, distributed=TWO)
    run, _ = start_run(config)
    status = wait_final(run, 300)
    assert status.state == "done", (status, run.log_path.read_text()[-3000:])
    assert status.world_size == 2
    assert _steps_logged(run) == [1, 2, 3, 4, 5, 6]
    events = read_events(run.events_path)
    model = next(e for e in events if e["type"] == "model")
    assert model["world_size"] == 2 and model["strategy"] == "ddp"
    agreement = _agreement(run)
    assert agreement["agree"] and len(agreement["digests"]) == 2
    # Each optimizer step read 2 rows on each of the 2 ranks: 4 rows of the 360 a step.
    epochs = [e["values"]["epoch"] for e in events if e["type"] == "metrics"]
    assert epochs[0] == pytest.approx(4 / 360, rel=1e-3)
    assert (run.adapter_dir / "adapter_model.safetensors").is_file()
    assert [e["state"] for e in events if e["type"] == "status"].count("done") == 1


def test_a_stop_from_the_cli_and_a_resume_give_the_uninterrupted_adapter(tiny_model_dir, tmp_path):
    from rft_tui.cli import main as rft

    training = {"max_steps": 8, "batch_size": 2, "sample_every": 0, "learning_rate": 1e-3}
    config = tiny_config(tiny_model_dir, tmp_path / "runs", training=training, distributed=TWO, eval={"every": 0})
    whole, _ = start_run(config)
    cut, _ = start_run(config)
    wait_for(cut, lambda s: s.step >= 3, timeout=300, what="step 3")
    assert rft(["stop", str(cut.path)]) == 0
    status = wait_final(cut, 300)
    assert status.state == "stopped", (status, cut.log_path.read_text()[-3000:])
    checkpoint = cut.latest_checkpoint()
    assert checkpoint is not None and {p.name for p in checkpoint.glob("rng_state_*.pth")} == \
        {"rng_state_0.pth", "rng_state_1.pth"}
    resume_run(cut)
    assert wait_final(cut, 300).state == "done", cut.log_path.read_text()[-3000:]
    assert wait_final(whole, 300).state == "done", whole.log_path.read_text()[-3000:]
    steps = _steps_logged(cut)
    assert sorted(set(steps)) == list(range(1, 9))
    assert _agreement(cut)["agree"] and _agreement(whole)["agree"]
    assert _adapter_bytes(cut) == _adapter_bytes(whole)


def test_what_several_processes_cannot_do_yet_is_refused_by_key(tiny_model_dir, tmp_path):
    from engine.contract.config import ConfigError

    refusals = [
        ({"method": {"name": "ppo"}, "distributed": TWO}, "distributed.num_processes", "GRPO"),
        ({"distributed": {"num_processes": 2, "strategy": "zero3"}, "model": {"backend": "unsloth"}},
         "model.backend", "'auto'"),
        ({"distributed": {"num_machines": 2, "machine_rank": 2}}, "distributed.machine_rank", "0 to 1"),
        ({"distributed": {"num_machines": 2}}, "distributed.main_process_ip", "machine 0"),
        ({"distributed": {"num_processes": 0}}, "distributed.num_processes", "between 1 and 64"),
    ]
    for sections, key, hint in refusals:
        with pytest.raises(ConfigError) as caught:
            tiny_config(tiny_model_dir, tmp_path / "runs", **sections)
        assert any(path == key and hint in reason for path, reason in caught.value.problems), caught.value.problems


def _rank_pid(run: RunDir, rank: int) -> int:
    """The pid of the worker of ``rank`` in the run's job (read from /proc: torchrun starts them)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"engine.training.worker" in cmdline and str(run.path.resolve()).encode() in cmdline \
                and f"RANK={rank}".encode() in environ:
            return int(entry.name)
    raise AssertionError(f"no worker of rank {rank} for {run.name}")


def test_a_killed_rank_ends_the_job_in_bounded_time_and_the_run_resumes(tiny_model_dir, tmp_path):
    training = {"max_steps": 16, "batch_size": 2, "sample_every": 0, "save_steps": 2}
    config = tiny_config(tiny_model_dir, tmp_path / "runs", training=training, distributed=TWO, eval={"every": 0})
    run, job = start_run(config)
    wait_for(run, lambda s: s.step >= 3, timeout=300, what="step 3")
    os.kill(_rank_pid(run, 1), signal.SIGKILL)
    killed = time.monotonic()
    job.wait(timeout=120)  # the whole job ends: torchrun ends rank 0, nothing waits on the dead rank
    status = run.status()
    assert status.state == "crashed", (status, run.log_path.read_text()[-3000:])
    assert time.monotonic() - killed < 120
    assert not run.worker_alive()
    assert run.latest_checkpoint() is not None
    resume_run(run)
    assert wait_final(run, 300).state == "done", run.log_path.read_text()[-3000:]
    assert _steps_logged(run)[-1] == 16


@pytest.mark.parametrize("method", ["dpo", "grpo"])
def test_dpo_and_grpo_on_two_ranks_log_each_step_once_and_every_ranks_samples(tiny_model_dir, tmp_path, method):
    from engine.contract.config import RunConfig

    grpo = method == "grpo"
    config = tiny_config(tiny_model_dir, tmp_path / "runs", distributed=TWO, eval={"every": 0},
                         dataset={"source": "builtin:arithmetic-prompts" if grpo else "builtin:arithmetic-preference"},
                         method={"name": method, **({"num_generations": 4, "max_completion_length": 12} if grpo else {})},
                         training={"max_steps": 4, "batch_size": 2, "sample_every": 0})
    if grpo:
        config = RunConfig.model_validate({**config.model_dump(), "rewards": [{"name": "format"}]})
    run, _ = start_run(config)
    status = wait_final(run, 300)
    assert status.state == "done", (status, run.log_path.read_text()[-3000:])
    assert _steps_logged(run) == [1, 2, 3, 4]
    assert _agreement(run)["agree"]
    if grpo:  # 2 prompts × 4 answers on each of the 2 ranks, each rank's scored where it was sampled
        samples = [e["step"] for e in read_events(run.events_path) if e["type"] == "sample"]
        assert {step: samples.count(step) for step in set(samples)} == {1: 16, 2: 16, 3: 16, 4: 16}
