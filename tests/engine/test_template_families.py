"""Each template family trains, answers and exports with its own stop token, through the real worker and exports.

Tiny random models with the built-in model's tokenizer (llama.cpp's GGUF converter knows it) and the special
tokens and template of each family: Llama 3 (``<|eot_id|>`` ends a turn, EOS is ``<|end_of_text|>``), Gemma
(no system role, ``<end_of_turn>``), Qwen3 (``<|im_end|>``, EOS ``<|endoftext|>``) and a base model with no
template, given ``chat_template = 'chatml'``. Each learns a few chats with a system prompt until it stops on
its own, then the playground and every export must stop at the end of the turn.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.contract.launch import start_run
from engine.contract.runs import RunDir
from tests.conftest import tiny_config, wait_final
from tests.fixtures.tiny_model import build_tiny_model

END_OF_TURN = {"llama3": "<|eot_id|>", "gemma": "<end_of_turn>", "qwen3": "<|im_end|>", "base": "<|im_end|>"}
SYSTEM = "Answer with the number only."
PAIRS = [(2, 3), (4, 1), (6, 2), (3, 3)]


def _chats(path: Path) -> Path:
    rows = [{"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": f"What is {a} plus {b}?"},
                          {"role": "assistant", "content": str(a + b)}]} for a, b in PAIRS]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module", params=list(END_OF_TURN))
def family_run(request, tmp_path_factory) -> tuple[str, RunDir]:
    from engine.models.default_model import prepare_default_model

    family = request.param
    root = tmp_path_factory.mktemp(f"family-{family}")
    model = build_tiny_model(root / "model", tokenizer_from=prepare_default_model(), family=family)
    config = tiny_config(model, root / "runs", model={"name": str(model), "max_seq_length": 128,
                                                      **({"chat_template": "chatml"} if family == "base" else {})},
                         dataset={"source": str(_chats(root / "chats.jsonl"))},
                         training={"max_steps": 40, "batch_size": 4, "learning_rate": 2e-2, "sample_every": 0},
                         eval={"size": 0})
    run, _ = start_run(config)
    assert wait_final(run, timeout=300).state == "done", (run.path / "worker.log").read_text()[-3000:]
    return family, run


def _export(run: RunDir, *args: str) -> dict:
    result = subprocess.run([sys.executable, "-m", "engine.export", str(run.path), *args],
                            capture_output=True, text=True, timeout=600)
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert events and events[-1]["event"] == "done", result.stdout[-3000:] + result.stderr[-3000:]
    checks = {c["name"]: c for c in events[-1]["checks"]}
    assert all(c["ok"] for c in checks.values()), checks
    return events[-1] | {"checks": checks}


def test_the_tuned_model_stops_at_the_end_of_its_turn_in_the_playground(family_run):
    from engine.generation.playground import Playground

    family, run = family_run
    playground = Playground(run)
    assert playground.tokenizer.eos_token == END_OF_TURN[family]
    # A chat it learnt (with the system prompt, folded into the user turn where the template has no system
    # role): the right number, then the end of the turn.
    prompt, _ = playground._prompt({"probe": 0})
    answer = playground.answer("tuned", prompt, {"max_new_tokens": 24})
    assert answer["stopped"] and answer["text"].strip() == str(sum(PAIRS[0])), answer
    typed, _ = playground._prompt({"prompt": "What is 4 plus 1?"})
    assert playground.answer("tuned", typed, {"max_new_tokens": 24})["stopped"]
    # The adapter's saved tokenizer carries the template and the stop token.
    saved = json.loads((run.path / "adapter" / "tokenizer_config.json").read_text())
    assert saved["eos_token"] == END_OF_TURN[family]
    if family == "base":
        template = (run.path / "adapter" / "chat_template.jinja").read_text()
        assert "<|im_start|>" in template and "<|im_end|>" in template


def test_every_export_round_trips_with_the_family_stop_token(family_run):
    family, run = family_run
    adapter = _export(run, "--format", "adapter")
    assert "stop at the end-of-turn token" in adapter["checks"]["adapter reloads"]["detail"]
    merged = _export(run, "--format", "merged")
    folder = Path(merged["path"])
    generation = json.loads((folder / "generation_config.json").read_text())
    tokenizer_config = json.loads((folder / "tokenizer_config.json").read_text())
    assert tokenizer_config["eos_token"] == END_OF_TURN[family]
    from transformers import AutoTokenizer

    eot_id = AutoTokenizer.from_pretrained(folder).convert_tokens_to_ids(END_OF_TURN[family])
    stops = generation["eos_token_id"] if isinstance(generation["eos_token_id"], list) else [generation["eos_token_id"]]
    assert eot_id in stops
    gguf = _export(run, "--format", "gguf", "--quant", "f16")
    assert f"({END_OF_TURN[family]})" in gguf["checks"]["gguf end-of-turn"]["detail"]
    assert gguf["checks"]["gguf chat template"]["detail"] == "identical to the tokenizer's"
    modelfile = (Path(gguf["path"]) / "Modelfile").read_text()
    assert f'PARAMETER stop "{END_OF_TURN[family]}"' in modelfile
