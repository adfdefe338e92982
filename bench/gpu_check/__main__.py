"""``python -m bench.gpu_check``: the GPU path in one command, written up as one dated record.

    python -m bench.gpu_check [--budget 480] [--steps 20] [--seq 512] [--batch 8] [--tokenizer DIR] [--out DIR]
    python -m bench.gpu_check --smoke --out DIR     # the same harness on the CPU, tiny model, a minute or two

Builds random models of published shapes on the GPU (``bench.gpu_check.models``), then runs the parts of
``bench.gpu_check.parts`` in order, each guarded: a part that fails is recorded with its error and the next one
runs; once the budget is spent the rest are recorded as skipped. Writes ``DATE-gpu-check.md`` and ``.json``
into ``docs/`` (or ``--out``). The Unsloth and 4-bit parts need CUDA, Unsloth and bitsandbytes; the device's
missing packages travel as wheels (``scripts/device-kit.sh``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import time
import traceback
from pathlib import Path

from bench.gpu_check.models import SHAPES, build_model, copy_tokenizer
from bench.gpu_check.parts import PARTS, overheads
from bench.gpu_check.record import write
from bench.gpu_check.runs import ROOT, Plan, Skipped

KIT_TOKENIZER = ROOT / ".gpu-kit" / "tokenizer"


def _tokenizer(given: str | None, work: Path) -> Path:
    if given:
        return Path(given)
    if (KIT_TOKENIZER / "tokenizer.json").is_file():
        return KIT_TOKENIZER
    from engine.models.default_model import prepare_default_model

    return copy_tokenizer(prepare_default_model(), work / "tokenizer")


def make_plan(args: argparse.Namespace, work: Path, started: float) -> Plan:
    import torch

    device = "cuda" if torch.cuda.is_available() and not args.smoke else "cpu"
    shapes = {"main": "tiny", "largest": "tiny"} if args.smoke else {"main": "qwen2.5-0.5b", "largest": "llama-3.2-1b"}
    tokenizer = _tokenizer(args.tokenizer, work)
    dtype = "float32" if device == "cpu" else "bfloat16"
    models = {role: build_model(shape, tokenizer, work / "models" / shape, dtype) for role, shape in shapes.items()}
    return Plan(smoke=args.smoke, work=work, device=device, models=models, shapes=shapes, steps=args.steps,
                seq=args.seq, batch=args.batch, deadline=started + args.budget)


def run_parts(plan: Plan, only: set[str] | None = None) -> dict[str, dict]:
    """Each part's status ('ok', 'failed', 'skipped'), seconds, numbers and note, in order."""
    results: dict[str, dict] = {}
    for name, title, part in PARTS:
        if only and name not in only and name != "environment":
            continue
        started = time.monotonic()
        if plan.remaining() <= 5:
            results[name] = {"title": title, "status": "skipped", "seconds": 0.0, "numbers": {},
                             "note": "the check's time budget was spent"}
            continue
        try:
            results[name] = {"title": title, "status": "ok", "numbers": part(plan), "note": ""}
        except Skipped as why:
            results[name] = {"title": title, "status": "skipped", "numbers": {}, "note": str(why)}
        except Exception as error:  # recorded; the next part still runs
            last = traceback.format_exception_only(type(error), error)[-1].strip()
            results[name] = {"title": title, "status": "failed", "numbers": {}, "note": last[:1500]}
        results[name]["seconds"] = round(time.monotonic() - started, 1)
        print(f"{name}: {results[name]['status']} in {results[name]['seconds']} s "
              f"{results[name]['note'][:200]}", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu_check", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="the harness on the CPU with a tiny model")
    parser.add_argument("--budget", type=float, default=None, help="seconds for everything (default 480; smoke 600)")
    parser.add_argument("--steps", type=int, default=None, help="training steps a run (default 20; smoke 2)")
    parser.add_argument("--seq", type=int, default=None, help="model.max_seq_length (default 512; smoke 128)")
    parser.add_argument("--batch", type=int, default=None, help="micro-batch (default 8; smoke 2)")
    parser.add_argument("--tokenizer", help="a tokenizer folder (default .gpu-kit/tokenizer, else the built-in's)")
    parser.add_argument("--only", help="comma-separated part names to run (the environment always runs)")
    parser.add_argument("--out", help="where the record goes (default docs/)")
    args = parser.parse_args(argv)
    smoke = {"budget": 600.0, "steps": 2, "seq": 128, "batch": 2}
    full = {"budget": 480.0, "steps": 20, "seq": 512, "batch": 8}
    for key, value in (smoke if args.smoke else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    started = time.monotonic()
    out = Path(args.out) if args.out else ROOT / "docs"
    with tempfile.TemporaryDirectory(prefix="rft-gpu-check-") as tmp:
        work = Path(tmp)
        plan = make_plan(args, work, started)
        print(f"models built in {time.monotonic() - started:.0f} s on {plan.device}", flush=True)
        results = run_parts(plan, set(args.only.split(",")) if args.only else None)
    record = {"date": dt.date.today().isoformat(), "smoke": args.smoke, "device": plan.device,
              "shapes": {role: {"name": name, **SHAPES[name]} for role, name in plan.shapes.items()},
              "settings": {"steps": args.steps, "seq": args.seq, "batch": args.batch, "budget_s": args.budget},
              "seconds": round(time.monotonic() - started, 1), "parts": results, "overheads": overheads(results)}
    md, data = write(record, out)
    print(f"record: {md} and {data}")
    print(json.dumps(record["overheads"]))
    return 0 if all(r["status"] != "failed" for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
