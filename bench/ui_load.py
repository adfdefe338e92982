"""The dashboard under load: Textual event-loop lag while a run streams events, and while a long run replays.

    python -m bench.ui_load [--repeats 3] [--seconds 8] [--rate 200] [--events 10000] [--size 160x48] [--no-record]

Two scenarios, each measured in rft's app and in a bare Textual app (the
peer), alternating rft, bare, rft, bare…, each a fresh process on its own
pseudo-terminal (``bench.ui_lag``):

- *stream*: a stand-in worker (``bench.event_stream``) appends a GRPO run's
  events at ``--rate`` events a second (metrics and one sample per rollout,
  ``status.json`` every step) while rft's dashboard follows the run;
- *replay*: rft's dashboard opens a finished run of ``--events`` events.

The stand-in worker runs during both apps' stream measurements, so its CPU
load falls on the peer too. Lag is how late a 10 ms sleep in the app's event
loop wakes: p95 and the worst, and the time spent in stalls of 50 ms or more.
Target: p95 < 50 ms.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

from bench.event_stream import new_run, write_finished_run
from bench.record import busy_processes, command_line, median, ratio, table, write_record

TARGET_MS = 50.0
STALL_S = 0.050


def lag_stats(lags: list[float]) -> dict[str, float]:
    """p50, p95 and max lag in ms, and seconds spent in stalls of ``STALL_S`` or more."""
    if not lags:
        return {"p50_ms": float("nan"), "p95_ms": float("nan"), "max_ms": float("nan"), "stalled_s": float("nan")}
    ordered = sorted(lags)

    def pct(q: float) -> float:
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50_ms": pct(0.50), "p95_ms": pct(0.95), "max_ms": 1000 * ordered[-1],
            "stalled_s": sum(lag for lag in lags if lag >= STALL_S)}


def run_in_terminal(kind: str, run_dir: Path, seconds: float, size: tuple[int, int], out: Path) -> dict[str, float]:
    """Run ``bench.ui_lag`` on a pseudo-terminal of ``size`` (columns, rows), draining its output."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor"}
    process = subprocess.Popen([sys.executable, "-m", "bench.ui_lag", kind, str(run_dir), str(seconds), str(out)],
                               stdin=slave, stdout=slave, stderr=subprocess.PIPE, env=env, start_new_session=True,
                               cwd=Path(__file__).resolve().parents[1])
    os.close(slave)
    drained = threading.Thread(target=_drain, args=(master,), daemon=True)
    drained.start()
    try:
        _, err = process.communicate(timeout=seconds + 60)
    finally:
        drained.join(timeout=5)
        os.close(master)
    if process.returncode or not out.is_file():
        raise RuntimeError(f"{kind} app failed ({process.returncode}):\n{err.decode(errors='replace')[-3000:]}")
    return lag_stats(json.loads(out.read_text())["lags"])


def _drain(fd: int) -> None:
    """Read the app's screen output as a terminal would, so its writes never block."""
    while True:
        try:
            if not os.read(fd, 1 << 16):
                return
        except OSError:
            return


def measure(scenario: str, repeats: int, seconds: float, rate: float, n_events: int, size: tuple[int, int],
            work: Path) -> dict[str, list[dict[str, float]]]:
    results: dict[str, list[dict[str, float]]] = {"rft": [], "bare": []}
    replay = write_finished_run(work / "runs", "replay", n_events) if scenario == "replay" else None
    for repeat in range(repeats):
        for kind in ("rft", "bare"):
            out = work / f"{scenario}-{kind}-{repeat}.json"
            if replay is not None:
                results[kind].append(run_in_terminal(kind, replay.path, seconds, size, out))
            else:
                run = new_run(work / "runs", f"stream-{kind}-{repeat}")
                writer = subprocess.Popen([sys.executable, "-m", "bench.event_stream", str(run.path), "--rate",
                                           str(rate), "--seconds", str(seconds + 30)], stdout=subprocess.DEVNULL)
                try:
                    time.sleep(0.3)
                    results[kind].append(run_in_terminal(kind, run.path, seconds, size, out))
                finally:
                    writer.terminate()
                    writer.wait()
            r = results[kind][-1]
            print(f"  {scenario} {kind} #{repeat + 1}: p95 {r['p95_ms']:.1f} ms, max {r['max_ms']:.0f} ms, "
                  f"stalled {r['stalled_s']:.2f} s", flush=True)
    return results


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: median([r[key] for r in runs]) for key in runs[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per app and scenario")
    parser.add_argument("--rate", type=float, default=200.0, help="streamed events per second")
    parser.add_argument("--events", type=int, default=10_000, help="events in the replayed run")
    parser.add_argument("--size", default="160x48", help="terminal columns x rows")
    parser.add_argument("--scenarios", default="stream,replay")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)
    size = tuple(int(n) for n in args.size.lower().split("x"))
    busy = busy_processes()
    rows, lines = [], []
    with tempfile.TemporaryDirectory(prefix="rft-bench-ui-load-") as tmp:
        for scenario in args.scenarios.split(","):
            results = measure(scenario, args.repeats, args.seconds, args.rate, args.events, size, Path(tmp))
            rft, bare = medians(results["rft"]), medians(results["bare"])
            met = "yes" if rft["p95_ms"] < TARGET_MS else "no"
            what = f"{args.rate:.0f} events/s streamed" if scenario == "stream" else f"replay of {args.events:,} events"
            times = ratio(rft["p95_ms"], bare["p95_ms"])
            lines.append(f"{what}: rft p95 {rft['p95_ms']:.1f} ms, bare Textual {bare['p95_ms']:.1f} ms, ratio "
                         f"{times:.1f}; max {rft['max_ms']:.0f} vs {bare['max_ms']:.0f} ms"
                         f" (target p95 < {TARGET_MS:.0f} ms: {'met' if met == 'yes' else 'missed'})")
            rows.append([what, f"{rft['p95_ms']:.1f}", f"{bare['p95_ms']:.1f}", f"{times:.1f}", met,
                         f"{rft['max_ms']:.0f} / {bare['max_ms']:.0f}",
                         f"{rft['stalled_s']:.2f} / {bare['stalled_s']:.2f}",
                         f"{rft['p50_ms']:.1f} / {bare['p50_ms']:.1f}"])
    busy += busy_processes()
    for line in lines:
        print(line)
    if not args.no_record:
        sections = [f"Terminal {size[0]}×{size[1]} (a pseudo-terminal, Textual's own driver); {args.seconds:g} s "
                    f"measured per app, from half a second before the run opens; {args.repeats} repeats, "
                    "interleaved rft, bare; medians.", "",
                    *table(["scenario", "rft p95 ms", "bare p95 ms", "ratio", f"p95 < {TARGET_MS:.0f} ms",
                            "max ms (rft / bare)", f"stalled ≥ {STALL_S * 1000:.0f} ms, s (rft / bare)",
                            "p50 ms (rft / bare)"], rows), "", NOTES]
        path = write_record("ui-load", "The dashboard under load", command_line("bench.ui_load", argv), sections, busy)
        print(f"wrote {path}")
    return 0


NOTES = """*How the dashboard keeps up.* It reads new events every 0.25 s, but while a run streams a tick
redraws at most one of the four charts, in turn (so each chart at most once a second), and a chart whose
series did not change skips its redraw. Each series is thinned to the lowest and highest value per braille
column before plotext sees it, so a long run costs a chart no more than a short one. The run header and the
notices line change their text without laying the screen out again. Before this (the same day, four charts
rebuilt together every tick) the stream's p95 was 142 ms and the loop was held 5.45 s of 8.

*What is left*, found by timing the widgets' calls headless in the same set-up (one process, idle machine):
one chart's plotext build takes ~5–30 ms, rarely ~100 ms; a full garbage collection ~70–115 ms, about every
2 s while events stream (plotext and the samples table allocate a lot); the samples table measures each new
row (~5–10 ms a tick at 200 events/s) and rebuilds itself from the last 500 samples when it passes 1,000 rows
(~50–75 ms). These make the worst-lag column; p95 is well inside the target. Building the charts' figures in a
thread would take their share off the event loop.

*The replay* is one stall when the run opens: folding 10,000 events, filling the samples table and drawing the
four charts."""


if __name__ == "__main__":
    sys.exit(main())
