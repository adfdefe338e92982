"""What the dashboard knows about one run, built from its events (no Textual, no torch).

``RunWatch.poll()`` reads the events appended since the last call and folds
them into series per metric, the latest samples, the stage and the status.
The dashboard polls on a timer and redraws from here, so a replay of a
finished run and a live run take the same path.

A long run is folded in slices (``poll(budget_s=…)``), so a replay of 100,000
events never holds the app's event loop for long, and what is kept stays
bounded however long the run: the last ``MAX_SAMPLES`` samples (a sample's line
is parsed only if it is among them) and at most ``2 * MAX_POINTS`` points a
series (``Series.compact``: the lowest and highest of each few, so a spike stays).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from engine.contract.config import ConfigError, RunConfig
from engine.methods import METHODS
from engine.contract.runs import RunDir, RunStatus

MAX_SAMPLES = 500
# Points a series keeps before it is halved: well over the two per braille column of the widest chart.
MAX_POINTS = 4096
CHUNK_BYTES = 1 << 17  # read at a time while folding a long run
# How a sample's line starts, as the worker writes it: such a line is counted, and parsed only if kept.
SAMPLE_LINE = b'{"v": '
SAMPLE_TYPE = b'"type": "sample"'


@dataclass
class Series:
    """One metric's points: (step, value), with the stage each belongs to."""

    steps: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def drop_after(self, step: int) -> None:
        """Forget points past ``step`` (a resumed run trains them again)."""
        keep = next((i for i, s in enumerate(self.steps) if s > step), len(self.steps))
        del self.steps[keep:], self.values[keep:]

    def compact_indices(self) -> list[int]:
        """The points to keep to halve the series: of each four the lowest and the highest (two, in
        step order, even when they tie: series of equal length stay equal), and the last point."""
        values, last = self.values, len(self.values) - 1
        keep: list[int] = []
        for start in range(0, last, 4):
            window = values[start:min(start + 4, last)]
            low, high = window.index(min(window)), window.index(max(window))
            if low == high:
                low, high = 0, len(window) - 1
            keep.extend(start + i for i in sorted({low, high}))
        keep.append(last)
        return keep

    def keep_only(self, indices: list[int]) -> None:
        self.steps[:] = [self.steps[i] for i in indices]
        self.values[:] = [self.values[i] for i in indices]


class RunWatch:
    """Folds a run's events into what the dashboard draws."""

    def __init__(self, run: RunDir):
        self.run = run
        self.tail = run.events()
        self.series: dict[str, Series] = {}
        # The kept samples; until a poll reads to the end some are still their unparsed lines (``_parse_kept``).
        self.samples: deque[dict[str, Any] | bytes] = deque(maxlen=MAX_SAMPLES)
        # How many samples arrived in all (the deque keeps only the last ones), and how many times a
        # resume dropped some: what the samples table needs to add only the new rows.
        self.samples_seen = 0
        self.samples_reset = 0
        self.stage: dict[str, Any] | None = None
        self.model: dict[str, Any] | None = None
        self.dataset: dict[str, Any] | None = None
        self.error: dict[str, Any] | None = None
        self.logs: deque[str] = deque(maxlen=200)
        self.warnings: deque[str] = deque(maxlen=20)
        self.adjustments: list[dict[str, Any]] = []  # setup changes the worker made to go on (out of memory)
        self.evals: list[dict[str, Any]] = []  # the held-out evaluations of this stage, in order
        self.best: dict[str, Any] | None = None  # the best of them: {metric, value, step[, adapter]}
        self.step = 0
        self.total: int | None = None
        self.first_step: tuple[int, float] | None = None
        self.caught_up = False  # whether the last poll read to the end of the events written so far
        self._unfolded: list[bytes] = []  # lines a poll out of time read but left for the next
        self.status: RunStatus = run.status()
        self.events_seen = 0
        self.config = _read_config(run)

    @property
    def method_title(self) -> str | None:
        """The run's method as the app names it ('GRPO'), None when its config cannot be read."""
        if self.config is None:
            return None
        spec = METHODS.get(self.config.method.name)
        return spec.title if spec else self.config.method.name

    def samples_absent(self) -> str:
        """Why the samples table is empty, in words: sampling is off, or when the first will come."""
        if self.config is not None:
            spec = METHODS.get(self.config.method.name)
            every = self.config.training.sample_every
            if spec is not None and not spec.uses_rewards and not every:
                return "no samples: sampling is off for this run (training.sample_every = 0)"
            if not self.status.is_final:
                if spec is not None and spec.uses_rewards:
                    return "no samples yet: every scored rollout appears here from the first step on"
                return f"no samples yet: the first come after step 1, then every {every} steps"
        return "this run logged no samples" if self.status.is_final else "no samples yet"

    def poll(self, budget_s: float | None = None) -> int:
        """Read new events; returns how many arrived.

        With ``budget_s`` it stops once that long has passed (``caught_up`` is then False and the next
        poll goes on where it stopped); without, it reads to the end.

        The status is read before the events: the worker writes an event before the state that
        follows it, so a run read as finished has all its points here too once caught up.
        """
        self.status = self.run.status()
        deadline = None if budget_s is None else time.perf_counter() + budget_s
        arrived = 0
        while True:
            lines, self._unfolded = self._unfolded or self.tail.read_lines(CHUNK_BYTES), []
            for index, line in enumerate(lines):
                arrived += self._fold(line)
                if deadline is not None and index % 16 == 15 and time.perf_counter() >= deadline:
                    self._unfolded = lines[index + 1:]  # read but not folded: the next poll starts here
                    break
            if self._unfolded:
                self.caught_up = False
                break
            if not self.tail.more:
                self.caught_up = True
                break
            if deadline is not None and time.perf_counter() >= deadline:
                self.caught_up = False
                break
        if self.caught_up:  # mid-fold, the samples kept so far may yet be pushed out by later ones
            self._parse_kept()
        self.events_seen += arrived
        if self.total is None:
            self.total = self.status.total
        return arrived

    def _fold(self, line: bytes) -> int:
        """Fold one line in; 1 if it was an event. A sample's line waits unparsed until it is kept."""
        if line.startswith(SAMPLE_LINE) and SAMPLE_TYPE in line[:64]:
            self.samples.append(line)
            self.samples_seen += 1
            return 1
        event = self.tail.parse_line(line)
        if event is None or "type" not in event:
            return 0
        self._apply(event)
        return 1

    def _parse_kept(self) -> None:
        """Parse the kept samples still unparsed; one that is not whole (torn by a kill) is dropped."""
        if not any(isinstance(sample, bytes) for sample in self.samples):
            return
        kept = deque(maxlen=MAX_SAMPLES)
        for sample in self.samples:
            if isinstance(sample, bytes):
                sample = self.tail.parse_line(sample)
                if sample is None:
                    self.samples_seen -= 1
                    continue
            kept.append(sample)
        self.samples = kept

    def _add_points(self, step: int, values: dict[str, float]) -> None:
        """One point a metric (the hot loop of a replay: 18 metrics a step for 100,000 steps)."""
        full = False
        for name, value in values.items():
            series = self.series.get(name)
            if series is None:
                series = self.series[name] = Series()
            series.steps.append(step)
            series.values.append(value)
            full = full or len(series.values) > 2 * MAX_POINTS
        if full:
            self._compact(values)

    def _compact(self, names) -> None:
        """Halve one of the series among ``names`` that grew past their bound (the others wait for
        the next event: halving all at once would hold the loop); a ``*_std`` series keeps the steps
        its mean keeps, so a chart's ± band stays aligned with its line."""
        for name in names:
            series = self.series[name]
            if len(series.values) <= 2 * MAX_POINTS:
                continue
            spread = self.series.get(name + "_std")
            if name.endswith("_std") and name.removesuffix("_std") in self.series:
                continue  # halved with its mean
            indices = series.compact_indices()
            if spread is not None and spread.steps == series.steps:
                spread.keep_only(indices)
            series.keep_only(indices)
            return

    def _apply(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "metrics":
            step = event["step"]
            self.step, self.total = step, event.get("total") or self.total
            if self.first_step is None:
                self.first_step = (step, event["t"])
            self._add_points(step, event.get("values", {}))
        elif kind == "sample":
            self.samples.append(event)
            self.samples_seen += 1
        elif kind == "eval":
            self._apply_eval(event)
        elif kind == "best":
            self.best = {k: v for k, v in event.items() if k not in ("v", "t", "type")}
        elif kind == "stage":
            # A new stage restarts the step count; its curves start afresh too.
            self.stage, self.series, self.step, self.first_step = event, {}, 0, None
            self.evals, self.best = [], None
            self.total = event.get("max_steps")
        elif kind == "resume":
            step = event.get("step", 0)
            for series in self.series.values():
                series.drop_after(step)
            self._parse_kept()
            self.samples = deque((s for s in self.samples if s.get("step", 0) <= step), maxlen=MAX_SAMPLES)
            self.evals = [e for e in self.evals if e["step"] <= step]
            self.samples_seen, self.samples_reset = len(self.samples), self.samples_reset + 1
            self.step, self.first_step, self.error = step, None, None
        elif kind == "model":
            self.model = event
        elif kind == "dataset":
            self.dataset = event
        elif kind == "error":
            self.error = event
        elif kind == "adjusted":
            self.adjustments.append(event)
        elif kind == "log":
            self.logs.append(event["message"])
            if event.get("level") == "warning":
                self.warnings.append(event["message"])

    def _apply_eval(self, event: dict[str, Any]) -> None:
        """An evaluation: its values join the curves (eval_loss beside loss), its answers the samples."""
        step = event["step"]
        self.evals.append(event)
        if event.get("best"):
            self.best = event["best"]
        self._add_points(step, event.get("values", {}))
        for example in event.get("examples") or []:
            self.samples.append({"type": "sample", "step": step, "eval": True, **example})
            self.samples_seen += 1

    def eval_line(self) -> str | None:
        """The last evaluation in words, with the best one: what the samples panel's title says."""
        if not self.evals:
            return None
        last = self.evals[-1]
        shown = [(name, value) for name, value in last.get("values", {}).items()
                 if name in ("eval_loss", "eval_reward", "eval_accuracy")]
        numbers = ", ".join(f"{name.removeprefix('eval_')} {value:.4g}" for name, value in shown)
        best = self.best
        told = f"; best {best['metric'].removeprefix('eval_')} {best['value']:.4g} at step {best['step']}" \
            if best else ""
        on = f" on {last['prompts']} held-out prompts" if last.get("prompts") else ""
        return f"eval at step {last['step']}{on}: {numbers or 'no numbers'}{told}"

    @property
    def progress_step(self) -> int:
        """The step the progress bar, the ETA and the charts agree on: the last one whose metrics
        arrived. ``status.json`` counts a step as it ends, a moment before its metrics are
        written, so it runs ahead of the charts; it is believed only once the run is over (every
        point is in by then, and steps between two logged ones did run)."""
        if self.status.is_final:
            return max(self.step, self.status.step or 0)
        return self.step

    def latest(self, name: str) -> float | None:
        series = self.series.get(name)
        return series.values[-1] if series and series.values else None

    def eta_s(self, now: float | None = None) -> float | None:
        if not self.first_step or not self.total or self.step <= self.first_step[0] or self.status.is_final:
            return None
        now = now or time.time()
        per_step = (now - self.first_step[1]) / (self.step - self.first_step[0])
        return max(0.0, per_step * (self.total - self.step))

    def elapsed_s(self, now: float | None = None) -> float | None:
        start = self.status.started_at
        if not start:
            return None
        end = self.status.finished_at if self.status.is_final and self.status.finished_at else (now or time.time())
        return end - start

    def stage_label(self) -> str:
        if not self.stage:
            return ""
        return f"stage {self.stage['index']}/{self.stage['total']}: {self.stage['name'].upper()}"


def _read_config(run: RunDir) -> RunConfig | None:
    try:
        return run.load_config()
    except (OSError, ConfigError):
        return None  # the run's files say what they can; a missing config costs only the method's name


def clock(seconds: float | None) -> str:
    """'mm:ss' (or 'h:mm:ss'), '--:--' when unknown."""
    if seconds is None:
        return "--:--"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
