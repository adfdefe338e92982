"""The pre-flight memory estimate: parameter counts, what moves it, and when it warns (no torch, no GPU)."""

from __future__ import annotations

import json
import os
import stat

import pytest

from engine.planning import device_memory
from engine.contract.config import config_from_dict
from engine.planning.memory_estimate import BUILTIN_CONFIG, GIB, ModelShape, estimate, model_config_json, preflight_warning

LLAMA_3_8B = {"hidden_size": 4096, "num_hidden_layers": 32, "intermediate_size": 14336, "vocab_size": 128256,
              "num_attention_heads": 32, "num_key_value_heads": 8, "tie_word_embeddings": False}


def test_parameter_counts_match_the_published_models():
    assert ModelShape.from_config(BUILTIN_CONFIG).parameters() == 134_515_008  # SmolLM2-135M
    assert ModelShape.from_config(LLAMA_3_8B).parameters() == 8_030_261_248  # Llama-3-8B
    assert ModelShape.from_config({"n_embd": 768, "n_layer": 12, "vocab_size": 50257}) is not None  # GPT-2 names
    assert ModelShape.from_config({"architectures": ["Mystery"]}) is None


def test_what_moves_the_estimate():
    shape = ModelShape.from_config(LLAMA_3_8B)
    base = {"model": {"max_seq_length": 2048}, "training": {"batch_size": 2}}
    total = lambda **sections: estimate(config_from_dict({**base, **sections}), shape).total
    plain = total()
    assert total(training={"batch_size": 4}) > plain
    assert total(model={"max_seq_length": 2048, "load_in_4bit": True}) < plain - 9 * GIB  # 16 GB of weights → ~5
    assert total(training={"batch_size": 2, "gradient_checkpointing": True}) < plain
    assert total(method={"name": "dpo"}) > plain  # chosen and rejected, and a reference pass
    # A 4-bit 8B model with a small batch is what a 24 GB card trains: the estimate agrees.
    qlora = estimate(config_from_dict({"model": {"max_seq_length": 1024, "load_in_4bit": True},
                                       "training": {"batch_size": 1, "gradient_checkpointing": True}}), shape)
    assert 6 * GIB < qlora.total < 16 * GIB


def test_full_fine_tuning_counts_sixteen_bytes_a_parameter_and_is_refused_when_it_will_not_fit():
    from engine.planning.model_fit import AvailableMemory, full_fine_tuning_problem

    shape = ModelShape.from_config(BUILTIN_CONFIG)
    lora = config_from_dict({"model": {"max_seq_length": 256}, "training": {"batch_size": 1}})
    full = config_from_dict({"model": {"max_seq_length": 256}, "training": {"batch_size": 1},
                             "lora": {"enabled": False}})
    parts = estimate(full, shape, "cuda").parts
    # float32 master weights, and their gradients and AdamW's two moments: 16 bytes a parameter, on any device.
    assert parts["weights"] == 4 * shape.parameters()
    assert parts["gradients+optimizer"] == 12 * shape.parameters() and "adapter+optimizer" not in parts
    assert estimate(full, shape, "cuda").total > estimate(lora, shape, "cuda").total + 1.5 * GIB
    # Against the memory there is: the default model fits 24 GiB of RAM, not 2 GiB of a GPU; LoRA is never refused.
    assert full_fine_tuning_problem(full, AvailableMemory(24 * GIB, "cpu")) is None
    refusal = full_fine_tuning_problem(full, AvailableMemory(2 * GIB, "cuda"))
    assert refusal.startswith("full fine-tuning of this 135M-parameter model needs ~")
    assert "2.0 GiB free on the GPU" in refusal and "lora.enabled = true" in refusal
    assert full_fine_tuning_problem(lora, AvailableMemory(0.1 * GIB, "cuda")) is None


def test_the_warning_comes_only_when_it_will_not_fit():
    config = config_from_dict({"model": {"max_seq_length": 2048}, "training": {"batch_size": 8}})
    shape = ModelShape.from_config(LLAMA_3_8B)
    assert preflight_warning(config, None, shape) is None  # no GPU reading: no verdict
    assert preflight_warning(config, 140 * GIB, shape) is None
    warning = preflight_warning(config, 20 * GIB, shape)
    assert warning.startswith("may not fit in memory: the estimate is ~")
    assert "20.0 GiB is free on the GPU" in warning and "training.batch_size" in warning
    assert "model.load_in_4bit" in warning


def test_a_models_config_is_found_without_loading_or_network(tmp_path, monkeypatch):
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(LLAMA_3_8B))
    assert model_config_json(str(folder)) == LLAMA_3_8B
    # A Hugging Face id, from the hub cache's own layout.
    cache = tmp_path / "hub"
    snapshot = cache / "models--org--name" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text(json.dumps(BUILTIN_CONFIG))
    (cache / "models--org--name" / "refs").mkdir()
    (cache / "models--org--name" / "refs" / "main").write_text("abc123")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    assert model_config_json("org/name") == BUILTIN_CONFIG
    assert model_config_json("org/not-downloaded") is None
    assert model_config_json("default") is not None  # the built-in model, converted or not


@pytest.mark.parametrize("output, want", [("81559\n", 81559 * 2**20), ("", None), ("[N/A]\n", None)])
def test_free_gpu_memory_is_read_from_nvidia_smi(tmp_path, monkeypatch, output, want):
    fake = tmp_path / "nvidia-smi"
    fake.write_text(f"#!/bin/sh\nprintf '{output}'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(device_memory, "_cache", None)
    assert device_memory.gpu_free_bytes() == want


def test_without_nvidia_smi_there_is_no_reading(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(device_memory, "_cache", None)
    assert device_memory.gpu_free_bytes() is None
