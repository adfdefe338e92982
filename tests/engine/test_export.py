"""Export through the real ``python -m engine.export`` process: write, read back, check, never clobber."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.contract.launch import start_run
from engine.contract.runs import RunDir
from engine.export import ExportError, export_dir, sources
from tests.conftest import tiny_config, wait_final


def _finished_run(model_dir: Path, runs_dir: Path, method: dict | None = None, dataset: dict | None = None) -> RunDir:
    config = tiny_config(model_dir, runs_dir, method=method or {"name": "sft"}, dataset=dataset or {},
                         training={"max_steps": 6, "batch_size": 4, "learning_rate": 1e-2, "save_steps": 3,
                                   "sample_every": 0})
    run, _ = start_run(config)
    assert wait_final(run, timeout=300).state == "done"
    return run


@pytest.fixture(scope="module")
def sft_run(smol_tiny_model_dir, tmp_path_factory) -> RunDir:
    return _finished_run(smol_tiny_model_dir, tmp_path_factory.mktemp("runs"))


def export(run: RunDir, *args: str) -> tuple[int, list[dict]]:
    result = subprocess.run([sys.executable, "-m", "engine.export", str(run.path), *args],
                            capture_output=True, text=True, timeout=600)
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert events, result.stderr[-3000:]
    return result.returncode, events


def _done(events: list[dict]) -> dict:
    final = events[-1]
    assert final["event"] == "done", final
    assert final["checks"] and all(c["ok"] for c in final["checks"]), final["checks"]
    return final


@pytest.mark.parametrize("args, files", [
    (["--format", "adapter"], {"adapter_model.safetensors", "adapter_config.json", "tokenizer.json", "README.md"}),
    (["--format", "merged"], {"model.safetensors", "config.json", "tokenizer.json", "README.md"}),
    (["--format", "gguf", "--quant", "f16"], {"Modelfile", "README.md"}),
    (["--format", "gguf", "--quant", "q8_0"], {"Modelfile", "README.md"}),
])
def test_each_format_exports_reloads_and_passes_its_check(sft_run, args, files):
    code, events = export(sft_run, *args)
    assert code == 0, events[-1]
    final = _done(events)
    target = Path(final["path"])
    assert target.parent == sft_run.path / "exports" and files <= {p.name for p in target.iterdir()}
    names = [c["name"] for c in final["checks"]]
    card = (target / "README.md").read_text()
    assert "builtin:arithmetic-sft" in card and "| method | sft" in card and "| loss |" in card
    if args[1] == "gguf":
        quant = args[-1]
        assert [p.name for p in target.glob("*.gguf")] == [f"{sft_run.name}-{quant}.gguf"]
        assert {"gguf tensors", "gguf vocabulary", "gguf end-of-turn", "gguf chat template"} <= set(names)
        modelfile = (target / "Modelfile").read_text()
        assert f"FROM ./{sft_run.name}-{quant}.gguf" in modelfile
        assert "<|im_start|>user\n{{ .Content }}<|im_end|>\n" in modelfile
        assert 'PARAMETER stop "<|im_end|>"' in modelfile
    if args[1] == "merged":
        assert json.loads((target / "config.json").read_text())["dtype"] == "float16"
        # 16-bit weights may tip a near-tie (two tokens within TIE_LOGITS) the other way, and which ties
        # tip depends on the CPU's rounding: the check passes either way and says which ties it saw, so
        # on any CPU the answers are identical token for token or identical up to such ties.
        detail = final["checks"][0]["detail"]
        assert "token for token identical" in detail or "identical to the run's up to near-ties" in detail


def test_a_second_export_to_the_same_place_asks_instead_of_overwriting(sft_run):
    target = export_dir(sft_run, "adapter", "checkpoint-3")
    assert export(sft_run, "--format", "adapter", "--source", "checkpoint-3")[0] == 0
    weights = target / "adapter_model.safetensors"
    before = (weights.read_bytes(), weights.stat().st_ino)
    code, events = export(sft_run, "--format", "adapter", "--source", "checkpoint-3")
    assert code == 3 and events[-1]["exists"] and "--force" in events[-1]["message"]
    assert (weights.read_bytes(), weights.stat().st_ino) == before
    code, events = export(sft_run, "--format", "adapter", "--source", "checkpoint-3", "--replace")
    assert code == 0 and weights.stat().st_ino != before[1]  # a new file, renamed into place
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".")], "staging or old copies left behind"


def test_sources_are_the_final_adapter_and_each_checkpoint(sft_run):
    assert sources(sft_run) == ["final", "checkpoint-6", "checkpoint-3"]
    code, events = export(sft_run, "--format", "adapter", "--source", "checkpoint-9")
    assert code == 1 and "Exportable: final, checkpoint-6, checkpoint-3" in events[-1]["message"]


def test_a_failed_check_keeps_nothing(sft_run, monkeypatch):
    from engine.export import make
    from engine.export.checks import Check

    monkeypatch.setattr(make, "same_answers", lambda name, *a: Check(name, False, "probe 1: answers differ"))
    with pytest.raises(ExportError, match="(?s)did not pass its check.*answers differ"):
        make.Exporter(sft_run, "merged", "checkpoint-6", log=lambda m: None).make()
    assert not export_dir(sft_run, "merged", "checkpoint-6").exists()
    assert not [p for p in (sft_run.path / "exports").iterdir() if p.name.startswith(".")]


def test_a_reward_model_exports_its_adapter_only(tiny_model_dir, tmp_path):
    run = _finished_run(tiny_model_dir, tmp_path / "runs", {"name": "rm"}, {"source": "builtin:arithmetic-preference"})
    code, events = export(run, "--format", "merged")
    assert code == 1 and "reward model" in events[-1]["message"] and "'adapter'" in events[-1]["message"]
    code, events = export(run, "--format", "adapter")
    assert code == 0 and _done(events)["checks"][0]["name"] == "reward model reloads"


def test_a_tokenizer_llama_cpp_does_not_know_is_refused_in_words(tiny_model_dir, tmp_path):
    run = _finished_run(tiny_model_dir, tmp_path / "runs")
    code, events = export(run, "--format", "gguf")
    assert code == 1 and "does not know this model's tokenizer" in events[-1]["message"]
    assert not (run.path / "exports" / "gguf-q8_0").exists()


def test_rft_export_prints_the_checks_and_refuses_to_overwrite_without_force(sft_run, capsys):
    from rft_tui.cli import main

    args = ["export", str(sft_run.path), "--format", "merged", "--checkpoint", "3"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "✓ merged reloads" in out and "exports/merged-checkpoint-3" in out
    assert main(args) == 2  # stdin is not a terminal here, so it cannot ask
    out = capsys.readouterr().out
    assert "already exists" in out and "--force" in out
    assert main(args + ["--force"]) == 0


def test_the_built_in_model_exports_to_a_gguf_a_reader_accepts(tmp_path):
    from engine.contract.presets import load_config

    # No held-out evaluation: on the real model its answers cost minutes and the export does not read them.
    config = load_config("sft", ["training.max_steps=1", "training.sample_every=0", "eval.size=0",
                                 f"output.runs_dir={tmp_path}"])
    run, _ = start_run(config)
    assert wait_final(run, timeout=300).state == "done"
    code, events = export(run, "--format", "gguf", "--quant", "q8_0")
    assert code == 0, events[-1]
    checks = {c["name"]: c["detail"] for c in _done(events)["checks"]}
    assert "272 tensors" in checks["gguf tensors"] and "Q8_0" in checks["gguf tensors"]
    assert "49152 tokens, gpt2 tokenizer (pre-tokenizer smollm)" == checks["gguf vocabulary"]
    assert checks["gguf chat template"] == "identical to the tokenizer's"
    assert "<|im_end|>" in checks["gguf end-of-turn"]
