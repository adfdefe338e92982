"""The pre-flight check: what would fail is refused before any model loads, and a reward that only scores
samples is left out with a warning instead of failing the run (real worker, tiny model)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.contract.config import ConfigError, config_from_dict
from engine.contract.launch import start_run
from engine.contract.presets import load_config
from engine.contract.protocol import read_events
from engine.planning.preflight import check
from tests.conftest import tiny_config, wait_final

# The user's own preference pairs, in columns of their own naming, with no 'answer' column.
OWN_PAIRS = "question,good,bad\n" + "".join(f"What is {a} + {a}?,<answer>{2 * a}</answer>,It is {a}.\n"
                                             for a in range(1, 9))
OWN_PROMPTS = "".join(json.dumps({"prompt": f"What is {a} + 1?"}) + "\n" for a in range(1, 9))


def _own_pairs(folder: Path) -> dict:
    path = folder / "pairs.csv"
    path.write_text(OWN_PAIRS)
    return {"source": str(path), "prompt_column": "question", "chosen_column": "good", "rejected_column": "bad"}


def _prompts(folder: Path) -> str:
    path = folder / "prompts.jsonl"
    path.write_text(OWN_PROMPTS)
    return str(path)


def _one(report, fatal=True):
    found = report.problems if fatal else report.warnings
    assert len(found) == 1, report.findings
    return found[0]


@pytest.mark.parametrize("source, words", [
    ("data/nope.jsonl", "does not exist"),
    ("builtin:nope", "No built-in dataset 'nope'; built-ins: arithmetic-kto"),
])
def test_a_dataset_that_does_not_exist_is_refused(source, words):
    problem = _one(check(load_config("sft", [f"dataset.source={source}"])))
    assert problem.path == "dataset.source" and words in problem.message


def test_a_dataset_that_does_not_fit_the_method_is_refused():
    problem = _one(check(load_config("dpo", ["dataset.source=builtin:arithmetic-sft"])))
    assert problem.path == "dataset.source" and "DPO needs preference" in problem.message


def test_the_shipped_presets_pass_as_they_are():
    for name in ("sft", "dpo", "kto", "orpo", "rm", "grpo", "ppo", "rm_ppo"):
        report = check(load_config(name))
        assert report.findings == [] and not report.pending, (name, report.findings)


def test_full_fine_tuning_at_a_lora_learning_rate_is_warned_not_refused():
    report = check(load_config("sft", ["lora.enabled=false"]))  # the preset's 2e-4 suits an adapter
    warning = _one(report, fatal=False)
    assert not report.problems and warning.path == "training.learning_rate"
    assert "is a LoRA learning rate" in warning.message and "1e-5 to 5e-5" in warning.message
    assert check(load_config("sft", ["lora.enabled=false", "training.learning_rate=2e-5"])).findings == []


def test_a_missing_model_folder_is_refused(tmp_path):
    problem = _one(check(load_config("sft", [f"model.name={tmp_path / 'no-model'}"])))
    assert problem.path == "model.name" and "does not exist" in problem.message


def test_a_hub_id_not_in_the_cache_is_refused_while_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    problem = _one(check(load_config("sft", ["model.name=someone/not-cached-model"])))
    assert "not in the local Hugging Face cache and the hub is offline" in problem.message


def test_an_emptied_field_is_refused_with_its_default():
    with pytest.raises(ConfigError) as error:
        config_from_dict({"training": {"learning_rate": ""}, "model": {"name": " "}})
    assert dict(error.value.problems) == {
        "training.learning_rate": "is empty; type a value (the default is 0.0002)",
        "model.name": "is empty; type a value (the default is 'default')"}
    # A field that may be unset takes blank as unset.
    assert config_from_dict({"dataset": {"prompt_column": ""}}).dataset.prompt_column == ""


def test_grpo_refuses_a_reward_whose_column_is_missing_naming_reward_column_and_fix(tmp_path):
    config = load_config("grpo", [f"dataset.source={_prompts(tmp_path)}"])
    problem = _one(check(config))
    assert problem.path == "rewards.1" and problem.stage == 2  # after the SFT stage it starts from
    assert "reward 'correctness' reads the column 'answer'" in problem.message
    assert 'params = { column = "…" }' in problem.message
    # The fix: name the column that holds the answers.
    (tmp_path / "prompts.jsonl").write_text(OWN_PROMPTS.replace('"}', '", "solution": "2"}'))
    fixed = load_config("grpo", [f"dataset.source={tmp_path / 'prompts.jsonl'}",
                                 'rewards=[{name = "format"}, {name = "correctness", params = {column = "solution"}}]'])
    assert check(fixed).findings == []


def test_a_function_of_yours_with_a_required_column_is_the_same_problem(tmp_path, monkeypatch):
    monkeypatch.setenv("RFT_REWARDS_DIR", str(tmp_path / "rewards"))
    (tmp_path / "rewards").mkdir()
    (tmp_path / "rewards" / "mine.py").write_text(
        "def close(prompts, completions, target, *, unit, scale=1.0, **kwargs):\n"
        "    return [1.0 for c in completions]\n")
    rewards = 'rewards=[{name = "mine.py:close"}]'
    problem = _one(check(load_config("ppo", [f"dataset.source={_prompts(tmp_path)}", rewards])))
    assert "reward 'mine.py:close' reads the column 'target'" in problem.message
    assert "give close's parameter 'target' a default" in problem.message
    # For DPO it only scores samples: left out, not a failure.
    warning = _one(check(load_config("dpo", [f"dataset.{k}={v!r}".replace("'", '"') for k, v in
                                             _own_pairs(tmp_path).items()] + [rewards])), fatal=False)
    assert warning.drop_reward == 0 and "is left out" in warning.message


def test_a_reward_file_that_cannot_run_is_refused_before_any_model_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("RFT_REWARDS_DIR", str(tmp_path))
    (tmp_path / "broken.py").write_text("def f(prompts, completions, **kw):\n    return [1.0\n")
    (tmp_path / "narrow.py").write_text("def f(prompts, completions):\n    return [1.0 for c in completions]\n")
    for name, words in [("broken.py:f", "has a syntax error at line 2"), ("narrow.py:f", "**kwargs"),
                        ("narrow.py:g", "is not defined in narrow.py"), ("gone.py:f", "was not found")]:
        problem = _one(check(load_config("grpo", [f'rewards=[{{name = "{name}"}}]'])))
        assert problem.path == "rewards.0" and words in problem.message, problem


def test_a_method_that_learns_from_rewards_needs_some_but_rm_ppo_brings_its_reward_model():
    assert "learns from rewards and none is set" in _one(check(load_config("grpo", ["rewards=[]"]))).message
    assert check(load_config("rm_ppo", ["rewards=[]"])).findings == []


def test_a_warm_start_stage_is_checked_too(tmp_path):
    (tmp_path / "warm.toml").write_text('[dataset]\nsource = "data/nope.jsonl"\n[method]\nname = "sft"\n')
    problem = _one(check(load_config("grpo", [f"model.start_from={tmp_path / 'warm.toml'}"])))
    assert problem.path == "model.start_from" and problem.message.startswith("stage 1 (SFT, the preset")
    assert "does not exist" in problem.message


def test_dpo_on_your_own_pairs_leaves_the_scoring_reward_out_and_trains(tiny_model_dir, tmp_path):
    config = tiny_config(tiny_model_dir, tmp_path / "runs", method={"name": "dpo"},
                         dataset=_own_pairs(tmp_path), training={"max_steps": 2, "sample_every": 1})
    config = config.model_copy(update={"rewards": load_config("dpo").rewards})  # format and correctness
    warning = _one(check(config), fatal=False)
    assert warning.path == "rewards.1" and "reward 'correctness' is left out" in warning.message
    assert "no 'answer' column" in warning.message

    run, _ = start_run(config)
    assert wait_final(run, timeout=300).state == "done", run.log_path.read_text()[-2000:]
    events = list(read_events(run.events_path))
    warnings = [e["message"] for e in events if e["type"] == "log" and e["level"] == "warning"]
    assert any("reward 'correctness' is left out" in m for m in warnings), warnings
    samples = [e for e in events if e["type"] == "sample"]
    assert samples and all(set(s["rewards"]) == {"format"} for s in samples)


def test_the_worker_refuses_grpo_without_the_column_before_loading_the_model(tiny_model_dir, tmp_path):
    config = tiny_config(tiny_model_dir, tmp_path / "runs", method={"name": "grpo"},
                         dataset={"source": _prompts(tmp_path)})
    config = config.model_copy(update={"rewards": load_config("grpo").rewards})
    run, _ = start_run(config)  # a run started without the app or rft train: the worker checks too
    assert wait_final(run).state == "failed"
    events = list(read_events(run.events_path))
    error = next(e for e in events if e["type"] == "error")["message"]
    assert "rewards.1: reward 'correctness' reads the column 'answer'" in error
    assert not any(e["type"] == "model" for e in events)


def test_rft_train_refuses_what_would_fail_with_exit_status_2_and_no_run_directory(tmp_path):
    for override in ("dataset.source=data/nope.jsonl", "training.learning_rate="):
        result = subprocess.run([sys.executable, "-m", "rft_tui.cli", "train", "sft", "--set", override,
                                 "--runs-dir", str(tmp_path / "runs")], capture_output=True, text=True, timeout=120,
                                cwd=tmp_path)
        output = result.stdout + result.stderr
        assert result.returncode == 2, output
        assert "Traceback" not in output and ("does not exist" in output or "the default is 0.0002" in output)
        assert not (tmp_path / "runs").exists()
