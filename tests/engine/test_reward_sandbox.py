"""Reward functions of your own: found, validated, sandboxed, and used by GRPO on the tiny model."""

from __future__ import annotations

import textwrap

import pytest

from engine.contract.config import RunConfig
from engine.contract.launch import start_run
from engine.contract.protocol import read_events
from engine.rewards.sandbox import SandboxedReward, guard, validate
from engine.rewards.user_files import RewardError, resolve_reward
from tests.conftest import tiny_config, wait_final

# Every function behaves on the load-time check (prompt "What is 2 + 2?") and misbehaves on real prompts,
# so the failures happen mid-run, where the run's policy decides.
USER_FILE = textwrap.dedent('''
    import time

    def _checking(prompts):
        return "2 + 2" in str(prompts[0])

    def short(prompts, completions, **kwargs):
        return [1.0 / (1 + len(str(c))) for c in completions]

    def uses_answer(prompts, completions, answer, **kwargs):
        return [1.0 if a in str(c) else 0.0 for a, c in zip(answer, completions)]

    def boom(prompts, completions, **kwargs):
        if _checking(prompts):
            return [0.0] * len(completions)
        raise ValueError("no idea how to score this")

    def sleepy(prompts, completions, **kwargs):
        if not _checking(prompts):
            time.sleep(60)
        return [0.0] * len(completions)

    def wrong_length(prompts, completions, **kwargs):
        return [0.0] * (len(completions) if _checking(prompts) else 1)

    def not_a_number(prompts, completions, **kwargs):
        return [0.0] * len(completions) if _checking(prompts) else [float("nan")] * len(completions)

    def no_kwargs(prompts, completions):
        return [0.0] * len(completions)
''')


@pytest.fixture
def rewards(tmp_path, monkeypatch):
    folder = tmp_path / "rewards"
    folder.mkdir()
    (folder / "mine.py").write_text(USER_FILE)
    (folder / "broken.py").write_text("def f(prompts, completions, **kw):\n    return [1.0 for c in completions\n")
    monkeypatch.setenv("RFT_REWARDS_DIR", str(folder))
    return folder


def _fn(name: str, timeout_s: float = 5.0) -> SandboxedReward:
    path, function = resolve_reward(f"mine.py:{name}")
    return SandboxedReward(path, function, timeout_s)


REAL = {"prompts": ["Ava has 3 pens."], "completions": ["<answer>3</answer>"], "answer": ["3"]}


def test_a_good_function_is_validated_and_scores(rewards):
    fn = _fn("uses_answer")
    assert validate(fn, "mine.py:uses_answer") == [1.0, 0.0]
    assert fn(**REAL) == [1.0]
    fn.close()


@pytest.mark.parametrize("name, words", [
    ("boom", "raised ValueError: no idea how to score this"),
    ("wrong_length", "returned 1 scores for 1 completions"),
    ("not_a_number", "returned nan on the completion '<answer>3</answer>'"),
])
def test_misbehaving_functions_are_named_with_the_completion(rewards, name, words):
    fn = _fn(name)
    validate(fn, f"mine.py:{name}")
    real = dict(REAL, completions=["<answer>3</answer>", "x"], prompts=["Ava has 3 pens.", "y"]) \
        if name == "wrong_length" else REAL
    with pytest.raises(RewardError) as info:
        fn(**real)
    message = str(info.value)
    assert f"'mine.py:{name}'" in message and (words.replace("1 scores for 1", "1 scores for 2") in message)
    if name == "boom":
        assert "ValueError: no idea how to score this" in info.value.traceback
    fn.close()


def test_a_hang_is_cut_off_and_the_next_call_works(rewards):
    fn = _fn("sleepy", timeout_s=1.0)
    with pytest.raises(RewardError, match="did not return within 1 s"):
        fn(**REAL)
    assert validate(fn, "mine.py:sleepy") == [0.0, 0.0]  # a fresh child took over
    fn.close()


def test_files_are_checked_before_they_run(rewards, tmp_path):
    with pytest.raises(RewardError, match="syntax error at line 2"):
        SandboxedReward(*resolve_reward("broken.py:f"))(**REAL)
    with pytest.raises(RewardError, match=r"def f\(prompts, completions, \*\*kwargs\)"):
        validate(_fn("no_kwargs"), "mine.py:no_kwargs")
    with pytest.raises(RewardError, match="is not defined"):
        validate(_fn("missing"), "mine.py:missing")
    with pytest.raises(RewardError, match="was not found"):
        resolve_reward("nope.py:f")
    (tmp_path / "outside.py").write_text("def f(prompts, completions, **kw):\n    return []\n")
    with pytest.raises(RewardError, match="outside your rewards folder"):
        resolve_reward("../outside.py:f")


def test_skip_policy_scores_none_and_warns():
    warnings = []

    def fails(prompts, completions, **kwargs):
        raise RewardError("mine.py:f", "raised KeyError: 'x'")

    guarded = guard(fails, "skip", warnings.append)
    assert guarded(prompts=["p"], completions=["a", "b"]) == [None, None]
    assert "skipped for this batch" in warnings[0]
    with pytest.raises(RewardError):
        guard(fails, "stop", warnings.append)(prompts=["p"], completions=["a"])


def _grpo(tiny_model_dir, tmp_path, rewards_list, policy="stop", timeout=5.0) -> RunConfig:
    config = tiny_config(tiny_model_dir, tmp_path / "runs", dataset={"source": "builtin:arithmetic-prompts"},
                         method={"name": "grpo", "num_generations": 2, "max_completion_length": 8},
                         training={"max_steps": 2, "batch_size": 2, "on_reward_error": policy,
                                   "reward_timeout_s": timeout})
    return RunConfig.model_validate({**config.model_dump(), "rewards": rewards_list})


def test_grpo_trains_with_a_reward_file_of_yours(tiny_model_dir, tmp_path, rewards):
    run, _ = start_run(_grpo(tiny_model_dir, tmp_path, [{"name": "mine.py:short"}, {"name": "format"}]))
    assert wait_final(run).state == "done", run.log_path.read_text()[-3000:]
    events = read_events(run.events_path)
    assert any("mine.py:short loaded and checked" in e.get("message", "") for e in events)
    metrics = [e for e in events if e["type"] == "metrics"]
    assert "rewards/short" in metrics[-1]["values"]
    samples = [e for e in events if e["type"] == "sample"]
    assert samples and set(samples[0]["rewards"]) == {"short", "format"}


@pytest.mark.parametrize("name, words", [("boom", "raised ValueError"), ("wrong_length", "returned 1 scores")])
def test_a_failing_function_stops_the_run_with_its_name(tiny_model_dir, tmp_path, rewards, name, words):
    run, _ = start_run(_grpo(tiny_model_dir, tmp_path, [{"name": f"mine.py:{name}"}]))
    status = wait_final(run)
    error = next(e for e in read_events(run.events_path) if e["type"] == "error")
    assert status.state == "failed" and f"'mine.py:{name}'" in error["message"] and words in error["message"]
    if name == "boom":
        assert "ValueError: no idea how to score this" in error["traceback"]


def test_skip_policy_keeps_training_through_a_hang(tiny_model_dir, tmp_path, rewards):
    config = _grpo(tiny_model_dir, tmp_path, [{"name": "mine.py:sleepy"}, {"name": "format"}], policy="skip",
                   timeout=1.0)
    run, _ = start_run(config)
    assert wait_final(run).state == "done", run.log_path.read_text()[-3000:]
    warnings = [e["message"] for e in read_events(run.events_path) if e.get("level") == "warning"]
    assert any("did not return within 1 s" in w and "skipped" in w for w in warnings)
