"""The GPU check's harness, proven on the CPU before any device time is spent: ``--smoke`` runs every part
that can run here (rft's worker on transformers, the bare TRL script, GRPO, DPO, the out-of-memory recovery,
both exports) on a tiny model and records the GPU-only parts as skipped, with the reason."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.gpu_check.parts import overheads
from bench.gpu_check.record import write

ROOT = Path(__file__).resolve().parents[2]
GPU_ONLY = {"sft_unsloth", "bare_unsloth", "qlora"}
SKIPPED = GPU_ONLY | {"sft_largest"}  # the smoke run's one model is not larger


def test_the_smoke_run_measures_every_part_the_cpu_can_run_and_writes_one_record(tmp_path):
    result = subprocess.run([sys.executable, "-m", "bench.gpu_check", "--smoke", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    [data] = tmp_path.glob("*-gpu-check-smoke.json")
    record = json.loads(data.read_text())
    parts = record["parts"]
    assert {name for name, p in parts.items() if p["status"] == "skipped"} == SKIPPED
    assert all("no CUDA GPU" in parts[name]["note"] for name in GPU_ONLY)
    assert all(p["status"] == "ok" for name, p in parts.items() if name not in SKIPPED), parts
    sft = parts["sft_transformers"]["numbers"]
    assert sft["tokens_per_s"] > 0 and sft["step_s"] > 0 and sft["estimate_gib"] > 0
    assert sft["trainable"] < sft["parameters"]
    assert parts["bare_trl"]["numbers"]["step_s"] > 0
    assert record["overheads"]["rft_transformers_over_bare_trl"] > 0
    assert 0 < parts["grpo_step"]["numbers"]["generate_share"] < 1
    assert parts["out_of_memory"]["numbers"]["adjustments"] >= 1
    assert "resuming from checkpoint" in parts["out_of_memory"]["numbers"]["recovery"]
    assert parts["export"]["numbers"]["adapter_mb"] > 0 and parts["export"]["numbers"]["merged_mb"] > 0
    page = data.with_suffix(".md").read_text()
    assert page.startswith(f"# {record['date']}: CPU smoke run of the harness")
    assert "| SFT, bare Unsloth script | skipped |" in page


def test_a_record_of_the_same_day_is_kept_and_overheads_pair_the_same_run(tmp_path):
    record = {"date": "2026-12-02", "smoke": False, "device": "cuda", "shapes": {}, "settings": {}, "seconds": 1.0,
              "parts": {"sft_unsloth": {"title": "a", "status": "ok", "seconds": 1.0, "note": "",
                                        "numbers": {"step_s": 0.11}},
                        "bare_unsloth": {"title": "b", "status": "ok", "seconds": 1.0, "note": "",
                                         "numbers": {"step_s": 0.10}},
                        "bare_trl": {"title": "c", "status": "failed", "seconds": 1.0, "note": "boom",
                                     "numbers": {}}}}
    record["overheads"] = overheads(record["parts"])
    assert record["overheads"] == {"rft_unsloth_over_bare_unsloth": 0.11 / 0.10}
    first, _ = write(record, tmp_path)
    second, _ = write(record, tmp_path)
    assert first.name == "2026-12-02-gpu-check.md" and second.name == "2026-12-02-gpu-check-2.md"
    assert "| c | failed | 1.0 |" in first.read_text() and "rft_unsloth_over_bare_unsloth 1.100" in first.read_text()
