"""Every shipped preset runs two steps on the real default model.

The presets that warm-start from the SFT preset continue one short SFT run
made here instead, so the suite stays within minutes on a CPU.
"""

from __future__ import annotations

import math

import pytest

from engine.contract.config import PRESETS_DIR
from engine.contract.launch import start_run
from engine.contract.presets import load_config
from engine.contract.protocol import read_events
from tests.conftest import wait_final

pytestmark = pytest.mark.slow
PRESETS = sorted(p.stem for p in PRESETS_DIR.glob("*.toml"))


def _two_steps(name: str, runs_dir, start_from=None):
    # Samples on the real model are covered by test_default_model; here they would only cost minutes. The
    # held-out evaluation runs, on 4 held-out prompts and 2 answers of at most 24 tokens instead of 40, 32
    # and the method's answer length: on this CPU the preset's own size took DPO and KTO from 45 s to 6
    # minutes, and a cut-off answer takes every path a whole one does (scoring, the metric).
    overrides = ["training.max_steps=2", "training.sample_every=0", "eval.size=4", "eval.prompts=2",
                 "eval.max_new_tokens=24", f'output.runs_dir="{runs_dir}"']
    # Sampled answers of 24 tokens take every path 64 do (generation, rewards on cut-off answers, the loss);
    # on this CPU generating is most of a GRPO or PPO step.
    answer = {"grpo": "max_completion_length", "ppo": "max_new_tokens", "rm_ppo": "max_new_tokens"}.get(name)
    if answer:
        overrides.append(f"method.{answer}=24")
    config = load_config(name, overrides)
    if config.training.batch_size > 2:
        # Two rows a step take every code path the preset's batch does (padding, KTO's mismatched pairs,
        # PPO's mini-batches) at a fraction of the CPU time; what fits in memory is the estimate's job.
        config = config.model_copy(update={"training": config.training.model_copy(update={"batch_size": 2})})
    if config.model.start_from:
        assert start_from is not None
        config = config.model_copy(update={"model": config.model.model_copy(update={"start_from": str(start_from)})})
    if config.method_name == "rm_ppo":
        config = config.model_copy(update={"method": config.method.model_copy(update={"rm_steps": 2})})
    run, _ = start_run(config)
    status = wait_final(run, timeout=600)
    events = read_events(run.events_path)
    errors = [e["traceback"] for e in events if e["type"] == "error"]
    assert status.state == "done", errors[0] if errors else run.log_path.read_text()[-3000:]
    return run, events


@pytest.fixture(scope="module")
def sft_run(tmp_path_factory):
    run, _ = _two_steps("sft", tmp_path_factory.mktemp("runs"))
    return run


@pytest.mark.parametrize("name", PRESETS)
def test_preset_runs_two_steps_on_the_default_model(name, sft_run, tmp_path):
    run, events = (sft_run, read_events(sft_run.events_path)) if name == "sft" else \
        _two_steps(name, tmp_path, start_from=sft_run.path)
    metrics = [e for e in events if e["type"] == "metrics"]
    last_stage = metrics[-1].get("stage")
    assert [m["step"] for m in metrics if m.get("stage") == last_stage] == [1, 2]
    assert all(math.isfinite(v) for m in metrics for v in m["values"].values())
    evals = [e for e in events if e["type"] == "eval" and e.get("stage") == last_stage]
    assert [e["step"] for e in evals] == [0, 2] and all(math.isfinite(v) for e in evals for v in e["values"].values())
    model = next(e for e in events if e["type"] == "model")
    assert model["title"].startswith("SmolLM2-135M-Instruct")
    assert (run.adapter_dir / "adapter_config.json").is_file()
