"""A Hugging Face token in the environment never lands in what rft writes, and telemetry is off."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine.contract.config import ConfigError, apply_overrides, config_from_dict
from engine.contract.launch import start_run
from engine.contract.presets import save_preset
from engine.contract.privacy import TELEMETRY_OFF
from tests.conftest import tiny_config, wait_final

SECRET = "hf_test_secret_value"


def _files_holding(secret: str, *roots: Path) -> list[str]:
    found = []
    for root in roots:
        for path in [root] if root.is_file() else root.rglob("*"):
            if path.is_file() and secret.encode() in path.read_bytes():
                found.append(str(path))
    return found


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads a process's environment from /proc")
def test_a_token_never_lands_in_a_run_a_preset_or_an_export_and_telemetry_is_off(tiny_model_dir, tmp_path,
                                                                                  monkeypatch):
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.setenv(name, SECRET)
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "0")  # a shell that turned it on does not turn it on for a run
    config = tiny_config(tiny_model_dir, tmp_path / "runs", training={"max_steps": 2, "save_steps": 1,
                                                                      "sample_every": 1})
    run, process = start_run(config)
    environment = _environ(process.pid)
    assert {key: environment.get(key) for key in TELEMETRY_OFF} == TELEMETRY_OFF
    assert environment["HF_TOKEN"] == SECRET  # the worker may need it for a gated model; it writes it nowhere
    assert wait_final(run).state == "done"

    failed, _ = start_run(tiny_config(tmp_path / "no-such-model", tmp_path / "runs"))
    assert wait_final(failed).state == "failed"  # an error and its traceback are written too

    preset = save_preset(run.load_config(), "token-check")
    exported = subprocess.run([sys.executable, "-m", "engine.export", str(run.path), "--format", "adapter"],
                              capture_output=True, text=True, timeout=600)
    assert exported.returncode == 0, exported.stderr[-3000:]
    card = run.path / "exports" / "adapter" / "README.md"
    assert card.is_file() and (run.path / "worker.log").is_file() and (run.path / "checkpoints").is_dir()
    assert SECRET not in exported.stdout + exported.stderr
    assert _files_holding(SECRET, run.path, failed.path, preset) == []


def test_a_config_has_no_place_for_a_token_and_refuses_one_without_repeating_it():
    for data in ({"model": {"token": SECRET}}, {"hub_token": SECRET}):
        with pytest.raises(ConfigError) as refused:
            config_from_dict(data)
        assert "unknown key" in str(refused.value) and SECRET not in str(refused.value)
    data: dict = {}
    apply_overrides(data, [f"model.token={SECRET}"])
    with pytest.raises(ConfigError) as refused:
        config_from_dict(data)
    assert SECRET not in str(refused.value)
