"""Time to the first training step on the built-in model, cold and warm, phase by phase.

    python -m bench.first_step [--repeats 2] [--probes] [--no-record]

Each repeat runs, in turn: rft's worker *cold* (a fresh, empty rft cache via
``RFT_CACHE_DIR``, so the built-in model is converted from its GGUF first;
the user's own cache is never touched), rft's worker *warm* (the cache the
first cold run filled), and the bare TRL script (``bench.bare_trl``) on the
same converted model, the peer. Each is the ``sft`` preset for one step.

Phases come from the worker's own events (status changes, the ``dataset``
and ``model`` events, the first ``metrics`` event), with the heavy imports
(torch, transformers, peft, trl, datasets, …) timed by ``bench.worker_hooks``
and taken out of the phase they happened in. Probe answers after step 1
(``training.sample_every``) are off unless ``--probes``: they are not part of
training the step, though a person waits for them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.engine_overhead import bare_settings
from bench.record import busy_processes, command_line, median, pin_threads, ratio, table, write_record
from bench.worker_hooks import launch
from engine.contract.config import RunConfig
from engine.contract.presets import load_config
from engine.models.resolve import DEFAULT_MODEL_TITLE

PHASES = ["process start, config, backend", "dataset", "model load", "trainer set-up", "step 1"]
# The event that ends each phase (the first phase starts when the process is started).
ENDS = [
    lambda e: e["type"] == "status" and str(e.get("message", "")).startswith("checking dataset"),
    lambda e: e["type"] == "status" and str(e.get("message", "")).startswith("loading model"),
    lambda e: e["type"] == "model",
    lambda e: e["type"] == "status" and e.get("state") == "training",
    lambda e: e["type"] == "metrics",
]


def overlap(spans: list[tuple[float, float, str]], start: float, end: float) -> float:
    """Seconds of ``spans`` that fall between ``start`` and ``end``."""
    return sum(max(0.0, min(b, end) - max(a, start)) for a, b, _ in spans)


def phase_times(launched: float, events: list[dict], spans: list[tuple[float, float, str]]) -> dict[str, float]:
    """Each phase's seconds net of imports, plus 'imports' and 'total' (launch to the first step's metrics)."""
    marks, last = [], launched
    for is_end in ENDS:
        found = next((e["t"] for e in events if is_end(e) and e["t"] >= last), None)
        if found is None:
            raise ValueError(f"no event ends phase {PHASES[len(marks)]!r}")
        marks.append(found)
        last = found
    times, start = {}, launched
    for name, end in zip(PHASES, marks):
        times[name] = end - start - overlap(spans, start, end)
        start = end
    times["imports"] = overlap(spans, launched, marks[-1])
    times["total"] = marks[-1] - launched
    return times


def bare_phase_times(launched: float, records: list[dict]) -> dict[str, float]:
    """The bare script's phases: process start and imports (trl's come with the trainer), model load (with
    its dataset), trainer set-up, step 1."""
    at = {r["phase"]: r["t"] for r in records if "phase" in r}
    step1 = next(r["t"] for r in records if r.get("step") == 1)
    return {"imports": at["imported"] - launched, "model load": at["model loaded"] - at["imported"],
            "trainer set-up": at["trainer built"] - at["model loaded"], "step 1": step1 - at["trainer built"],
            "total": step1 - launched}


def run_rft(config: RunConfig, cache: Path) -> dict[str, float]:
    from engine.contract.protocol import read_events
    from engine.contract.runs import create_run

    run = create_run(config)
    launched = time.time()
    process = launch(run.path, ["--imports"], {"RFT_CACHE_DIR": str(cache)})
    if process.wait() != 0:
        raise RuntimeError(f"worker failed:\n{run.log_path.read_text(errors='replace')[-3000:]}")
    spans = [tuple(s) for s in json.loads((run.path / "bench-imports.json").read_text())["spans"]]
    return phase_times(launched, read_events(run.events_path), spans)


def run_bare(config: RunConfig, model_dir: Path, work: Path, tag: str) -> dict[str, float]:
    import subprocess

    from bench.bare_trl import settings_json

    settings = bare_settings(config)
    settings.model = str(model_dir)
    settings_path, out_path = work / f"{tag}.json", work / f"{tag}.jsonl"
    settings_path.write_text(settings_json(settings), encoding="utf-8")
    env = {**os.environ, "PYTHONHASHSEED": "0", "HF_HUB_DISABLE_TELEMETRY": "1", "TOKENIZERS_PARALLELISM": "false"}
    launched = time.time()
    done = subprocess.run([sys.executable, "-m", "bench.bare_trl", str(settings_path), str(out_path)], env=env,
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"bare TRL script failed:\n{done.stderr[-3000:]}")
    records = [json.loads(line) for line in out_path.read_text().splitlines()]
    return bare_phase_times(launched, records)


def summarise(samples: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Per side ('cold', 'warm', 'bare'): the median of each phase over the repeats."""
    return {side: {key: median([s[key] for s in runs if key in s]) for key in runs[0]}
            for side, runs in samples.items() if runs}


def report(medians: dict[str, dict[str, float]]) -> tuple[list[str], list[list[str]]]:
    rows = []
    for key in ["imports", *PHASES, "total"]:
        cells = [f"{medians[side][key]:.2f} s" if key in medians.get(side, {}) else "–"
                 for side in ("cold", "warm", "bare")]
        rows.append(["**total (to step 1's metrics)**" if key == "total" else key, *cells])
    header = ["phase", "rft cold", "rft warm", "bare TRL"]
    return header, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--probes", action="store_true", help="keep the preset's probe answers after step 1")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process (0: torch's default)")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    threads = pin_threads(args.threads)
    busy = busy_processes()
    samples: dict[str, list[dict[str, float]]] = {"cold": [], "warm": [], "bare": []}
    with tempfile.TemporaryDirectory(prefix="rft-bench-first-step-") as tmp:
        work = Path(tmp)
        # No held-out evaluation: its step-0 pass would come before step 1 (bench.eval_cost measures it).
        overrides = ["training.max_steps=1", "eval.size=0", f"output.runs_dir={work / 'runs'}"]
        config = load_config("sft", overrides + ([] if args.probes else ["training.sample_every=0"]))
        warm_cache = None
        for repeat in range(args.repeats):
            cold_cache = Path(tempfile.mkdtemp(prefix="cache-", dir=work))
            samples["cold"].append(run_rft(config, cold_cache))
            warm_cache = warm_cache or cold_cache
            samples["warm"].append(run_rft(config, warm_cache))
            model_dir = next((warm_cache / "models").glob(f"{DEFAULT_MODEL_TITLE}.v*"))
            samples["bare"].append(run_bare(config, model_dir, work, f"bare-{repeat}"))
            if cold_cache != warm_cache:
                shutil.rmtree(cold_cache, ignore_errors=True)
            print(f"  repeat {repeat + 1}: cold {samples['cold'][-1]['total']:.1f} s, warm "
                  f"{samples['warm'][-1]['total']:.1f} s, bare TRL {samples['bare'][-1]['total']:.1f} s", flush=True)
    busy += busy_processes()
    medians = summarise(samples)
    header, rows = report(medians)
    warm_vs_bare = ratio(medians["warm"]["total"], medians["bare"]["total"])
    cold_vs_warm = ratio(medians["cold"]["total"], medians["warm"]["total"])
    for row in rows:
        print(f"{row[0]:>32}: " + "  ".join(f"{h} {c}" for h, c in zip(header[1:], row[1:])))
    print(f"time to first step: rft warm / bare TRL = {warm_vs_bare:.2f}; rft cold / rft warm = {cold_vs_warm:.2f}")
    if not args.no_record:
        sections = [f"The `sft` preset for one step, {'with' if args.probes else 'without'} probe answers, {threads}; "
                    f"{args.repeats} repeats, interleaved cold, warm, bare; medians. Phases are net of the heavy "
                    "imports, which are their own row.", "", *table(header, rows), "",
                    f"Ratios: rft warm / bare TRL = **{warm_vs_bare:.2f}**; rft cold / rft warm = "
                    f"**{cold_vs_warm:.2f}**.", "", NOTES]
        path = write_record("first-step", "Time to the first training step", command_line("bench.first_step", argv),
                            sections, busy)
        print(f"wrote {path}")
    return 0


NOTES = """The bare TRL script has no config, backend or dataset step of its own (its rows are read with the
model); its imports row is its process start up to its imports of torch, transformers, peft and datasets, and
trl's import falls in its trainer set-up."""


if __name__ == "__main__":
    sys.exit(main())
