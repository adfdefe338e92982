"""The worker, as a real detached subprocess, training the tiny model with SFT."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from engine.contract.launch import ALLOCATOR_ENV, launch_worker, start_run, worker_env
from engine.contract.protocol import read_events
from engine.contract.runs import create_run
from tests.conftest import tiny_config, wait_final, wait_for

# Eight rows the tiny model can memorise.
MEMO_ROWS = [{"prompt": f"Say the word number {i}.", "completion": f"Word {i} is {w}."}
             for i, w in enumerate(["apple", "river", "stone", "cloud", "tiger", "lemon", "piano", "comet"])]


def _events(run, kind):
    return [e for e in read_events(run.events_path) if e["type"] == kind]


def _load_adapter_and_generate(tiny_model_dir, adapter_dir) -> str:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    model = PeftModel.from_pretrained(base, adapter_dir)
    tokenizer = AutoTokenizer.from_pretrained(adapter_dir)
    inputs = tokenizer.apply_chat_template([{"role": "user", "content": "Say the word number 3."}],
                                           add_generation_prompt=True, return_tensors="pt", return_dict=True)
    output = model.generate(**inputs, max_new_tokens=16, do_sample=False)
    return tokenizer.decode(output[0][inputs["input_ids"].shape[1]:])


def test_sft_memorises_a_small_set_and_saves_a_loadable_adapter(tiny_model_dir, tmp_path):
    data = tmp_path / "memo.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in MEMO_ROWS))
    config = tiny_config(tiny_model_dir, tmp_path / "runs", dataset={"source": str(data)},
                         training={"max_steps": 40, "learning_rate": 5e-3, "batch_size": 8}, lora={"r": 32, "alpha": 64})
    run, process = start_run(config)
    status = wait_final(run)
    assert process.wait(timeout=30) == 0
    assert status.state == "done" and status.step == 40, run.log_path.read_text()[-2000:]

    states = [e["state"] for e in _events(run, "status")]
    assert states[0] == "loading" and states[-3:] == ["training", "saving", "done"]
    metrics = _events(run, "metrics")
    losses = [m["values"]["loss"] for m in metrics]
    assert len(losses) == 40
    # Memorising eight rows holds on any CPU by its size: on AMD EPYC with seeds 0-3 (the test uses the
    # default, 42) the last loss was 0.008-0.010 of the first (needs below 0.3), and every seed's
    # adapter answered "Word 3 is cloud." greedily.
    assert losses[-1] < 0.3 * losses[0], losses
    for name in ("lr", "grad_norm", "tokens_per_s", "token_accuracy"):
        assert name in metrics[-1]["values"], metrics[-1]
    assert "learning_rate" not in metrics[-1]["values"]
    dataset = _events(run, "dataset")[0]
    assert (dataset["rows"], dataset["format"], dataset["truncated"]) == (8, "prompt_completion", 0)
    model = _events(run, "model")[0]
    assert (model["backend"], model["device"], model["dtype"]) == ("transformers+peft", "cpu", "float32")

    text = _load_adapter_and_generate(tiny_model_dir, run.adapter_dir)
    assert "Word 3 is cloud" in text


def test_stop_mid_run_saves_a_checkpoint_and_the_adapter(tiny_model_dir, tmp_path):
    config = tiny_config(tiny_model_dir, tmp_path / "runs", training={"max_steps": 100000})
    run, process = start_run(config)
    wait_for(run, lambda s: s.state == "training" and s.step >= 2, what="step 2")
    run.send_command("save-now")
    wait_for(run, lambda s: any(e["type"] == "checkpoint" for e in read_events(run.events_path)), what="a checkpoint")

    # A second worker on the same run directory must refuse, not corrupt it.
    second = subprocess.run([sys.executable, "-m", "engine.training.worker", str(run.path)], capture_output=True, text=True,
                            timeout=60)
    assert second.returncode == 3 and "already running" in second.stderr

    run.send_command("stop")
    status = wait_final(run)
    assert process.wait(timeout=30) == 0
    assert status.state == "stopped" and 2 <= status.step < 100000
    checkpoints = _events(run, "checkpoint")
    assert len(checkpoints) == 2 and checkpoints[-1]["step"] == status.step
    latest = run.latest_checkpoint()
    assert latest is not None and latest.name == f"checkpoint-{status.step}"
    assert (latest / "optimizer.pt").is_file() and (latest / "adapter_model.safetensors").is_file()
    assert isinstance(_load_adapter_and_generate(tiny_model_dir, run.adapter_dir), str)


def test_sigkill_reads_as_crashed_and_keeps_the_metrics(tiny_model_dir, tmp_path):
    config = tiny_config(tiny_model_dir, tmp_path / "runs", training={"max_steps": 100000})
    run, process = start_run(config)
    # status.json shows a step as it ends, and its metrics event follows: at step 4, step 3's is written.
    wait_for(run, lambda s: s.state == "training" and s.step >= 4, what="step 4")
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    status = run.status()
    assert status.state == "crashed"
    assert len(_events(run, "metrics")) >= 3


def test_sigterm_is_a_polite_stop(tiny_model_dir, tmp_path):
    config = tiny_config(tiny_model_dir, tmp_path / "runs", training={"max_steps": 100000})
    run, process = start_run(config)
    wait_for(run, lambda s: s.state == "training" and s.step >= 1, what="step 1")
    process.send_signal(signal.SIGTERM)
    assert wait_final(run).state == "stopped"
    assert (run.adapter_dir / "adapter_model.safetensors").is_file()


def test_missing_columns_fail_before_any_model_loads(tmp_path):
    data = tmp_path / "qa.jsonl"
    data.write_text(json.dumps({"question": "2+2?", "reply": "4"}) + "\n")
    # The model folder does not exist: had the worker loaded the model first, it would fail on that instead.
    config = tiny_config(tmp_path / "no-such-model", tmp_path / "runs", dataset={"source": str(data)})
    run = create_run(config)
    process = launch_worker(run)
    status = wait_final(run, timeout=90)
    assert process.wait(timeout=30) == 1
    assert status.state == "failed"
    error = _events(run, "error")[0]
    assert "'prompt'" in error["message"] and "'completion'" in error["message"]
    assert "Traceback" in error["traceback"]
    assert not _events(run, "model")
    assert status.error == error["message"]


@pytest.mark.parametrize("model", ["/definitely/not/here", "someone/not-cached-model"])
def test_model_errors_say_what_to_do(tmp_path, model, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    from engine.models.resolve import ModelError, resolve_model

    with pytest.raises(ModelError) as info:
        resolve_model(model)
    message = str(info.value)
    assert ("does not exist" in message and "model.name" in message) if model.startswith("/") else \
        ("offline" in message and "hf download" in message)


def test_the_worker_runs_with_the_allocator_settings_unless_the_user_has_their_own(tiny_model_dir, tmp_path):
    run, process = start_run(tiny_config(tiny_model_dir, tmp_path, training={"max_steps": 1, "sample_every": 0}))
    environ = dict(item.split("=", 1) for item in
                   open(f"/proc/{process.pid}/environ", "rb").read().decode().split("\0") if "=" in item)
    assert {key: environ.get(key) for key in ALLOCATOR_ENV} == ALLOCATOR_ENV
    assert wait_final(run).state == "done"
    # Whoever tunes glibc's allocator by hand gets exactly that: a partial set of ours could undo it.
    own = worker_env({"PATH": os.environ["PATH"], "MALLOC_ARENA_MAX": "2"})
    assert own["MALLOC_ARENA_MAX"] == "2" and not set(ALLOCATOR_ENV) & set(own)
