"""Everything a method's trainer builder (``engine.training.trainers``) needs, in one object (worker only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from engine.contract.config import RunConfig
from engine.data.formats import prompt_text
from engine.models.backend import Backend
from engine.training.ranks import Ranks
from engine.training.sharding import sharding_arguments


@dataclass
class TrainerContext:
    """The loaded pieces of a run, handed to a method's trainer builder."""

    config: RunConfig
    backend: Backend
    model: Any
    tokenizer: Any
    train_dataset: Any
    dataset_format: str
    output_dir: Path
    callbacks: list[Any] = field(default_factory=list)
    reward_funcs: list[Callable[..., list[float | None]]] = field(default_factory=list)
    reward_weights: list[float] = field(default_factory=list)
    events: Any = None  # EventWriter; None in tests that build a trainer alone
    stage_name: str | None = None  # in a run of several stages, the one training (events carry it)
    eval_dataset: Any = None  # held-out rows for the trainer's own evaluation (eval_loss); None: none

    def score(self, rows: list[dict[str, Any]], completions: list[str], funcs: list[Callable[..., Any]] | None = None,
              weights: list[float] | None = None) -> dict[str, Any]:
        """Every reward function's scores and their weighted total, per completion (``funcs``, ``weights``:
        other functions than the trainer's, e.g. the unwrapped ones GRPO's recorder wraps).

        Dataset columns other than the prompt reach the functions as keyword
        arguments (TRL's convention); a None score counts as 0 in the total.
        """
        prompts = [row.get("prompt") for row in rows]
        columns = {key: [row.get(key) for row in rows] for key in rows[0] if key != "prompt"} if rows else {}
        by_function: dict[str, list[float | None]] = {}
        funcs = self.reward_funcs if funcs is None else funcs
        weights = self.reward_weights if weights is None else weights
        total = [0.0] * len(completions) if funcs else []
        for fn, weight in zip(funcs, weights):
            values = list(fn(prompts=prompts, completions=completions, **columns))
            if len(values) != len(completions):
                raise ValueError(f"reward function {fn.__name__!r} returned {len(values)} scores for "
                                 f"{len(completions)} completions")
            by_function[fn.__name__] = values
            total = [t + weight * (v or 0.0) for t, v in zip(total, values)]
        return {"total": total, "by_function": by_function}

    def emit_samples(self, step: int, rows: list[dict[str, Any]], completions: list[str], scores: dict[str, Any],
                     advantages: list[float] | None = None) -> None:
        """Log one ``sample`` event per completion."""
        if self.events is None:
            return
        for i, completion in enumerate(completions):
            rewards = {name: values[i] for name, values in scores.get("by_function", {}).items()}
            extra = {"advantage": advantages[i]} if advantages is not None else {}
            self.events.emit("sample", step=step, prompt=prompt_text(rows[i].get("prompt")), completion=completion,
                             rewards=rewards, reward=scores["total"][i] if scores.get("total") else None, **extra)

    def training_arguments(self) -> dict[str, Any]:
        """Arguments shared by every TRL config, from the run's ``training`` section."""
        t = self.config.training
        on_gpu = self.backend.device == "cuda"
        return {
            "output_dir": str(self.output_dir),
            "max_steps": t.max_steps,
            "learning_rate": t.learning_rate,
            "per_device_train_batch_size": t.batch_size,
            "per_device_eval_batch_size": t.batch_size,
            # Evaluation is scheduled by the held-out evaluator (engine.training.evaluation), not the trainer.
            "eval_strategy": "no",
            "gradient_accumulation_steps": t.gradient_accumulation_steps,
            "lr_scheduler_type": t.lr_scheduler,
            "warmup_steps": t.warmup_steps,
            "weight_decay": t.weight_decay,
            "max_grad_norm": t.max_grad_norm,
            "seed": t.seed,
            "data_seed": t.seed,
            "logging_steps": t.logging_steps,
            "logging_first_step": True,
            # Checkpoints on the stop/save-now commands and at the end come from
            # the event bridge; a schedule only when the user asks for one.
            "save_strategy": "steps" if t.save_steps else "no",
            "save_steps": t.save_steps or 500,
            "save_total_limit": t.save_total_limit,
            "gradient_checkpointing": t.gradient_checkpointing,
            # TRL defaults to bf16; on CPU that is slow or unsupported.
            "bf16": on_gpu and self.backend.dtype == "bfloat16",
            "fp16": on_gpu and self.backend.dtype == "float16",
            "use_cpu": self.backend.device == "cpu",
            "report_to": "none",
            "disable_tqdm": True,
            "include_num_input_tokens_seen": "non_padding",
            "dataloader_num_workers": 0,
            **sharding_arguments(self.config.distributed, Ranks.from_env().world_size, on_gpu),
        }

