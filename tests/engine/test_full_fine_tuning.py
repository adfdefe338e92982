"""Full fine-tuning (``lora.enabled = false``): every weight trains, through the real worker, and the whole
model it saves resumes, answers beside its base in the playground, and exports merged (never as an adapter).

The tiny random model has the built-in model's tokenizer (llama.cpp's GGUF converter knows it) and learns four
chats until it answers them and stops on its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.contract.launch import resume_run, start_run
from engine.contract.protocol import read_events
from engine.contract.runs import RunDir
from engine.export import sources
from tests.conftest import tiny_config, wait_final, wait_for

PAIRS = [(2, 3), (4, 1), (6, 2), (3, 3)]
STEPS = 40


def _chats(path: Path) -> Path:
    rows = [{"messages": [{"role": "user", "content": f"What is {a} plus {b}?"},
                          {"role": "assistant", "content": str(a + b)}]} for a, b in PAIRS]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def full_run(smol_tiny_model_dir, tmp_path_factory) -> tuple[RunDir, int]:
    """A full fine-tune stopped part way and resumed; returns the run and the step it stopped at."""
    root = tmp_path_factory.mktemp("full-fine-tuning")
    config = tiny_config(smol_tiny_model_dir, root / "runs", model={"max_seq_length": 128},
                         lora={"enabled": False}, dataset={"source": str(_chats(root / "chats.jsonl"))},
                         training={"max_steps": STEPS, "batch_size": 4, "learning_rate": 5e-3, "save_steps": 10,
                                   "sample_every": 0}, eval={"size": 0})
    run, _ = start_run(config)
    wait_for(run, lambda s: s.step >= 5, timeout=300, what="step 5")
    run.send_command("stop")
    stopped = wait_final(run, timeout=300)
    assert stopped.state == "stopped", run.log_path.read_text()[-3000:]
    resume_run(run)
    assert wait_final(run, timeout=300).state == "done", run.log_path.read_text()[-3000:]
    return run, stopped.step


def test_every_weight_trains_and_the_whole_model_is_saved_and_resumed(full_run, smol_tiny_model_dir):
    from safetensors.torch import load_file

    run, stopped_at = full_run
    events = read_events(run.events_path)
    model = next(e for e in events if e["type"] == "model")
    assert model["trainable"] == model["parameters"] and model["backend"] == "transformers+peft"
    assert [e["step"] for e in events if e["type"] == "resume"] == [stopped_at]
    assert sorted({e["step"] for e in events if e["type"] == "metrics"}) == list(range(1, STEPS + 1))
    # The run's result folder holds a whole model, and each checkpoint does too.
    names = {p.name for p in run.adapter_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer_config.json"} <= names and "adapter_config.json" not in names
    assert sources(run)[0] == "final" and "checkpoint-40" in sources(run)
    base = load_file(str(smol_tiny_model_dir / "model.safetensors"))
    tuned = load_file(str(run.adapter_dir / "model.safetensors"))
    assert base.keys() == tuned.keys()
    changed = [name for name in base if not (base[name] == tuned[name]).all()]
    assert len(changed) == len(base), f"weights that did not train: {set(base) - set(changed)}"


def test_the_playground_answers_as_the_base_and_as_the_tuned_model(full_run, smol_tiny_model_dir):
    import torch
    from transformers import AutoModelForCausalLM

    from engine.generation.playground import Playground
    from engine.models.chat_setup import prompt_token_ids

    run, _ = full_run
    playground = Playground(run)
    prompt, _ = playground._prompt({"probe": 0})
    tuned = playground.answer("tuned", prompt, {"max_new_tokens": 16})
    assert tuned["stopped"] and tuned["text"].strip() in {str(a + b) for a, b in PAIRS}, tuned
    # The base side is the untouched base model's own greedy answer, token for token.
    base = playground.answer("base", prompt, {"max_new_tokens": 16})
    plain = AutoModelForCausalLM.from_pretrained(smol_tiny_model_dir, dtype=torch.float32).eval()
    ids = torch.tensor(prompt_token_ids(playground.tokenizer, [prompt]))
    want = plain.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=16, do_sample=False,
                          eos_token_id=playground.tokenizer.eos_token_id,
                          pad_token_id=playground.tokenizer.pad_token_id)[0, ids.shape[1]:]
    assert base["text"] == playground.tokenizer.decode(want, skip_special_tokens=True) != tuned["text"]


def _export(run: RunDir, *args: str) -> dict:
    result = subprocess.run([sys.executable, "-m", "engine.export", str(run.path), *args],
                            capture_output=True, text=True, timeout=600)
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert events, result.stderr[-3000:]
    return events[-1]


def test_the_whole_model_exports_merged_but_has_no_adapter(full_run, capsys):
    # The GGUF export converts the merged folder this writes, the same code as for a merged LoRA run
    # (tests/engine/test_template_families.py); converting it again here would add 15 s and test nothing new.
    run, _ = full_run
    refused = _export(run, "--format", "adapter")
    assert refused["event"] == "error" and "fine-tuned every weight (lora.enabled = false), so it has no adapter" \
        in refused["message"] and "'merged'" in refused["message"]
    assert not (run.path / "exports" / "adapter").exists()
    done = _export(run, "--format", "merged")
    assert done["event"] == "done", done
    checks = {c["name"]: c for c in done["checks"]}
    assert checks["merged reloads"]["ok"] and "stop at the end-of-turn token" in checks["merged reloads"]["detail"]
    merged = run.path / "exports" / "merged"
    assert "every weight trained (full fine-tuning)" in (merged / "README.md").read_text()
    # rft export without --format takes the whole model: its target is the merged export made above.
    from rft_tui.cli import main

    assert main(["export", str(run.path)]) == 2  # stdin is not a terminal here, so it cannot ask to replace
    assert f"{merged} already exists" in capsys.readouterr().out
    assert json.loads((merged / "tokenizer_config.json").read_text())["eos_token"] == "<|im_end|>"


def test_orpo_trains_every_weight_too(tiny_model_dir, tmp_path):
    config = tiny_config(tiny_model_dir, tmp_path / "runs", lora={"enabled": False}, method={"name": "orpo"},
                         dataset={"source": "builtin:arithmetic-preference"},
                         training={"max_steps": 2, "batch_size": 2, "learning_rate": 2e-5, "sample_every": 0})
    run, _ = start_run(config)
    assert wait_final(run, timeout=300).state == "done", run.log_path.read_text()[-3000:]
    events = read_events(run.events_path)
    model = next(e for e in events if e["type"] == "model")
    assert model["trainable"] == model["parameters"]
    assert {"margin", "accuracy"} <= {k for e in events if e["type"] == "metrics" for k in e["values"]}
    assert (run.adapter_dir / "model.safetensors").is_file() and not (run.adapter_dir / "adapter_config.json").exists()
