"""Runs of several stages: a warm-start preset first, RM before PPO, another run's adapter."""

from __future__ import annotations

import pytest

from engine.contract.config import ConfigError, RunConfig, config_from_dict
from engine.contract.launch import start_run
from engine.contract.protocol import read_events
from engine.contract.runs import create_run
from engine.planning.stages import plan_stages
from tests.conftest import tiny_config, wait_final


def _events(run, kind):
    return [e for e in read_events(run.events_path) if e["type"] == kind]


def _with_rewards(config: RunConfig, rewards: list[dict]) -> RunConfig:
    return RunConfig.model_validate({**config.model_dump(), "rewards": rewards})


def test_a_preset_in_start_from_becomes_stage_one(tmp_path):
    config = config_from_dict({"model": {"start_from": "sft"}, "method": {"name": "grpo"},
                               "output": {"runs_dir": str(tmp_path)}})
    run = create_run(config)
    first, second = plan_stages(config, run)
    assert (first.name, second.name) == ("sft", "grpo")
    assert first.config.training.max_steps == 30  # the sft preset's own length
    assert first.adapter_dir == run.path / "stages" / "1-sft" / "adapter"
    assert second.config.model.start_from == str(first.adapter_dir)
    assert second.adapter_dir == run.adapter_dir


def test_rm_ppo_trains_the_reward_model_then_ppo_against_it(tmp_path):
    config = config_from_dict({"model": {"start_from": "sft"}, "method": {"name": "rm_ppo", "rm_steps": 7},
                               "output": {"runs_dir": str(tmp_path)}})
    warm, rm, ppo = plan_stages(config, create_run(config))
    assert [s.name for s in (warm, rm, ppo)] == ["sft", "rm", "ppo"]
    assert rm.config.training.max_steps == 7 and rm.config.model.start_from is None
    assert rm.config.dataset.source == "builtin:arithmetic-preference"
    assert ppo.config.method.name == "ppo" and ppo.config.method.reward_model == str(rm.adapter_dir)
    assert ppo.config.model.start_from == str(warm.adapter_dir)


def test_start_from_must_name_something_real(tmp_path):
    config = config_from_dict({"model": {"start_from": str(tmp_path)}, "output": {"runs_dir": str(tmp_path)}})
    with pytest.raises(ConfigError, match="without an adapter"):
        plan_stages(config, create_run(config))
    config = config_from_dict({"model": {"start_from": "no-such-preset"}, "output": {"runs_dir": str(tmp_path)}})
    with pytest.raises(ConfigError, match="not a run directory, an adapter folder or a preset"):
        plan_stages(config, create_run(config))


def test_grpo_warm_started_by_the_sft_preset_in_one_run(tiny_model_dir, tmp_path):
    config = tiny_config(tiny_model_dir, tmp_path / "runs", model={"start_from": "sft"},
                         dataset={"source": "builtin:arithmetic-prompts"},
                         method={"name": "grpo", "num_generations": 2, "max_completion_length": 8},
                         training={"max_steps": 2, "batch_size": 2})
    run, process = start_run(_with_rewards(config, [{"name": "format"}]))
    status = wait_final(run)
    assert status.state == "done", run.log_path.read_text()[-3000:]
    stages = _events(run, "stage")
    assert [(s["index"], s["total"], s["name"]) for s in stages] == [(1, 2, "sft"), (2, 2, "grpo")]
    metrics = _events(run, "metrics")
    assert [m["stage"] for m in metrics].count("sft") == 30 and [m["stage"] for m in metrics].count("grpo") == 2
    assert (run.path / "stages" / "1-sft" / "adapter" / "adapter_model.safetensors").is_file()
    models = _events(run, "model")
    assert models[0]["start_from"] is None
    assert models[1]["start_from"].endswith("stages/1-sft/adapter")
    assert (run.adapter_dir / "adapter_model.safetensors").is_file()


def test_rm_ppo_runs_both_stages_and_scores_with_the_reward_model(tiny_model_dir, tmp_path):
    config = tiny_config(tiny_model_dir, tmp_path / "runs", dataset={"source": "builtin:arithmetic-prompts"},
                         method={"name": "rm_ppo", "rm_steps": 3, "max_new_tokens": 8},
                         training={"max_steps": 2, "batch_size": 2})
    run, process = start_run(config)
    status = wait_final(run)
    assert status.state == "done", run.log_path.read_text()[-3000:]
    assert [s["name"] for s in _events(run, "stage")] == ["rm", "ppo"]
    assert {m["stage"] for m in _events(run, "metrics")} == {"rm", "ppo"}
    samples = _events(run, "sample")
    assert samples and all(set(s["rewards"]) == {"reward_model"} for s in samples)
    assert (run.adapter_dir / "value_head.pt").is_file()


def test_a_run_can_continue_another_runs_adapter(tiny_model_dir, tmp_path):
    first, _ = start_run(tiny_config(tiny_model_dir, tmp_path / "runs", training={"max_steps": 2}))
    assert wait_final(first).state == "done"
    config = tiny_config(tiny_model_dir, tmp_path / "runs", model={"start_from": str(first.path)},
                         dataset={"source": "builtin:arithmetic-preference"}, method={"name": "dpo"},
                         training={"max_steps": 2})
    second, _ = start_run(config)
    assert wait_final(second).state == "done"
    assert not _events(second, "stage")
    assert _events(second, "model")[0]["start_from"] == str(first.adapter_dir)


def test_a_dataset_that_does_not_fit_the_method_fails_before_the_model_loads(tmp_path):
    # An SFT set given to DPO; the model folder does not exist, so loading it first would fail differently.
    config = tiny_config(tmp_path / "no-model", tmp_path / "runs", method={"name": "dpo"})
    run, process = start_run(config)
    status = wait_final(run, timeout=90)
    assert status.state == "failed"
    message = _events(run, "error")[0]["message"]
    assert "DPO" in message and "'chosen'" in message and "'rejected'" in message
    assert "['answer', 'completion', 'prompt']" in message
    assert not _events(run, "model")


def test_an_rm_run_serves_as_grpos_reward_model(tiny_model_dir, tmp_path):
    rm_run, _ = start_run(tiny_config(tiny_model_dir, tmp_path / "runs", method={"name": "rm"},
                                      dataset={"source": "builtin:arithmetic-preference"}, training={"max_steps": 2}))
    assert wait_final(rm_run).state == "done"
    config = tiny_config(tiny_model_dir, tmp_path / "runs", dataset={"source": "builtin:arithmetic-prompts"},
                         method={"name": "grpo", "num_generations": 2, "max_completion_length": 8,
                                 "reward_model": str(rm_run.path)},
                         training={"max_steps": 2, "batch_size": 2})
    run, _ = start_run(_with_rewards(config, [{"name": "format", "weight": 0.5}]))
    assert wait_final(run).state == "done", run.log_path.read_text()[-3000:]
    samples = _events(run, "sample")
    assert samples and all(set(s["rewards"]) == {"format", "reward_model"} for s in samples)
    first = samples[0]
    assert first["reward"] == pytest.approx(0.5 * first["rewards"]["format"] + first["rewards"]["reward_model"])
