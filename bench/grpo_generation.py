"""GRPO on the built-in model: the share of each step spent generating, and decode speed.

    python -m bench.grpo_generation [--steps 3] [--repeats 2] [--start-from RUN_OR_ADAPTER] [--no-record]

Runs the ``grpo`` preset (2 prompts × 6 answers of ≤ 64 tokens a step) in
rft's worker for a few steps, from the bare base model unless
``--start-from`` names an SFT run or adapter. TRL times its own blocks but
reports them only to wandb and the like; ``bench.worker_hooks`` keeps those
timings (generation, reward functions, loss) per step. A step's wall time is
the gap between two ``metrics`` events, so step 1 (warm-up) is left out.

The peer is ``bench.bare_generate``: plain ``model.generate`` on the same
model, prompts, group size and length limit, with the LoRA adapter as it is
during training and merged into the weights. Decode speed is compared as
batch positions per second (sequences × decode steps / s), which does not
depend on how early sampled answers happened to end; answer tokens per second
(what is kept) is printed beside it. Repeats interleave rft, bare, rft, bare.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.record import busy_processes, command_line, median, pin_threads, ratio, table, write_record
from bench.worker_hooks import launch
from engine.contract.config import RunConfig, config_from_dict
from engine.contract.presets import load_config

GENERATE = ".transformers.generate"


def step_breakdown(events: list[dict], timings: list[dict], group: int) -> list[dict]:
    """Per step after the first: wall seconds, generation and reward seconds, decode positions and tokens.

    ``group`` is the number of answers a step samples (prompts × generations). TRL stamps its timings
    with the global step before the step counts, so step k's have ``step == k - 1``.
    """
    metrics = [e for e in events if e["type"] == "metrics" and "completion_length" in e["values"]]
    steps = []
    for before, this in zip(metrics, metrics[1:]):
        k = this["step"]
        mine = [r for r in timings if r["step"] == k - 1]
        generate = sum(r["seconds"] for r in mine if r["name"].endswith(GENERATE))
        rewards = sum(r["seconds"] for r in mine if r["name"].endswith("._calculate_rewards"))
        loss = sum(r["seconds"] for r in mine if r["name"].endswith(".compute_loss"))
        values = this["values"]
        steps.append({"step": k, "wall": this["t"] - before["t"], "generate": generate, "rewards": rewards,
                      "loss": loss, "positions": group * values.get("completions/max_length", 0.0),
                      "tokens": group * values["completion_length"]})
    return steps


def bare_speeds(records: list[dict]) -> dict[str, float]:
    """Positions/s and tokens/s of the bare calls after the first (warm-up)."""
    calls = records[1:] or records
    seconds = sum(r["seconds"] for r in calls)
    return {"positions_per_s": sum(r["sequences"] * r["decode_steps"] for r in calls) / seconds,
            "tokens_per_s": sum(r["tokens"] for r in calls) / seconds}


def rft_summary(steps: list[dict]) -> dict[str, float]:
    wall, generate = sum(s["wall"] for s in steps), sum(s["generate"] for s in steps)
    return {"step_s": wall / len(steps), "generate_share": generate / wall,
            "rewards_share": sum(s["rewards"] for s in steps) / wall,
            "loss_share": sum(s["loss"] for s in steps) / wall,
            "positions_per_s": sum(s["positions"] for s in steps) / generate,
            "tokens_per_s": sum(s["tokens"] for s in steps) / generate}


def bench_config(work: Path, steps: int, start_from: str | None) -> RunConfig:
    data = load_config("grpo").model_dump(mode="json", exclude_none=True)
    data["model"]["start_from"] = start_from
    data["training"]["max_steps"] = steps
    data["eval"] = {"size": 0}  # generation speed in training steps only; bench.eval_cost measures evaluation
    data["output"] = {"runs_dir": str(work / "runs")}
    if start_from is None:
        del data["model"]["start_from"]
    return config_from_dict(data)


def run_rft(config: RunConfig) -> list[dict]:
    from engine.contract.protocol import read_events
    from engine.contract.runs import create_run

    run = create_run(config)
    if launch(run.path, ["--trl-timing"]).wait() != 0:
        raise RuntimeError(f"worker failed:\n{run.log_path.read_text(errors='replace')[-3000:]}")
    timings = [json.loads(line) for line in (run.path / "bench-trl-timing.jsonl").read_text().splitlines()]
    group = config.training.batch_size * config.method.num_generations
    return step_breakdown(read_events(run.events_path), timings, group)


def bare_settings(config: RunConfig, calls: int, merged: bool) -> dict:
    from engine import data
    from engine.methods import get_method
    from engine.models.default_model import prepare_default_model
    from engine.planning.stages import resolve_adapter

    prepared = data.prepare(config.dataset, get_method("grpo").formats, method="GRPO")
    adapter = resolve_adapter(config.model.start_from) if config.model.start_from else None
    return {"model": str(prepare_default_model()), "adapter": str(adapter) if adapter else None,
            "prompts": [row["prompt"] for row in prepared.rows[: config.training.batch_size]],
            "num_generations": config.method.num_generations, "max_new_tokens": config.method.max_completion_length,
            "temperature": config.method.temperature, "lora_r": config.lora.r, "lora_alpha": config.lora.alpha,
            "seed": config.training.seed, "calls": calls, "merged": merged}


def run_bare(settings: dict, work: Path, tag: str) -> dict[str, float]:
    settings_path, out_path = work / f"{tag}.json", work / f"{tag}.jsonl"
    settings_path.write_text(json.dumps(settings), encoding="utf-8")
    env = {**os.environ, "PYTHONHASHSEED": "0", "HF_HUB_DISABLE_TELEMETRY": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run([sys.executable, "-m", "bench.bare_generate", str(settings_path), str(out_path)], env=env,
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"bare generate failed:\n{done.stderr[-3000:]}")
    return bare_speeds([json.loads(line) for line in out_path.read_text().splitlines()])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3, help="GRPO steps per rft run (the first is warm-up)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--start-from", default=None, help="an SFT run directory or adapter folder")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process (0: torch's default)")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    threads = pin_threads(args.threads)
    busy = busy_processes()
    rft_runs, bare_runs, merged_runs = [], [], []
    with tempfile.TemporaryDirectory(prefix="rft-bench-grpo-") as tmp:
        work = Path(tmp)
        config = bench_config(work, args.steps, args.start_from)
        for repeat in range(args.repeats):
            started = time.monotonic()
            steps = run_rft(config)
            rft_runs.append(rft_summary(steps))
            bare_runs.append(run_bare(bare_settings(config, args.steps, False), work, f"bare-{repeat}"))
            merged_runs.append(run_bare(bare_settings(config, args.steps, True), work, f"merged-{repeat}"))
            print(f"  repeat {repeat + 1} ({time.monotonic() - started:.0f} s): step {rft_runs[-1]['step_s']:.1f} s, "
                  f"generating {rft_runs[-1]['generate_share']:.0%}, {rft_runs[-1]['positions_per_s']:.0f} pos/s; "
                  f"bare {bare_runs[-1]['positions_per_s']:.0f}, merged {merged_runs[-1]['positions_per_s']:.0f} pos/s",
                  flush=True)
    busy += busy_processes()
    rft = {k: median([r[k] for r in rft_runs]) for k in rft_runs[0]}
    bare = {k: median([r[k] for r in bare_runs]) for k in bare_runs[0]}
    merged = {k: median([r[k] for r in merged_runs]) for k in merged_runs[0]}
    vs_bare, vs_merged = ratio(rft["positions_per_s"], bare["positions_per_s"]), ratio(rft["positions_per_s"],
                                                                                         merged["positions_per_s"])
    lines = [f"GRPO step (steps 2..{args.steps}, median over runs): {rft['step_s']:.1f} s, of which generating "
             f"{rft['generate_share']:.0%}, the loss's forward pass {rft['loss_share']:.0%}, reward functions "
             f"{rft['rewards_share']:.1%}",
             f"decode in rft's GRPO: {rft['positions_per_s']:.0f} positions/s "
             f"({rft['tokens_per_s']:.0f} answer tokens/s)",
             f"bare generate, LoRA unmerged: {bare['positions_per_s']:.0f} positions/s "
             f"({bare['tokens_per_s']:.0f} tokens/s); ratio rft / bare = {vs_bare:.2f}",
             f"bare generate, LoRA merged: {merged['positions_per_s']:.0f} positions/s "
             f"({merged['tokens_per_s']:.0f} tokens/s); ratio rft / merged = {vs_merged:.2f}"]
    for line in lines:
        print(line)
    if not args.no_record:
        rows = [["rft GRPO (TRL's generate inside training)", f"{rft['positions_per_s']:.0f}",
                 f"{rft['tokens_per_s']:.0f}", "1.00"],
                ["bare `generate`, LoRA unmerged", f"{bare['positions_per_s']:.0f}", f"{bare['tokens_per_s']:.0f}",
                 f"{vs_bare:.2f}"],
                ["bare `generate`, LoRA merged", f"{merged['positions_per_s']:.0f}", f"{merged['tokens_per_s']:.0f}",
                 f"{vs_merged:.2f}"]]
        sections = [f"`grpo` preset (2 prompts × 6 answers, ≤ 64 tokens, from "
                    f"{args.start_from or 'the base model'}), {threads}, {args.steps} steps per run, "
                    f"{args.repeats} repeats "
                    "interleaved with the peers; medians; step 1 left out.", "",
                    f"Step time {rft['step_s']:.1f} s: generating **{rft['generate_share']:.0%}** of it, the loss's "
                    f"forward pass {rft['loss_share']:.0%}, reward functions {rft['rewards_share']:.1%}, the rest "
                    f"({1 - rft['generate_share'] - rft['loss_share'] - rft['rewards_share']:.0%}) the backward "
                    "pass, the optimiser and logging.", "",
                    *table(["decode", "positions/s", "answer tokens/s", "rft / this"], rows), "", NOTES]
        path = write_record("grpo-generation", "GRPO: time spent generating, decode speed",
                            command_line("bench.grpo_generation", argv), sections, busy)
        print(f"wrote {path}")
    return 0


NOTES = """Positions/s counts every sequence of the batch at every decode step up to the longest answer (what the
CPU computes); answer tokens/s counts only tokens up to each answer's end-of-turn token (what is kept). The
base model rarely ends an answer within 64 tokens, so the two are close here; from an SFT adapter
(`--start-from`) answers end sooner.

What this says: on a CPU sampling is the largest part of a GRPO step, and TRL's sampling inside rft runs at
about the speed of a bare `generate` on the same model with the same unmerged adapter (the ratio in the
table). The merged row is what the adapter's extra matrix products cost decoding: sampling from merged
weights (or from a serving engine such as vLLM, or Unsloth's fast generation on a GPU) is where a GRPO step
would get faster, not in rft's own code."""


if __name__ == "__main__":
    sys.exit(main())
