"""Turns a run's events into tracker calls: the one path from ``events.jsonl``'s events to every tracker.

``TrackerFeed`` is a listener of the worker's ``EventWriter``. It sends
``metrics`` and ``eval`` values (the events' own names: loss, reward, kl,
eval_loss, rewards/<fn>, …) at their step, and a step's ``sample`` events
(and an evaluation's example answers) as one table. Resumes: a sink that can
drop the points of the attempt before (TensorBoard) is told the resume step
and sent everything again; the others are sent only the steps they have not
had, found from the events of earlier attempts, so a stopped and resumed run
shows each step once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from engine.contract.protocol import read_events
from engine.tracking.sink import Sink


def open_sink(name: str, run_dir: Path, run_name: str, config: dict[str, Any], config_text: str) -> Sink:
    """The sink of tracker ``name``, writing into ``run_dir`` (imports the tracker's library)."""
    if name == "tensorboard":
        from engine.tracking.tensorboard_sink import TensorBoardSink

        return TensorBoardSink(run_dir / "tensorboard", config, config_text)
    if name == "trackio":
        from engine.tracking.trackio_sink import TrackioSink

        return TrackioSink(run_dir / "trackio", run_name, config)
    if name == "wandb":
        from engine.tracking.wandb_sink import WandbSink

        return WandbSink(run_dir / "wandb", run_name, config)
    raise ValueError(f"unknown tracker {name!r}")


class TrackerFeed:
    """Feeds ``sinks`` (tracker name → sink) from events; ``warn`` reports a tracker switched off."""

    def __init__(self, sinks: dict[str, Sink], earlier: list[dict[str, Any]], warn: Callable[[str], None]):
        self.sinks, self.warn = dict(sinks), warn
        self.stage_names: dict[int, str] = {}
        # (stage, kind) → the highest step a tracker already has, from the attempts before this one.
        self.sent: dict[tuple[str | None, str], int] = {}
        for event in earlier:
            self._note_stage(event)
            if event.get("type") in ("metrics", "eval", "sample") and isinstance(event.get("step"), int):
                key = (event.get("stage"), event["type"])
                self.sent[key] = max(self.sent.get(key, -1), event["step"])
        self._pending: list[dict[str, Any]] = []  # this step's samples, sent as one table
        self._pending_at: tuple[str | None, int] | None = None
        self._busy = False

    @classmethod
    def for_run(cls, run_dir: Path, run_name: str, names: list[str], config: dict[str, Any], config_text: str,
                events_path: Path, warn: Callable[[str], None]) -> "TrackerFeed":
        """Open each named tracker for a run; the events already in ``events_path`` are earlier attempts'. A
        tracker that will not open is left out with a warning: the run trains without it."""
        sinks = {}
        for name in names:
            try:
                sinks[name] = open_sink(name, run_dir, run_name, config, config_text)
            except Exception as error:
                warn(f"{name} could not be opened, so this run does not report to it: {type(error).__name__}: "
                     f"{error}")
        return cls(sinks, read_events(events_path), warn)

    def __call__(self, event: dict[str, Any]) -> None:
        if self._busy or not self.sinks:
            return  # a warning this feed emitted comes back through the writer
        self._busy = True
        try:
            self._feed(event)
        finally:
            self._busy = False

    def _feed(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        self._note_stage(event)
        stage, step = event.get("stage"), event.get("step")
        if kind == "sample" and isinstance(step, int):
            if self._pending_at != (stage, step):
                self._flush()
            self._pending_at = (stage, step)
            self._pending.append(event)
            return
        self._flush()
        if kind == "metrics" and isinstance(step, int):
            self._send("metrics", stage, step, lambda sink: sink.scalars(stage, step, event.get("values", {})))
        elif kind == "eval" and isinstance(step, int):
            examples = [{"step": step, **example} for example in event.get("examples") or []]

            def evaluation(sink: Sink) -> None:
                sink.scalars(stage, step, event.get("values", {}))
                if examples:
                    sink.samples(stage, step, examples, "eval_samples")

            self._send("eval", stage, step, evaluation)
        elif kind == "checkpoint":
            # What a resume would not train again is on disk in the trackers too, whatever kills the worker next.
            for tracker, sink in list(self.sinks.items()):
                self._call(tracker, sink.flush)
        elif kind == "resume" and isinstance(step, int):
            name = self.stage_names.get(event.get("stage") or 0)
            for tracker, sink in list(self.sinks.items()):
                if sink.replaces_resumed_steps:
                    self._call(tracker, lambda: sink.resumed(name, step))

    def _send(self, kind: str, stage: str | None, step: int, call: Callable[[Sink], None]) -> None:
        key = (stage, kind)
        already = self.sent.get(key, -1)
        for tracker, sink in list(self.sinks.items()):
            if sink.replaces_resumed_steps or step > already:
                self._call(tracker, lambda: call(sink))
        self.sent[key] = max(already, step)

    def _flush(self) -> None:
        if not self._pending or self._pending_at is None:
            return
        stage, step = self._pending_at
        rows, self._pending, self._pending_at = self._pending, [], None
        self._send("sample", stage, step, lambda sink: sink.samples(stage, step, rows))

    def _note_stage(self, event: dict[str, Any]) -> None:
        if event.get("type") == "stage" and isinstance(event.get("index"), int):
            self.stage_names[event["index"]] = event.get("name")

    def _call(self, tracker: str, call: Callable[[], None]) -> None:
        try:
            call()
        except Exception as error:  # a tracker's failure is its own: the run trains on without it
            self.sinks.pop(tracker, None)
            self.warn(f"{tracker} stopped receiving this run's metrics: {type(error).__name__}: {error}")

    def close(self) -> None:
        """Send what is pending and close every tracker (their files are complete after this)."""
        self._flush()
        for tracker, sink in list(self.sinks.items()):
            self._call(tracker, sink.close)
        self.sinks.clear()
