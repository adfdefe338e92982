"""Shared fixtures: the tiny model (built once per session) and run helpers."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from engine.contract.config import RunConfig, config_from_dict
from engine.contract.runs import FINAL_STATES, RunDir, RunStatus

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
    # Tests run side by side (pytest -n): one math thread per process, inherited by the
    # workers they start, so the processes share the cores instead of fighting over them.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")


def pytest_terminal_summary(terminalreporter) -> None:
    """After a run that included the bad-input suite, say how many cases it holds (this runs in the
    main process, so the line shows also when test files run side by side)."""
    reports = (r for outcome in ("passed", "failed") for r in terminalreporter.stats.get(outcome, []))
    if any("test_bad_input.py" in getattr(r, "nodeid", "") for r in reports):
        from tests.engine.test_bad_input import case_counts

        terminalreporter.write_line(case_counts())


@pytest.fixture(scope="session", autouse=True)
def private_presets_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tests never read or write the developer's own saved presets."""
    path = tmp_path_factory.mktemp("user-presets")
    os.environ["RFT_PRESETS_DIR"] = str(path)
    return path


@pytest.fixture(scope="session", autouse=True)
def private_recent_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Runs of the tiny models are not remembered in the developer's own list of model folders."""
    path = tmp_path_factory.mktemp("recent-models") / "recent_models.json"
    os.environ["RFT_RECENT_MODELS"] = str(path)
    return path


@pytest.fixture(autouse=True)
def no_worker_outlives_its_test(tmp_path: Path):
    """A test that fails half-way may leave a long run's worker training; it would slow every test
    after it. Kill any worker still running from this test's runs."""
    yield
    import json
    import signal

    for status_file in tmp_path.glob("**/status.json"):
        try:
            pid = int(json.loads(status_file.read_text()).get("pid") or 0)
            if pid <= 1:
                continue
            args = [a.decode() for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")]
            cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
        except (OSError, ValueError):
            continue
        if "engine.training.worker" in args and args.index("engine.training.worker") + 1 < len(args) and \
                (cwd / args[args.index("engine.training.worker") + 1]).resolve() == status_file.parent.resolve():
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama + ChatML tokenizer folder, built offline once."""
    from tests.fixtures.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


def tiny_config(model_dir: Path, runs_dir: Path, **sections: dict | list) -> RunConfig:
    """A RunConfig for the tiny model; ``sections`` are merged over the defaults (a list, like
    ``rewards``, replaces its default)."""
    data: dict = {
        "model": {"name": str(model_dir), "max_seq_length": 256},
        "dataset": {"source": "builtin:arithmetic-sft"},
        "method": {"name": "sft"},
        "training": {"max_steps": 5, "batch_size": 4, "learning_rate": 1e-3},
        "output": {"runs_dir": str(runs_dir)},
    }
    for key, value in sections.items():
        if isinstance(value, list):
            data[key] = value
        else:
            data.setdefault(key, {}).update(value)
    return config_from_dict(data)


def wait_for(run: RunDir, predicate, timeout: float = 120.0, what: str = "condition") -> RunStatus:
    """Poll a run's status until ``predicate(status)`` holds; fail with the worker log if not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = run.status()
        if predicate(status):
            return status
        if status.state in FINAL_STATES:
            break
        time.sleep(0.1)
    log = run.log_path.read_text(errors="replace")[-3000:] if run.log_path.exists() else ""
    raise AssertionError(f"run never reached {what}; last state {run.status().state}\n{log}")


def wait_final(run: RunDir, timeout: float = 180.0) -> RunStatus:
    return wait_for(run, lambda s: s.state in FINAL_STATES, timeout, "a final state")


@pytest.fixture(scope="session")
def smol_tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with the built-in model's tokenizer, which llama.cpp's GGUF converter knows."""
    from engine.models.default_model import prepare_default_model
    from tests.fixtures.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("smol-tiny-model"), tokenizer_from=prepare_default_model())
