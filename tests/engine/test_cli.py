"""The ``rft`` command line, run as a user runs it."""

from __future__ import annotations

import subprocess
import sys

from engine.contract.runs import find_run
from engine.contract.protocol import read_events


def _rft(*args: str, cwd=None, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rft_tui.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


def test_train_shows_progress_and_prints_the_run_directory_then_runs_lists_it(tiny_model_dir, tmp_path):
    runs_dir = tmp_path / "runs"
    result = _rft("train", "sft", "--set", f"model.name={tiny_model_dir}", "--max-steps", "4",
                  "--runs-dir", str(runs_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "step 4/4 · loss" in result.stdout
    assert "[training]" in result.stdout and "done: adapter in" in result.stdout
    run_path = result.stdout.strip().splitlines()[-1].removeprefix("run directory: ")
    run = find_run(run_path)
    assert (run.adapter_dir / "adapter_config.json").is_file()
    assert run.load_config().training.max_steps == 4
    assert sum(e["type"] == "metrics" for e in read_events(run.events_path)) == 4

    listing = _rft("runs", "--runs-dir", str(runs_dir))
    line = next(l for l in listing.stdout.splitlines() if run.name in l)
    assert "done" in line and "sft" in line and "4/4" in line


def test_train_refuses_a_bad_preset_naming_the_field(tmp_path):
    result = _rft("train", "sft", "--set", "training.learning_rate=-1", "--runs-dir", str(tmp_path))
    assert result.returncode == 2
    assert "training.learning_rate" in result.stdout and "greater than 0" in result.stdout
    assert not any(tmp_path.iterdir())


def test_train_reports_a_failed_run(tiny_model_dir, tmp_path):
    # Only loading the model shows that no layer has that name (what the pre-flight check can know, rft train
    # refuses before starting: tests/engine/test_preflight.py).
    result = _rft("train", "sft", "--set", f"model.name={tiny_model_dir}", "--set",
                  'lora.target_modules=["no_such_layer"]', "--runs-dir", str(tmp_path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "failed:" in result.stdout and "LoRA cannot be applied" in result.stdout


def test_stop_and_runs_on_unknown_or_empty(tmp_path):
    result = _rft("stop", "ghost", "--runs-dir", str(tmp_path))
    assert result.returncode == 2 and "no run 'ghost'" in result.stdout
    (tmp_path / "empty").mkdir()
    assert "no runs in" in _rft("runs", "--runs-dir", str(tmp_path / "empty")).stdout
