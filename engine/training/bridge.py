"""The one callback that connects any trainer to the run directory.

It turns a trainer's logs into ``metrics`` events under canonical names, keeps
``status.json`` current, measures tokens/s, and carries out the commands in
``control`` (stop, save-now) at step boundaries.
"""

from __future__ import annotations

import time

from transformers import TrainerCallback

from engine.contract.protocol import EventWriter, canonical_metrics
from engine.contract.runs import CommandReader, RunDir, RunStatus

# Only the end-of-training log carries these (transformers 5 logs train_runtime every step).
_SUMMARY_KEYS = {"train_samples_per_second", "train_steps_per_second", "total_flos", "train_loss"}
# Running averages since the start; tokens_per_s below is measured per interval instead.
_DROPPED = {"train_runtime", "train_tokens_per_second", "num_input_tokens_seen"}


class EventBridge(TrainerCallback):
    """Bridges trainer callbacks to ``events.jsonl``, ``status.json`` and ``control``."""

    def __init__(self, run: RunDir, events: EventWriter, status: RunStatus, commands: CommandReader):
        self.run = run
        self.events = events
        self.status = status
        self.commands = commands  # one reader per worker, so no stage sees a command twice
        self.stop_requested = False
        self._last_tokens = 0
        self._last_time: float | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        self._last_time = time.perf_counter()
        self._last_tokens = state.num_input_tokens_seen or 0

    def on_step_end(self, args, state, control, **kwargs):
        self.status.step = state.global_step
        # Every step, without the fsync (8 ms a step on a small model, bench/engine_overhead.py): a
        # reader acting on the step it sees (stop at step N) must see it when it happens. The worker
        # writes state changes durably.
        self.run.write_status(self.status, durable=False)
        for command in self.commands.poll():
            if command == "stop":
                self.stop_requested = True
                control.should_training_stop = True
                control.should_save = True
                self.events.emit("log", level="info", message=f"stop requested; saving at step {self.status.step}")
            elif command == "save-now":
                control.should_save = True
                self.events.emit("log", level="info", message=f"checkpoint requested at step {self.status.step}")

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = dict(logs or {})
        if any(key.startswith("eval_") for key in logs):
            return  # the trainer's evaluate(): the held-out evaluator logs it as an eval event
        if _SUMMARY_KEYS & logs.keys():
            self.events.emit("summary", values=canonical_metrics(logs))
            return
        values = canonical_metrics({k: v for k, v in logs.items() if k not in _DROPPED})
        now = time.perf_counter()
        tokens = state.num_input_tokens_seen or 0
        if self._last_time is not None and now > self._last_time and tokens > self._last_tokens:
            values["tokens_per_s"] = (tokens - self._last_tokens) / (now - self._last_time)
        self._last_time, self._last_tokens = now, tokens
        values.update(gpu_memory())
        stage = {"stage": self.status.stage} if self.status.stage else {}
        self.events.emit("metrics", step=state.global_step, total=self.status.total, values=values, **stage)

    def on_save(self, args, state, control, **kwargs):
        step = state.global_step
        self.events.emit("checkpoint", step=step, path=f"checkpoints/checkpoint-{step}")


def gpu_memory() -> dict[str, float]:
    """Peak and reserved GPU memory in GiB, and utilisation in %, on CUDA; nothing elsewhere."""
    import torch

    if not torch.cuda.is_available():
        return {}
    values = {"memory_gb": torch.cuda.max_memory_allocated() / 2**30,
              "memory_reserved_gb": torch.cuda.memory_reserved() / 2**30,
              "memory_peak_reserved_gb": torch.cuda.max_memory_reserved() / 2**30}
    try:
        values["gpu_util"] = float(torch.cuda.utilization())
    except Exception:  # needs NVML (pynvml); utilisation is optional
        pass
    return values
