"""The embedded default model: converted from the shipped GGUF, trains, and stops talking.

These use the real SmolLM2-135M-Instruct (the README's setup converts it once,
~20 s; afterwards it loads in well under a second).
"""

from __future__ import annotations

import pytest

from engine.contract.launch import start_run
from engine.models.default_model import prepare_default_model
from engine.models.resolve import DEFAULT_MODEL_TITLE, default_gguf_path, resolve_model
from tests.conftest import tiny_config, wait_final

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def default_model_dir():
    return prepare_default_model()


def test_default_model_resolves_to_the_converted_copy(default_model_dir):
    assert default_gguf_path().is_file()
    source = resolve_model("default")
    assert source.kind == "builtin" and source.path == default_model_dir
    assert DEFAULT_MODEL_TITLE in source.title


def test_converted_tokenizer_ends_turns_with_im_end_and_generation_stops(default_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(default_model_dir)
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|im_end|>"
    assert tokenizer.chat_template and "<|im_end|>" in tokenizer.chat_template
    model = AutoModelForCausalLM.from_pretrained(default_model_dir)
    inputs = tokenizer.apply_chat_template([{"role": "user", "content": "What is 2 + 3?"}],
                                           add_generation_prompt=True, return_tensors="pt", return_dict=True)
    output = model.generate(**inputs, max_new_tokens=40, do_sample=False)[0][inputs["input_ids"].shape[1]:]
    assert output[-1].item() == tokenizer.eos_token_id and len(output) < 40
    assert "5" in tokenizer.decode(output, skip_special_tokens=True)


def test_worker_trains_the_default_model_and_its_adapter_generates(default_model_dir, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    config = tiny_config("default", tmp_path / "runs", training={"max_steps": 2, "batch_size": 2},
                         dataset={"max_rows": 8})
    run, process = start_run(config)
    status = wait_final(run, timeout=300)
    assert status.state == "done", run.log_path.read_text()[-2000:]
    base = AutoModelForCausalLM.from_pretrained(default_model_dir)
    model = PeftModel.from_pretrained(base, run.adapter_dir)
    tokenizer = AutoTokenizer.from_pretrained(run.adapter_dir)
    inputs = tokenizer.apply_chat_template([{"role": "user", "content": "What is 7 + 5?"}],
                                           add_generation_prompt=True, return_tensors="pt", return_dict=True)
    text = tokenizer.decode(model.generate(**inputs, max_new_tokens=20, do_sample=False)[0], skip_special_tokens=True)
    assert len(text) > len("What is 7 + 5?")
