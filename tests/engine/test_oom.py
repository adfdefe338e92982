"""Out of memory: the setup shrinks one notch at a time, and a run that hits it goes on by itself.

The error is injected (``RFT_INJECT_OOM_AT_STEP``), so the recovery path runs through
the real worker on a CPU.
"""

from __future__ import annotations

import pytest

from engine.contract.config import RunConfig, config_from_dict
from engine.contract.errors import is_out_of_memory
from engine.contract.launch import start_run
from engine.contract.protocol import read_events
from engine.training.oom_inject import ENV
from engine.training.oom_recovery import CannotShrink, apply, shrink
from tests.conftest import tiny_config, wait_final

SHORT = [{"name": "length", "params": {"target_chars": 0, "tolerance": 30}}]


def _changes(config: RunConfig) -> dict[str, tuple]:
    return {c.key: (c.before, c.after) for c in shrink(config)}


@pytest.mark.parametrize("batch, accumulation, want", [
    (4, 1, (2, 2)), (6, 2, (3, 4)), (5, 1, (1, 5)), (2, 3, (1, 6)),
])
def test_the_micro_batch_halves_and_accumulation_keeps_the_effective_batch(batch, accumulation, want):
    config = config_from_dict({"training": {"batch_size": batch, "gradient_accumulation_steps": accumulation,
                                            "gradient_checkpointing": True}})
    changes = _changes(config)
    assert (changes["training.batch_size"][1], changes["training.gradient_accumulation_steps"][1]) == want
    assert want[0] * want[1] == batch * accumulation


def test_grpo_checkpoints_then_shrinks_prompts_then_answers_per_prompt_then_their_length():
    config = config_from_dict({"method": {"name": "grpo", "num_generations": 8, "max_completion_length": 64},
                               "training": {"batch_size": 2}, "rewards": SHORT})
    seen = []
    while True:
        try:
            changes = shrink(config)
        except CannotShrink as error:
            message = str(error)
            break
        seen.append(", ".join(c.describe() for c in changes))
        config = apply(config, changes)
    assert seen == ["training.gradient_checkpointing False → True",
                    "training.batch_size 2 → 1, training.gradient_accumulation_steps 1 → 2",
                    "method.num_generations 8 → 4", "method.num_generations 4 → 2",
                    "method.max_completion_length 64 → 32", "method.max_completion_length 32 → 16"]
    assert "nothing is left to shrink" in message and "model.max_seq_length" in message


def test_ppo_takes_fewer_rollouts_then_shorter_answers():
    config = config_from_dict({"method": {"name": "ppo", "max_new_tokens": 40}, "training": {"batch_size": 2},
                               "rewards": SHORT})
    assert _changes(config) == {"training.batch_size": (2, 1)}
    config = apply(config, shrink(config))
    assert _changes(config) == {"method.max_new_tokens": (40, 20)}


def test_memory_turns_gradient_checkpointing_on_first_except_for_ppo():
    assert _changes(config_from_dict({"training": {"batch_size": 4}})) == {
        "training.gradient_checkpointing": (False, True)}
    for method in ("dpo", "kto", "orpo", "rm"):
        assert "training.gradient_checkpointing" in _changes(config_from_dict({"method": {"name": method}}))
    ppo = config_from_dict({"method": {"name": "ppo"}, "training": {"batch_size": 2}, "rewards": SHORT})
    assert "training.gradient_checkpointing" not in _changes(ppo)


def test_at_batch_one_sft_refuses_to_shrink_and_says_what_to_change():
    with pytest.raises(CannotShrink, match="batch 1 × accumulation 1"):
        shrink(config_from_dict({"training": {"batch_size": 1, "gradient_checkpointing": True}}))


def test_out_of_memory_is_recognised_by_type_text_or_cause():
    class OutOfMemoryError(RuntimeError):
        pass

    assert is_out_of_memory(OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert is_out_of_memory(RuntimeError("CUDA error: out of memory"))
    try:
        try:
            raise RuntimeError("CUBLAS_STATUS_ALLOC_FAILED: out of memory")
        except RuntimeError as inner:
            raise ValueError("step failed") from inner
    except ValueError as outer:
        assert is_out_of_memory(outer)
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    assert not is_out_of_memory(ValueError("out of memory"))  # not a runtime error: someone else's words


# method, dataset, batch, gradient checkpointing already on, the change wanted
CASES = {
    "sft": ({"name": "sft"}, {"source": "builtin:arithmetic-sft"}, 4, False,
            {"training.gradient_checkpointing": (False, True)}),
    "sft-checkpointed": ({"name": "sft"}, {"source": "builtin:arithmetic-sft"}, 4, True,
                         {"training.batch_size": (4, 2), "training.gradient_accumulation_steps": (1, 2)}),
    "grpo": ({"name": "grpo", "num_generations": 4, "max_completion_length": 8},
             {"source": "builtin:arithmetic-prompts"}, 2, True,
             {"training.batch_size": (2, 1), "training.gradient_accumulation_steps": (1, 2)}),
    "grpo-group": ({"name": "grpo", "num_generations": 4, "max_completion_length": 8},
                   {"source": "builtin:arithmetic-prompts"}, 1, True, {"method.num_generations": (4, 2)}),
    "ppo": ({"name": "ppo", "max_new_tokens": 8}, {"source": "builtin:arithmetic-prompts"}, 2, False,
            {"training.batch_size": (2, 1)}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_out_of_memory_step_saves_shrinks_and_resumes_in_the_same_worker(tiny_model_dir, tmp_path, monkeypatch,
                                                                              case):
    method, dataset, batch, checkpointed, want = CASES[case]
    config = tiny_config(tiny_model_dir, tmp_path, method=method, dataset=dataset,
                         training={"max_steps": 6, "batch_size": batch, "sample_every": 0, "seed": 3,
                                   "gradient_checkpointing": checkpointed})
    if method["name"] != "sft":
        config = RunConfig.model_validate({**config.model_dump(), "rewards": SHORT})
    monkeypatch.setenv(ENV, "3")
    run, process = start_run(config)
    assert wait_final(run, timeout=300).state == "done", run.log_path.read_text()[-3000:]
    assert process.wait(timeout=30) == 0

    events = read_events(run.events_path)
    adjusted = [e for e in events if e["type"] == "adjusted"]
    assert len(adjusted) == 1
    event = adjusted[0]
    assert {c["key"]: (c["from"], c["to"]) for c in event["changes"]} == want
    assert (event["reason"], event["at_step"], event["step"], event["saved"]) == ("out of memory", 4, 3, True)
    assert "out of memory in step 4" in event["message"] and "resuming from checkpoint-3" in event["message"]
    assert [(e["step"], e["checkpoint"]) for e in events if e["type"] == "resume"] == [(3, "checkpoints/checkpoint-3")]
    steps = [e["step"] for e in events if e["type"] == "metrics" and ("loss" in e["values"] or "reward" in e["values"])]
    assert sorted(set(steps)) == list(range(1, 7)) and steps[-1] == 6

    saved = run.load_config()  # a later resume starts from the smaller setup
    for key, (_, after) in want.items():
        section, name = key.split(".")
        assert getattr(getattr(saved, section), name) == after
    assert (run.adapter_dir / "adapter_config.json").is_file()
    assert run.status().step == 6


def test_out_of_memory_at_batch_one_fails_the_run_saying_what_to_change(tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, "2")
    run, _ = start_run(tiny_config(tiny_model_dir, tmp_path, training={"max_steps": 4, "batch_size": 1,
                                                                       "sample_every": 0,
                                                                       "gradient_checkpointing": True}))
    status = wait_final(run, timeout=300)
    assert status.state == "failed"
    assert "Out of memory even at batch 1 × accumulation 1" in status.error
    assert "model.max_seq_length" in status.error and "step 3: CUDA out of memory" in status.error
    assert run.latest_checkpoint().name == "checkpoint-2"  # what was trained is kept for a resume
    assert run.load_config().training.batch_size == 1


def test_gradient_checkpointing_changes_memory_only_not_the_numbers(tiny_model_dir, tmp_path):
    """What out-of-memory recovery turns on first must leave training as it was: the same losses and
    gradient norms step for step (LoRA's gradients flow through the recomputed activations)."""
    logged = []
    for checkpointed in (False, True):
        run, _ = start_run(tiny_config(tiny_model_dir, tmp_path / str(checkpointed),
                                       training={"max_steps": 4, "sample_every": 0,
                                                 "gradient_checkpointing": checkpointed}))
        assert wait_final(run, timeout=300).state == "done", run.log_path.read_text()[-3000:]
        logged.append([(e["values"]["loss"], e["values"]["grad_norm"]) for e in read_events(run.events_path)
                       if e["type"] == "metrics" and "loss" in e["values"]])
    assert len(logged[0]) == 4 and all(norm > 0 for _, norm in logged[0])
    assert logged[1] == pytest.approx(logged[0], rel=1e-4)
