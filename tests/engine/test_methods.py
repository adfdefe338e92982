"""Every method through the real worker on the tiny model: metrics, samples, learning."""

from __future__ import annotations

import json
import math
import random
import statistics

import pytest

from engine.config import RunConfig
from engine.launch import start_run
from engine.protocol import read_events
from tests.conftest import tiny_config, wait_final

FORMAT_AND_CORRECTNESS = [{"name": "format"}, {"name": "correctness"}]
# Short answers are something a random tiny model can learn: end the turn early.
# The reward is dense (a random model's ~70-character babble scores ~0.4), so groups differ.
SHORT = [{"name": "length", "params": {"target_chars": 0, "tolerance": 30}}]

SMOKE = {
    "sft": ({"source": "builtin:arithmetic-sft"}, {}, None, {"loss", "lr", "grad_norm", "tokens_per_s"}),
    "rm": ({"source": "builtin:arithmetic-preference"}, {}, None, {"loss", "accuracy", "margin", "reward"}),
    "dpo": ({"source": "builtin:arithmetic-preference"}, {}, None, {"loss", "margin", "accuracy", "reward_chosen"}),
    "orpo": ({"source": "builtin:arithmetic-preference"}, {}, None, {"loss", "margin", "accuracy"}),
    "kto": ({"source": "builtin:arithmetic-kto"}, {}, None, {"loss", "kl", "margin"}),
    "grpo": ({"source": "builtin:arithmetic-prompts"}, {"num_generations": 4, "max_completion_length": 12, "beta": 0.05},
             FORMAT_AND_CORRECTNESS, {"loss", "reward", "reward_std", "kl", "rewards/format", "rewards/correctness",
                                      "entropy"}),
    "ppo": ({"source": "builtin:arithmetic-prompts"}, {"max_new_tokens": 12}, FORMAT_AND_CORRECTNESS,
            {"loss", "reward", "reward_std", "kl", "value_loss", "clip_fraction", "entropy", "rewards/format"}),
}


def _run(tiny_model_dir, tmp_path, method: str, dataset: dict, params: dict, rewards, training: dict) -> list[dict]:
    config = tiny_config(tiny_model_dir, tmp_path / "runs", dataset=dataset, method={"name": method, **params},
                         training=training)
    if rewards:
        config = RunConfig.model_validate({**config.model_dump(), "rewards": rewards})
    run, process = start_run(config)
    status = wait_final(run, timeout=400)
    events = read_events(run.events_path)
    errors = [e for e in events if e["type"] == "error"]
    assert status.state == "done", errors[0]["traceback"] if errors else run.log_path.read_text()[-3000:]
    return events


def _series(events: list[dict], name: str) -> list[float]:
    return [e["values"][name] for e in events if e["type"] == "metrics" and name in e["values"]]


@pytest.mark.parametrize("method", list(SMOKE))
def test_each_method_reports_finite_metrics_and_samples(tiny_model_dir, tmp_path, method):
    dataset, params, rewards, expected = SMOKE[method]
    events = _run(tiny_model_dir, tmp_path, method, dataset, params, rewards,
                  {"max_steps": 3, "batch_size": 2, "sample_every": 2})
    metrics = [e for e in events if e["type"] == "metrics"]
    assert [m["step"] for m in metrics] == [1, 2, 3]
    # KTO logs its margin only for batches holding both labels: look across all steps.
    seen = set().union(*(m["values"] for m in metrics))
    assert expected <= seen, sorted(seen)
    for m in metrics:
        assert all(math.isfinite(v) for v in m["values"].values()), m
    samples = [e for e in events if e["type"] == "sample"]
    if method == "rm":  # a reward model cannot answer: it shows its scores of the probe pairs
        assert [s["side"] for s in samples[:2]] == ["chosen", "rejected"]
        assert all(math.isfinite(s["rewards"]["reward_model"]) for s in samples)
        return
    assert samples and all(s["prompt"] and isinstance(s["completion"], str) for s in samples)
    if rewards:
        assert set(samples[-1]["rewards"]) == {"format", "correctness"}
    if method in {"grpo", "ppo"}:
        assert all("advantage" in s for s in samples)
        per_step = 2 * 4 if method == "grpo" else 2
        assert len(samples) == 3 * per_step


def _toy_preferences(tmp_path, n: int = 64) -> str:
    """A separable set: the chosen answer is a tagged number, the rejected one a refusal."""
    rng = random.Random(0)
    rows = []
    for i in range(n):
        a, b = rng.randint(1, 50), rng.randint(1, 50)
        rows.append({"prompt": f"What is {a} plus {b}?", "chosen": f"<answer>{a + b}</answer>",
                     "rejected": "Sorry, I cannot say."})
    path = tmp_path / "toy-pref.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def _toy_kto(tmp_path, n: int = 64) -> str:
    rng = random.Random(1)
    rows = []
    for i in range(n):
        a, b = rng.randint(1, 50), rng.randint(1, 50)
        good = i % 2 == 0
        rows.append({"prompt": f"What is {a} plus {b}?",
                     "completion": f"<answer>{a + b}</answer>" if good else "Sorry, I cannot say.", "label": good})
    path = tmp_path / "toy-kto.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_reward_model_learns_to_rank_a_separable_set(tiny_model_dir, tmp_path):
    events = _run(tiny_model_dir, tmp_path, "rm", {"source": _toy_preferences(tmp_path)}, {}, None,
                  {"max_steps": 40, "batch_size": 8, "learning_rate": 3e-3})
    accuracy = _series(events, "accuracy")
    assert statistics.fmean(accuracy[-5:]) >= 0.9, accuracy


@pytest.mark.parametrize("method, dataset", [("dpo", "pref"), ("orpo", "pref"), ("kto", "kto")])
def test_preference_margins_grow(tiny_model_dir, tmp_path, method, dataset):
    source = _toy_preferences(tmp_path) if dataset == "pref" else _toy_kto(tmp_path)
    events = _run(tiny_model_dir, tmp_path, method, {"source": source}, {}, None,
                  {"max_steps": 40, "batch_size": 8, "learning_rate": 3e-3, "sample_every": 0})
    margin = _series(events, "margin")
    start, end = statistics.fmean(margin[:5]), statistics.fmean(margin[-5:])
    assert end > start + 0.1 and end > 0, margin


# PPO at batch 4 learnt on some seeds and stalled on others. With the LoRA weights seeded (runs are
# now repeatable), batch 8, lr 1e-2 and whitened rewards went from about 0.47 to reward 1.0 over the
# last five steps on seeds 1, 2 and 3, and to 0.61 on seed 42; the test uses seed 1.
@pytest.mark.parametrize("method, params, training", [
    ("grpo", {"num_generations": 4, "max_completion_length": 24}, {"batch_size": 4, "learning_rate": 2e-2}),
    ("ppo", {"max_new_tokens": 24, "kl_coef": 0.01, "ppo_epochs": 4, "whiten_rewards": True},
     {"batch_size": 8, "learning_rate": 1e-2, "seed": 1}),
])
def test_rl_methods_raise_a_learnable_reward(tiny_model_dir, tmp_path, method, params, training):
    events = _run(tiny_model_dir, tmp_path, method, {"source": "builtin:arithmetic-prompts"}, params, SHORT,
                  {"max_steps": 60, **training})
    reward = _series(events, "reward")
    start, end = statistics.fmean(reward[:5]), statistics.fmean(reward[-5:])
    assert end > start + 0.2, reward


def test_packing_is_allowed_only_where_packed_examples_stay_apart():
    from engine.config import ConfigError
    from engine.methods.sft import check_packing

    check_packing("unsloth", "sdpa")
    check_packing("transformers", "flash_attention_2")
    for attention in ("sdpa", "eager", None):
        with pytest.raises(ConfigError, match="method.packing"):
            check_packing("transformers", attention)
