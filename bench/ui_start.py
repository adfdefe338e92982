"""Time from a fresh ``python`` process to rft's first screen, headless.

    python -m bench.ui_start [--repeats 7]

Each repeat is a new process (imports included, as a person pays them), which
opens the app at 120×36 with Textual's headless driver and stops as soon as
the Setup screen has mounted. Prints the median and range, and whether the
process imported torch (it must not).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

CHILD = r"""
import time
start = time.perf_counter()
import asyncio, json, sys
from rft_tui.app import RftApp

async def main():
    app = RftApp(runs_dir="runs")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        first_screen = time.perf_counter() - start
    print(json.dumps({"first_screen_s": first_screen, "torch": "torch" in sys.modules}))

asyncio.run(main())
"""


def measure(repeats: int) -> dict:
    runs = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    times = [r["first_screen_s"] for r in runs]
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
            "repeats": repeats, "imported_torch": any(r["torch"] for r in runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    result = measure(parser.parse_args().repeats)
    print(f"first screen: median {result['median_s']:.3f} s (min {result['min_s']:.3f}, max {result['max_s']:.3f}, "
          f"{result['repeats']} processes); torch imported: {result['imported_torch']}")


if __name__ == "__main__":
    main()
