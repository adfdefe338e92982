"""Model helpers the UI uses without torch: the cache listing and the backend guess."""

from __future__ import annotations

from engine.models.resolve import cached_models, predict_backend


def test_cached_models_lists_snapshots_with_a_config(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    (tmp_path / "models--Qwen--Qwen2.5-0.5B-Instruct" / "snapshots" / "abc").mkdir(parents=True)
    (tmp_path / "models--Qwen--Qwen2.5-0.5B-Instruct" / "snapshots" / "abc" / "config.json").write_text("{}")
    (tmp_path / "models--half--downloaded" / "snapshots" / "def").mkdir(parents=True)
    (tmp_path / "datasets--some--set").mkdir()
    assert cached_models() == ["Qwen/Qwen2.5-0.5B-Instruct"]


def test_backend_guess_on_this_cpu_machine():
    assert predict_backend() == "transformers+peft · cpu · float32"
    assert predict_backend("transformers", load_in_4bit=True).endswith("4-bit")
