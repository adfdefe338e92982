"""Time from a fresh ``python`` process to rft's first screen, headless.

    python -m bench.ui_start [--repeats 7] [--against OTHER_CHECKOUT]

Each repeat is a new process (imports included, as a person pays them), which
opens the app at 120×36 with Textual's headless driver and stops as soon as
the Setup screen has mounted and settled. Prints the median and range of the
wall time, the process's CPU time (which other work on the machine hardly
moves), the widget count, and whether the process imported torch (it must
not). With ``--against``, another checkout's app is timed in turn with this
one and the ratio printed.
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
        cpu = time.process_time()
        widgets = len(app.screen.query("*"))
    print(json.dumps({"first_screen_s": first_screen, "cpu_s": cpu, "torch": "torch" in sys.modules,
                      "widgets": widgets}))

asyncio.run(main())
"""


def measure(repeats: int, tree: str | None = None) -> dict:
    """``repeats`` fresh processes; ``tree`` runs another checkout's app (e.g. a git worktree) to compare."""
    runs = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, cwd=tree)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    times, cpu = [r["first_screen_s"] for r in runs], [r["cpu_s"] for r in runs]
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
            "cpu_median_s": statistics.median(cpu), "widgets": runs[0]["widgets"],
            "repeats": repeats, "imported_torch": any(r["torch"] for r in runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--against", metavar="TREE", help="another checkout of rft to time the same way, "
                        "one process of each in turn (e.g. `git worktree add /tmp/old <commit>`)")
    args = parser.parse_args()
    sides = {"this": None, **({"other": args.against} if args.against else {})}
    results: dict[str, list[dict]] = {name: [] for name in sides}
    for _ in range(args.repeats):  # interleaved, so load on the machine hits both sides alike
        for name, tree in sides.items():
            results[name].append(measure(1, tree))
    for name, runs in results.items():
        wall, cpu = [r["median_s"] for r in runs], [r["cpu_median_s"] for r in runs]
        print(f"{name}: first screen median {statistics.median(wall):.3f} s (min {min(wall):.3f}, max {max(wall):.3f}), "
              f"CPU {statistics.median(cpu):.3f} s, {runs[0]['widgets']} widgets, {len(runs)} processes; "
              f"torch imported: {any(r['imported_torch'] for r in runs)}")
    if args.against:
        this = statistics.median(r["median_s"] for r in results["this"])
        other = statistics.median(r["median_s"] for r in results["other"])
        print(f"ratio this / other: {this / other:.2f}")


if __name__ == "__main__":
    main()
