"""Resume: a stopped or killed run continues from its checkpoint and matches an uninterrupted one."""

from __future__ import annotations

import os
import signal

import pytest

from engine.contract.config import RunConfig
from engine.contract.launch import ResumeError, resume_run, start_run
from engine.contract.protocol import read_events
from engine.contract.runs import RunDir
from tests.conftest import tiny_config, wait_final, wait_for

SHORT = [{"name": "length", "params": {"target_chars": 0, "tolerance": 30}}]
CASES = {
    "sft": ({"name": "sft"}, {"source": "builtin:arithmetic-sft"}),
    "grpo": ({"name": "grpo", "num_generations": 4, "max_completion_length": 8}, {"source": "builtin:arithmetic-prompts"}),
    "ppo": ({"name": "ppo", "max_new_tokens": 8}, {"source": "builtin:arithmetic-prompts"}),
}


def _config(model_dir, runs_dir, method: str) -> RunConfig:
    params, dataset = CASES[method]
    config = tiny_config(model_dir, runs_dir, method=params, dataset=dataset,
                         training={"max_steps": 8, "batch_size": 4, "learning_rate": 1e-2, "save_steps": 2,
                                   "sample_every": 0, "seed": 7}, eval={"every": 2, "prompts": 4})
    if method != "sft":
        config = RunConfig.model_validate({**config.model_dump(), "rewards": SHORT})
    return config


def _by_step(run: RunDir, name: str) -> dict[int, float]:
    """The metric per step; a step trained again after a resume counts as its last logging."""
    return {e["step"]: e["values"][name] for e in read_events(run.events_path)
            if e["type"] in ("metrics", "eval") and name in e["values"]}


@pytest.mark.parametrize("method", list(CASES))
def test_a_stopped_run_resumes_and_matches_an_uninterrupted_one_step_for_step(tiny_model_dir, tmp_path, method):
    whole, _ = start_run(_config(tiny_model_dir, tmp_path / "a", method))
    assert wait_final(whole, timeout=300).state == "done"

    run, _ = start_run(_config(tiny_model_dir, tmp_path / "b", method))
    wait_for(run, lambda s: s.step >= 3, timeout=300, what="step 3")
    run.send_command("stop")
    stopped = wait_final(run, timeout=300)
    assert stopped.state == "stopped" and stopped.step < 8
    resume_run(run)
    assert wait_final(run, timeout=300).state == "done"

    resumes = [e for e in read_events(run.events_path) if e["type"] == "resume"]
    assert [e["step"] for e in resumes] == [stopped.step]
    metric = "loss" if method == "sft" else "reward"
    assert list(_by_step(run, metric)) == list(range(1, 9))
    # Both runs train on this machine with the same threads, so they agree whatever its CPU rounds like;
    # no value of either is compared with a number written down elsewhere.
    for name in (metric, "lr"):
        want, got = _by_step(whole, name), _by_step(run, name)
        assert got == pytest.approx(want, rel=1e-5, abs=1e-7), name
    # The held-out evaluation too: the same rows held out, the same numbers at the same steps (the stop
    # adds one evaluation, at the step it saved).
    held_out = "eval_loss" if method == "sft" else "eval_reward"
    want, got = _by_step(whole, held_out), _by_step(run, held_out)
    assert list(want) == [0, 2, 4, 6, 8] and set(want) <= set(got) <= set(want) | {stopped.step}
    assert {step: got[step] for step in want} == pytest.approx(want, rel=1e-5, abs=1e-7)


def test_a_killed_run_reads_as_crashed_then_resumes_from_its_last_checkpoint(tiny_model_dir, tmp_path):
    run, process = start_run(_config(tiny_model_dir, tmp_path, "sft"))
    wait_for(run, lambda s: s.step >= 5, timeout=300, what="step 5")
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    crashed = run.status()
    assert crashed.state == "crashed"
    newest = run.latest_checkpoint()
    assert newest is not None and int(newest.name.split("-")[1]) >= 4
    # A kill while the trainer wrote its state leaves that file cut off: the checkpoint before is used.
    state_file = newest / "trainer_state.json"
    state_file.write_text(state_file.read_text()[:40])
    checkpoint = run.latest_checkpoint()
    assert int(checkpoint.name.split("-")[1]) == int(newest.name.split("-")[1]) - 2  # save_steps = 2
    resume_run(run)
    assert wait_final(run, timeout=300).state == "done"
    assert [e["step"] for e in read_events(run.events_path) if e["type"] == "resume"] == \
        [int(checkpoint.name.split("-")[1])]
    assert list(_by_step(run, "loss")) == list(range(1, 9))
    assert (run.adapter_dir / "adapter_model.safetensors").is_file()


def test_a_finished_or_running_run_is_not_resumed(tiny_model_dir, tmp_path):
    run, _ = start_run(_config(tiny_model_dir, tmp_path, "sft"))
    wait_for(run, lambda s: s.state == "training", timeout=300, what="training")
    with pytest.raises(ResumeError, match="still running"):
        resume_run(run)
    assert wait_final(run, timeout=300).state == "done"
    with pytest.raises(ResumeError, match="finished all its steps"):
        resume_run(run)


def test_a_run_stopped_in_its_first_stage_finishes_that_stage_then_the_next(tiny_model_dir, tmp_path):
    config = tiny_config(tiny_model_dir, tmp_path / "runs", model={"start_from": "sft"},
                         dataset={"source": "builtin:arithmetic-prompts"},
                         method={"name": "grpo", "num_generations": 2, "max_completion_length": 8},
                         training={"max_steps": 2, "batch_size": 2})
    run, _ = start_run(RunConfig.model_validate({**config.model_dump(), "rewards": [{"name": "format"}]}))
    wait_for(run, lambda s: s.stage == "sft" and s.step >= 3, timeout=300, what="SFT step 3")
    run.send_command("stop")
    stopped = wait_final(run, timeout=300)
    assert stopped.state == "stopped" and stopped.stage == "sft"
    resume_run(run)
    assert wait_final(run, timeout=300).state == "done", run.log_path.read_text()[-3000:]
    events = read_events(run.events_path)
    assert [(e["stage"], e["step"]) for e in events if e["type"] == "resume"] == [(1, stopped.step)]
    sft_steps = {e["step"] for e in events if e["type"] == "metrics" and e.get("stage") == "sft"}
    grpo_steps = [e["step"] for e in events if e["type"] == "metrics" and e.get("stage") == "grpo"]
    assert sft_steps == set(range(1, 31)) and grpo_steps == [1, 2]
