"""What the held-out evaluation costs: its share of a run's wall time, at the default ``eval.every``.

    python -m bench.eval_cost [--model tiny|default|DIR] [--methods sft,grpo] [--steps N] [--every N]
                              [--threads 1] [--no-record]

Each method's shipped preset runs through rft's worker, a real detached process
as ``rft train`` starts it, with its ``[eval]`` as shipped (or ``--every``).
The run's wall time is counted from the base model's evaluation (the last thing
before step 1) to the saved adapter; the evaluation's is the sum of its ``eval``
events' ``seconds``. A GRPO preset starts from the SFT preset; here it starts
from the bare model (``model.start_from`` off) so the number is GRPO's alone.

``eval.every = 'auto'`` (the default) fixes the interval from the first steps'
times; the table shows the interval the run chose. A run makes its two
evaluations (before step 1, after the last) whatever its length, so a short
run's share is higher than a long one's: ``--steps`` sets the length.

``--model tiny`` (the tests' random Llama) shows the bookkeeping; the share a
person sees comes from ``--model default`` (SmolLM2-135M), where a training step
and an answer cost what they cost.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.record import busy_processes, command_line, median, pin_threads, table, write_record
from engine.contract.config import RunConfig, config_from_dict
from engine.contract.eval_config import EVAL_SHARE as BUDGET  # the share the default evaluation may take
from engine.contract.presets import load_config


def bench_config(method: str, model: str, runs_dir: Path, steps: int | None, every: int | None) -> RunConfig:
    data = load_config(method).model_dump(mode="json", exclude_none=True)
    data["model"]["name"] = model
    data["model"].pop("start_from", None)
    if steps:
        data["training"]["max_steps"] = steps
    if every is not None:
        data.setdefault("eval", {})["every"] = every
    data["training"]["save_steps"] = 0
    data["output"] = {"runs_dir": str(runs_dir)}
    return config_from_dict(data)


def eval_share(events: list[dict]) -> dict[str, float]:
    """From a finished run's events: wall time from the first evaluation to the end, the evaluations' time,
    their count and share, and the training steps."""
    evals = [e for e in events if e["type"] == "eval"]
    if not evals:
        raise ValueError("the run logged no evaluation")
    begin = next(e["t"] for e in events if e["type"] == "status" and "evaluating the base model" in
                 (e.get("message") or ""))
    end = max(e["t"] for e in events)
    spent = sum(e["seconds"] for e in evals)
    steps = max((e["step"] for e in events if e["type"] == "metrics"), default=0)
    metric = (evals[-1].get("best") or {}).get("metric") or next(iter(evals[-1]["values"]))
    plans = [e["every"] for e in events if e["type"] == "eval_plan"]
    return {"wall_s": end - begin, "eval_s": spent, "evals": len(evals), "share": spent / (end - begin),
            "per_eval_s": spent / len(evals), "steps": steps, "prompts": evals[-1].get("prompts", 0),
            "metric": metric, "first": evals[0]["values"].get(metric), "last": evals[-1]["values"].get(metric),
            "every": plans[-1] if plans else None}


def run_once(config: RunConfig) -> dict[str, float]:
    from engine.contract.protocol import read_events
    from engine.contract.runs import create_run

    run = create_run(config)
    command = [sys.executable, "-m", "engine.training.worker", str(run.path)]
    if subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT).returncode != 0:
        raise RuntimeError(f"worker failed:\n{run.log_path.read_text(errors='replace')[-3000:]}")
    return eval_share(read_events(run.events_path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--methods", default="sft,grpo")
    parser.add_argument("--steps", type=int, default=None, help="max_steps (default: the preset's)")
    parser.add_argument("--every", type=int, default=None, help="eval.every (default: the preset's)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0, help="torch threads per process (0: torch's default)")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    threads = pin_threads(args.threads)
    busy = busy_processes()
    rows = []
    with tempfile.TemporaryDirectory(prefix="rft-bench-eval-") as tmp:
        model = args.model
        if model == "tiny":
            from tests.fixtures.tiny_model import build_tiny_model

            model = str(build_tiny_model(Path(tmp) / "tiny"))
        for method in args.methods.split(","):
            results = [run_once(bench_config(method, model, Path(tmp) / "runs", args.steps, args.every))
                       for _ in range(args.repeats)]
            share = median([r["share"] for r in results])
            last = results[-1]
            every = last["every"] if last["every"] is not None else args.every
            rows.append([method, str(last["steps"]), str(every), str(last["evals"]), str(last["prompts"]),
                         f"{last['metric']} {last['first']:.3f} → {last['last']:.3f}",
                         f"{median([r['per_eval_s'] for r in results]):.2f}",
                         f"{median([r['wall_s'] for r in results]):.1f}", f"{share:.1%}",
                         "yes" if share <= BUDGET else "NO"])
    lines = table(["method", "steps", "every", "evals", "prompts answered", "step 0 → last", "s per eval", "run s",
                   "eval share", f"≤ {BUDGET:.0%}"], rows)
    print("\n".join(lines))
    if not args.no_record:
        busy += busy_processes()
        path = write_record("eval-cost", "The held-out evaluation's share of a run",
                            command_line("bench.eval_cost", argv), [f"Threads: {threads}. Model: {args.model}.", "",
                                                                    *lines], busy)
        print(f"written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
