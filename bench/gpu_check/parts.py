"""The GPU check's parts, in the order they run. Each measures one thing and returns its numbers, or raises
``Skipped`` with the reason; a part that fails is recorded and the next one still runs."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from typing import Callable

from bench.gpu_check.runs import ROOT, Plan, Skipped, bare_run, measured, rft_run, run_config
from bench.record import ratio

# Dense bfloat16 peak of the cards rft's users and this check meet, in FLOP/s (the vendors' sheets).
BF16_PEAK = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "RTX 4090": 165e12,
             "RTX 3090": 71e12, "A10G": 125e12, "L4": 121e12, "T4": 65e12}


def environment(plan: Plan) -> dict:
    """Versions, the device, and whether Unsloth and bitsandbytes import (each in a process of its own:
    importing Unsloth patches transformers and TRL)."""
    from bench.record import versions

    numbers: dict = {"versions": versions("torch", "transformers", "trl", "peft", "accelerate", "datasets",
                                          "unsloth", "unsloth_zoo", "bitsandbytes", "triton")}
    if plan.device == "cuda":
        import torch

        numbers["device"] = torch.cuda.get_device_name()
        numbers["memory_gib"] = torch.cuda.get_device_properties(0).total_memory / 2**30
    for package, attribute in (("unsloth", "unsloth"), ("bitsandbytes", "bitsandbytes")):
        why = _import_problem(plan, package)
        setattr(plan, attribute, why)
        numbers[f"{package}_imports"] = why or "yes"
    return numbers


def _import_problem(plan: Plan, package: str) -> str | None:
    if plan.device != "cuda":
        return "no CUDA GPU"
    if importlib.util.find_spec(package) is None:
        return f"{package} is not installed"
    result = subprocess.run([sys.executable, "-c", f"import {package}"], capture_output=True, text=True,
                            timeout=max(5.0, min(180.0, plan.remaining())), cwd=ROOT)
    lines = (result.stderr or "").strip().splitlines()
    return None if result.returncode == 0 else (lines[-1] if lines else f"import {package} failed")


def _sft(plan: Plan, backend: str, role: str = "main", key: str = "") -> dict:
    config = run_config(plan, "sft", role, backend)
    run, events = rft_run(plan, config)
    plan.runs[key] = run
    model = next(e for e in events if e["type"] == "model")
    return {**measured(plan, config, events), "backend": model["backend"], "trainable": model["trainable"],
            "parameters": model["parameters"]}


def sft_unsloth(plan: Plan) -> dict:
    if plan.unsloth:
        raise Skipped(f"Unsloth: {plan.unsloth}")
    return _sft(plan, "unsloth", key="sft_unsloth")


def sft_transformers(plan: Plan) -> dict:
    return _sft(plan, "transformers", key="sft_transformers")


def bare_trl(plan: Plan) -> dict:
    return bare_run(plan, run_config(plan, "sft", "main", "transformers"), "bare-trl")


def bare_unsloth(plan: Plan) -> dict:
    if plan.unsloth:
        raise Skipped(f"Unsloth: {plan.unsloth}")
    return bare_run(plan, run_config(plan, "sft", "main", "unsloth"), "bare-unsloth", unsloth=True)


def sft_largest(plan: Plan) -> dict:
    """SFT on the largest model, on the fastest backend here: the MFU part reads it."""
    if plan.smoke:
        raise Skipped("the smoke run has one tiny model, trained by sft_transformers")
    numbers = _sft(plan, plan.best_backend(), role="largest", key="sft_largest")
    peak = next((name for name in BF16_PEAK if name in _device_name(plan)), None)
    if numbers["tokens_per_s"] and peak:
        # LoRA: forward 2N and backward 2N through every weight, weight gradients 2N only for the adapter.
        flops = 4 * numbers["parameters"] + 2 * numbers["trainable"]
        numbers["mfu"] = numbers["tokens_per_s"] * flops / BF16_PEAK[peak]
    return numbers


def qlora(plan: Plan) -> dict:
    if plan.unsloth or plan.bitsandbytes:
        raise Skipped(f"QLoRA on Unsloth: {plan.unsloth or plan.bitsandbytes}")
    config = run_config(plan, "sft", "largest", "unsloth", {"model": {"load_in_4bit": True}})
    _, events = rft_run(plan, config)
    return measured(plan, config, events)


def grpo_step(plan: Plan) -> dict:
    from bench.grpo_generation import rft_summary, step_breakdown

    small = {"num_generations": 2, "max_completion_length": 8} if plan.smoke else {}
    config = run_config(plan, "grpo", "main", plan.best_backend(),
                        {"method": small, "training": {"batch_size": 2 if plan.smoke else 4,
                                                       "max_steps": max(3, min(plan.steps, 4))}})
    run, events = rft_run(plan, config, flags=("--trl-timing",))
    timings = [json.loads(line) for line in (run.path / "bench-trl-timing.jsonl").read_text().splitlines()]
    steps = step_breakdown(events, timings, config.training.batch_size * config.method.num_generations)
    summary = rft_summary(steps) if steps else {}
    return {**measured(plan, config, events), "generate_share": summary.get("generate_share"),
            "decode_tokens_per_s": summary.get("tokens_per_s"), "step_s": summary.get("step_s")}


def dpo(plan: Plan) -> dict:
    config = run_config(plan, "dpo", "main", plan.best_backend())
    _, events = rft_run(plan, config)
    return measured(plan, config, events)


def out_of_memory(plan: Plan) -> dict:
    """A real CUDA OOM (the worker's memory capped below what the batch needs), recovered by the worker;
    on the CPU the test hook's fake one."""
    from engine.planning.memory_estimate import ModelShape, estimate

    big = plan.batch * 4
    config = run_config(plan, "sft", "main", plan.best_backend(),
                        {"training": {"batch_size": big, "max_steps": 3 if plan.smoke else max(4, min(plan.steps, 6))}})
    if plan.device == "cuda":
        import torch

        shape = ModelShape.from_config(json.loads((plan.models["main"] / "config.json").read_text()))
        quarter = config.model_copy(update={"training": config.training.model_copy(update={"batch_size": big // 4})})
        cap = 1.3 * estimate(quarter, shape, "cuda").total / torch.cuda.get_device_properties(0).total_memory
        env = {"RFT_CUDA_MEMORY_FRACTION": f"{min(cap, 0.95):.4f}"}
    else:
        env = {"RFT_INJECT_OOM_AT_STEP": "1"}
    _, events = rft_run(plan, config, env=env)
    adjusted = [e for e in events if e["type"] == "adjusted"]
    if not adjusted:
        raise RuntimeError(f"the run finished without running out of memory ({env})")
    cap = f"memory capped at {float(env['RFT_CUDA_MEMORY_FRACTION']):.1%} of the GPU" if plan.device == "cuda" \
        else "the test hook's fake error after step 1"
    return {"cause": cap, "adjustments": len(adjusted), "first_error": adjusted[0]["error"][:120],
            "recovery": " then ".join(e["message"] for e in adjusted)}


def export(plan: Plan) -> dict:
    """The adapter of the Unsloth run (else the transformers one), exported as adapter and merged, each
    read back and checked by ``engine.export``."""
    run = plan.runs.get("sft_unsloth") or plan.runs.get("sft_transformers")
    if run is None:
        raise Skipped("no SFT run finished to export")
    numbers: dict = {"run": run.name}
    for fmt in ("adapter", "merged"):
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "engine.export", str(run.path), "--format", fmt],
                                capture_output=True, text=True, timeout=max(5.0, plan.remaining()), cwd=ROOT)
        events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
        if not events or events[-1]["event"] != "done" or not all(c["ok"] for c in events[-1]["checks"]):
            raise RuntimeError(f"the {fmt} export failed: {(events[-1] if events else result.stderr[-1500:])}")
        numbers[f"{fmt}_s"] = round(time.monotonic() - started, 1)
        numbers[f"{fmt}_mb"] = round(events[-1]["size_bytes"] / 1e6, 1)
    return numbers


def _device_name(plan: Plan) -> str:
    if plan.device != "cuda":
        return "cpu"
    import torch

    return torch.cuda.get_device_name()


PARTS: list[tuple[str, str, Callable[[Plan], dict]]] = [
    ("environment", "versions, device, Unsloth and bitsandbytes", environment),
    ("sft_unsloth", "SFT, rft on Unsloth", sft_unsloth),
    ("sft_transformers", "SFT, rft on transformers + PEFT", sft_transformers),
    ("bare_trl", "SFT, bare TRL + PEFT script", bare_trl),
    ("bare_unsloth", "SFT, bare Unsloth script", bare_unsloth),
    ("sft_largest", "SFT on the largest model, and its MFU", sft_largest),
    ("qlora", "QLoRA (4-bit, Unsloth) on the largest model", qlora),
    ("grpo_step", "GRPO: generation share and decode speed", grpo_step),
    ("dpo", "DPO", dpo),
    ("out_of_memory", "a forced out-of-memory error, recovered", out_of_memory),
    ("export", "adapter and merged export of the SFT run, checked", export),
]


def overheads(results: dict[str, dict]) -> dict[str, float]:
    """rft's step time over each bare script's, for the same model, data and sizes (1.0: no overhead)."""
    step = lambda name: (results.get(name, {}).get("numbers") or {}).get("step_s")
    pairs = {"rft_transformers_over_bare_trl": ("sft_transformers", "bare_trl"),
             "rft_unsloth_over_bare_unsloth": ("sft_unsloth", "bare_unsloth"),
             "rft_unsloth_over_bare_trl": ("sft_unsloth", "bare_trl")}
    return {name: ratio(step(a), step(b)) for name, (a, b) in pairs.items() if step(a) and step(b)}
