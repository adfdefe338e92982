"""What every benchmark shares: medians, the machine it ran on, and the dated record in ``docs/``.

The machine is shared (a test suite, other developers), so each bench
interleaves its repeats (A, B, A, B, …) and reports medians, and its record
says what else was using the CPU while it ran (``busy_processes``, sampled
at the start and the end).
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import subprocess
from importlib import metadata
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def median(values: list[float]) -> float:
    """The median, or NaN for no values (a failed side still prints a row)."""
    return statistics.median(values) if values else float("nan")


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def versions(*packages: str) -> str:
    """'torch 2.13.0+cpu, trl 1.16.0, …' for the packages that are installed."""
    found = []
    for name in packages:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return ", ".join(found)


def machine() -> str:
    """CPU model, cores, memory and Python, in one line."""
    cpu = platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {mem_kb / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        mem = ""
    return f"{cpu}, {os.cpu_count()} cores{mem}, no GPU; Python {platform.python_version()}"


def busy_processes(min_cpu: float = 10.0) -> list[str]:
    """Other processes using at least ``min_cpu`` % of a core right now (ps's lifetime average), and the load."""
    try:
        out = subprocess.run(["ps", "-eo", "pid,stat,pcpu,args", "--sort=-pcpu"], capture_output=True, text=True,
                             timeout=10).stdout.splitlines()[1:]
    except (OSError, subprocess.SubprocessError):
        return []
    own = {os.getpid(), os.getppid()}
    busy = []
    for line in out:
        pid, stat, cpu, args = line.split(None, 3)
        if int(pid) in own or float(cpu) < min_cpu or stat.startswith("Z") or args.startswith("ps "):  # a zombie's
            # CPU is its past; ps is this look itself
            continue
        busy.append(f"{args[:110]} ({float(cpu):.0f}% CPU)")
    load = os.getloadavg()
    return busy[:6] + [f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"]


def today() -> str:
    return dt.date.today().isoformat()


def write_record(name: str, title: str, command: str, sections: list[str], busy: list[str]) -> Path:
    """Write ``docs/<date>-<name>.md``: title, machine, versions, command, what else ran, then ``sections``."""
    date = today()
    lines = [f"# {title} ({date})", "",
             f"Hardware: {machine()}.",
             f"Versions: {versions('torch', 'transformers', 'trl', 'peft', 'datasets', 'textual')}.",
             f"Command: `{command}`.", ""]
    if busy:
        lines += ["Also running on the machine during the measurement (sampled at its start and end):", ""]
        lines += [f"- {entry}" for entry in dict.fromkeys(busy)] + [""]
    lines += sections
    path = DOCS / f"{date}-{name}.md"
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    return path


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table."""
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]


def pin_threads(threads: int) -> str:
    """Give every torch process this bench starts ``threads`` threads (0: torch's default, all cores); says so.

    On a shared machine torch's OpenMP threads spin waiting for each other whenever another process holds
    one of the cores: here, with other work running, sampling on two threads was 7× slower than on one.
    One thread per process keeps the two sides of a comparison from being hit unequally.
    """
    if threads:
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = str(threads)
        return f"torch on {threads} thread{'s' if threads > 1 else ''} per process (`--threads {threads}`)"
    return f"torch on its default threads ({os.cpu_count()}, `--threads 0`)"


def command_line(module: str, argv: list[str] | None) -> str:
    """How this bench was run, for its record."""
    import shlex
    import sys

    return " ".join(["python -m", module, *map(shlex.quote, sys.argv[1:] if argv is None else argv)])


class CpuClock:
    """Samples a process's CPU seconds (user + system, from /proc) every few milliseconds, in a thread.

    On a shared machine a process's CPU time per unit of work hardly moves when other work takes the
    cores; wall time does. ``at(t)`` interpolates the CPU seconds used by wall-clock time ``t``.
    """

    def __init__(self, pid: int, every_s: float = 0.02):
        import threading

        self.pid, self.every_s = pid, every_s
        self.samples: list[tuple[float, float]] = []
        self._tick = os.sysconf("SC_CLK_TCK")
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import time

        while True:
            try:
                fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                return
            if fields[0] == "Z":
                return
            self.samples.append((time.time(), (int(fields[11]) + int(fields[12])) / self._tick))
            time.sleep(self.every_s)

    def stop(self) -> None:
        self._thread.join(timeout=1)

    def at(self, t: float) -> float:
        """CPU seconds at wall time ``t`` (linear between samples; NaN outside them)."""
        for (t0, c0), (t1, c1) in zip(self.samples, self.samples[1:]):
            if t0 <= t <= t1:
                return c0 + (c1 - c0) * ((t - t0) / (t1 - t0) if t1 > t0 else 0.0)
        return float("nan")
