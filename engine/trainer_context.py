"""Everything a method's ``build_trainer`` needs, in one object (worker only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.config import RunConfig
from engine.models import Backend


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

    def training_arguments(self) -> dict[str, Any]:
        """Arguments shared by every TRL config, from the run's ``training`` section."""
        t = self.config.training
        on_gpu = self.backend.device == "cuda"
        return {
            "output_dir": str(self.output_dir),
            "max_steps": t.max_steps,
            "learning_rate": t.learning_rate,
            "per_device_train_batch_size": t.batch_size,
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
        }
