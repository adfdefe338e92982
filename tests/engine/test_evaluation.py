"""Held-out evaluation: rows the run never trains on, early stopping, and the best step's adapter."""

from __future__ import annotations

import json

from safetensors.torch import load_file

from engine.contract.launch import start_run
from engine.contract.protocol import read_events
from engine.data import prepare
from engine.data.holdout import eval_split
from engine.methods import get_method
from tests.conftest import tiny_config, wait_final


def _events(run, kind: str) -> list[dict]:
    return [e for e in read_events(run.events_path) if e["type"] == kind]


def test_held_out_prompts_never_reach_a_training_batch(tiny_model_dir, tmp_path):
    """The rows the worker hands the trainer, through the trainer's own tokenizing and batching."""
    from datasets import Dataset

    from engine.models.backend import choose_backend
    from engine.models.lora import load_model
    from engine.training.trainer_context import TrainerContext
    from engine.training.trainers import build_trainer

    config = tiny_config(tiny_model_dir, tmp_path / "runs", eval={"size": 0.25},
                         training={"max_steps": 1, "batch_size": 8})
    spec = get_method("sft")
    rows = prepare(config.dataset, spec.formats, method=spec.title).rows
    train, held, _ = eval_split(config, spec.formats, spec.title, rows, True, spec.answers)
    assert len(held) == 100 and len(train) == 300

    backend = choose_backend("transformers")
    model, tokenizer = load_model(tiny_model_dir, backend, config.model, config.lora, seed=0)
    ctx = TrainerContext(config=config, backend=backend, model=model, tokenizer=tokenizer,
                         train_dataset=Dataset.from_list(train), dataset_format="prompt_completion",
                         output_dir=tmp_path / "out", eval_dataset=Dataset.from_list(held))
    trainer = build_trainer(ctx)
    trained = [tokenizer.decode(ids) for batch in trainer.get_train_dataloader() for ids in batch["input_ids"]]
    assert len(trained) == 300

    def question(row) -> str:
        return row["prompt"][-1]["content"]

    held_questions = {question(row) for row in held}
    assert not [text for text in trained if any(q in text for q in held_questions)]
    assert all(any(question(row) in text for text in trained) for row in train[:20])  # the check can see a prompt
    assert len(trainer.eval_dataset) == 100


def test_a_run_that_gets_worse_stops_early_and_keeps_its_best_adapter(tiny_model_dir, tmp_path):
    # A learning rate this high makes every step worse than the base model on the held-out rows.
    config = tiny_config(tiny_model_dir, tmp_path / "runs", training={"max_steps": 20, "learning_rate": 1.0,
                                                                      "sample_every": 0},
                         eval={"every": 1, "patience": 2, "keep_best": True})
    run, _ = start_run(config)
    status = wait_final(run, timeout=300)
    assert status.state == "done", run.log_path.read_text()[-3000:]

    evals = _events(run, "eval")
    assert [e["step"] for e in evals] == [0, 1, 2]
    losses = [e["values"]["eval_loss"] for e in evals]
    assert losses[1] > losses[0] and losses[2] > losses[0]
    assert max(e["step"] for e in _events(run, "metrics")) == 2  # stopped, 18 steps short of max_steps
    assert any("early stop at step 2: eval_loss has not improved for 2 evaluations" in e["message"]
               for e in _events(run, "log"))

    # keep_best: adapter/ is step 0's (a fresh LoRA: B is zero), and the run says so.
    assert status.best == {"metric": "eval_loss", "value": losses[0], "step": 0, "adapter": "adapter"}
    assert _events(run, "best")[-1]["step"] == 0
    weights = load_file(run.adapter_dir / "adapter_model.safetensors")
    assert all(not tensor.any() for name, tensor in weights.items() if "lora_B" in name)
    assert not (run.path / "best-adapter").exists()


def test_a_separate_eval_dataset_is_read_like_the_training_data(tiny_model_dir, tmp_path):
    mine = tmp_path / "mine.jsonl"
    mine.write_text("".join(json.dumps({"prompt": f"What is {a} plus 1?", "completion": f"<answer>{a + 1}</answer>",
                                        "answer": str(a + 1)}) + "\n" for a in range(12)))
    config = tiny_config(tiny_model_dir, tmp_path / "runs", dataset={"source": "builtin:arithmetic-sft",
                                                                     "max_rows": 16},
                         eval={"source": str(mine), "prompts": 5}, training={"max_steps": 2, "sample_every": 0})
    config = config.model_validate({**config.model_dump(), "rewards": [{"name": "correctness"}]})
    run, _ = start_run(config)
    assert wait_final(run, timeout=300).state == "done", run.log_path.read_text()[-3000:]
    dataset = _events(run, "dataset")[0]
    assert (dataset["rows"], dataset["eval_rows"], dataset["eval_source"]) == (16, 12, str(mine))
    evals = _events(run, "eval")
    assert [e["step"] for e in evals] == [0, 2] and all(e["prompts"] == 5 for e in evals)
    assert {"eval_loss", "eval_reward", "eval_rewards/correctness"} <= set(evals[-1]["values"])
    assert evals[0]["examples"][0]["prompt"].endswith("What is 0 plus 1?")


def test_auto_interval_stretches_only_when_an_evaluation_is_slow_against_a_step():
    from engine.contract.eval_config import auto_interval

    assert auto_interval(1.0, 1.0) == 50  # cheap: the floor
    assert auto_interval(60.0, 13.0) == 50  # 46 steps keep it under a tenth
    assert auto_interval(53.0, 4.0) == 150  # 133 steps, rounded up to fifties
    assert auto_interval(600.0, 0.5) == 12000  # hundreds above a thousand
    assert auto_interval(5.0, 0.0) == 50  # no step time measured
    for eval_s, step_s in ((53.0, 4.0), (3.0, 0.1), (120.0, 2.5)):
        every = auto_interval(eval_s, step_s)
        assert eval_s <= 0.10 * every * step_s + 1e-9  # the promise: one evaluation per a tenth of the steps


def test_auto_interval_is_fixed_from_the_first_steps_and_kept_by_a_resumed_run(tiny_model_dir, tmp_path):
    from engine.contract.launch import resume_run
    from tests.conftest import wait_for

    config = tiny_config(tiny_model_dir, tmp_path / "runs", training={"max_steps": 10, "save_steps": 2,
                                                                      "sample_every": 0})
    assert config.eval.every == "auto"
    run, _ = start_run(config)
    wait_for(run, lambda s: s.step >= 5, timeout=300, what="step 5")
    run.send_command("stop")
    stopped = wait_final(run, timeout=300)
    assert stopped.state == "stopped" and stopped.step < 10
    [plan] = _events(run, "eval_plan")
    # Fixed after four timed steps, from the times it records (rounded in the event: the bounds allow for
    # that). Which interval depends on this machine's load, so only its rule is checked.
    from engine.contract.eval_config import auto_interval

    eval_s, step_s = plan["eval_seconds"], plan["step_seconds"]
    assert plan["step"] == 4 and eval_s > 0 and step_s > 0
    assert auto_interval(eval_s - 5e-4, step_s + 5e-5) <= plan["every"] <= auto_interval(eval_s + 5e-4, step_s - 5e-5)
    assert any(f"evaluating every {plan['every']} steps (eval.every = 'auto')" in e["message"]
               for e in _events(run, "log"))

    # As if a slow machine had fixed it at 3: the resumed attempt evaluates where that plan says.
    lines = run.events_path.read_text().splitlines(keepends=True)
    run.events_path.write_text("".join(
        json.dumps({**event, "every": 3}) + "\n" if event.get("type") == "eval_plan" else line
        for line, event in ((line, json.loads(line)) for line in lines)))
    resume_run(run)
    assert wait_final(run, timeout=300).state == "done", run.log_path.read_text()[-3000:]
    steps = [e["step"] for e in _events(run, "eval")]
    after = [step for step in range(stopped.step + 1, 10) if step % 3 == 0]
    assert steps == [0, stopped.step, *after, 10]
    assert len(_events(run, "eval_plan")) == 1  # kept, not fixed again
