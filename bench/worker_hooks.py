"""rft's worker, run in this process with the benchmarks' measuring hooks around it.

    python -m bench.worker_hooks RUN_DIR [--imports] [--trl-timing]

The worker itself is unchanged (``engine.training.worker.main``); the hooks only watch:

- ``--imports``: the wall-clock spans of first-time imports of the heavy
  libraries (torch, transformers, peft, trl, datasets, …), outermost only, so
  a bench can tell import time from the work around it. Written to
  ``RUN_DIR/bench-imports.json``.
- ``--trl-timing``: TRL times its own blocks (``transformers.generate``, each
  reward function, ``compute_loss``) but reports them only to wandb, MLflow or
  trackio; this keeps each timing, with the step it belongs to, in
  ``RUN_DIR/bench-trl-timing.jsonl``. TRL is patched when it is first
  imported, never imported early (Unsloth must come first on a GPU).
"""

from __future__ import annotations

import builtins
import importlib
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

HEAVY = {"torch", "transformers", "peft", "trl", "datasets", "accelerate", "safetensors", "tokenizers", "numpy",
         "gguf", "pandas", "pyarrow", "scipy", "sklearn", "unsloth"}


class ImportTimer:
    """Records (start, end, module) for outermost first-time imports of ``HEAVY`` packages."""

    def __init__(self, after_import=None):
        self.spans: list[tuple[float, float, str]] = []
        self.depth = 0
        self.after_import = after_import  # called after every import (to patch a module once it exists)
        self._import, self._import_module = builtins.__import__, importlib.import_module

    def install(self) -> None:
        builtins.__import__ = self._wrapped_import
        importlib.import_module = self._wrapped_import_module

    def _timed(self, top: str, full: str, call):
        if self.depth or top not in HEAVY or full in sys.modules:
            self.depth += 1
            try:
                return call()
            finally:
                self.depth -= 1
                if self.after_import and not self.depth:
                    self.after_import()
        start = time.time()
        self.depth += 1
        try:
            return call()
        finally:
            self.depth -= 1
            self.spans.append((start, time.time(), full))
            if self.after_import:
                self.after_import()

    def _wrapped_import(self, name, globals=None, locals=None, fromlist=(), level=0):
        if level:  # a relative import happens inside a package, so inside an import already counted
            return self._import(name, globals, locals, fromlist, level)
        return self._timed(name.partition(".")[0], name,
                           lambda: self._import(name, globals, locals, fromlist, level))

    def _wrapped_import_module(self, name, package=None):
        full = importlib.util.resolve_name(name, package) if name.startswith(".") else name
        return self._timed(full.partition(".")[0], full, lambda: self._import_module(name, package))


class TrlTimings:
    """Keeps TRL's own block timings (``profiling_context``) in a JSON-lines file."""

    def __init__(self, path: Path):
        self.path = path
        self.patched = False

    def patch_when_imported(self) -> None:
        module = sys.modules.get("trl.extras.profiling")
        if self.patched or module is None or not hasattr(module, "ProfilingContext"):
            return
        self.patched = True
        handle = open(self.path, "a", encoding="utf-8")
        original = module.ProfilingContext._log_metrics

        def log_metrics(context, duration: float) -> None:
            handle.write(json.dumps({"t": time.time(), "name": context.name, "step": context.step,
                                     "seconds": duration}) + "\n")
            handle.flush()
            original(context, duration)

        module.ProfilingContext._log_metrics = log_metrics


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    run_dir = Path(argv[0])
    timings = TrlTimings(run_dir / "bench-trl-timing.jsonl") if "--trl-timing" in argv else None
    timer = ImportTimer(after_import=timings.patch_when_imported if timings else None)
    timer.install()
    started = time.time()
    from engine.training.worker import main as worker_main

    code = worker_main([str(run_dir)])
    if "--imports" in argv:
        (run_dir / "bench-imports.json").write_text(json.dumps(
            {"started": started, "spans": timer.spans}), encoding="utf-8")
    return code


def launch(run_dir: Path, flags: list[str], env: dict[str, str] | None = None):
    """Start this module on ``run_dir`` the way ``engine.contract.launch`` starts a worker (own session, log file,
    fixed hash seed); returns the process."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    full_env = {**os.environ, "HF_HUB_DISABLE_TELEMETRY": "1", "PYTHONUNBUFFERED": "1", "PYTHONHASHSEED": "0",
                **(env or {})}
    with open(run_dir / "worker.log", "ab") as log:
        return subprocess.Popen([sys.executable, "-m", "bench.worker_hooks", str(run_dir.resolve()), *flags],
                                cwd=root, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, env=full_env)


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    sys.exit(main())
