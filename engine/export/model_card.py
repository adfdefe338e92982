"""The README.md that travels with an export: what was trained, on what, how, and how it ended."""

from __future__ import annotations

import datetime as dt

from engine.contract.run_summary import summarize
from engine.contract.runs import RunDir


def model_card(run: RunDir, source: str, fmt: str, base_title: str, usage: str) -> str:
    """Markdown: base model, method, dataset, hyper-parameters, final metrics, date, and how to load it."""
    config = run.load_config()
    summary = summarize(run)
    lora, training = config.lora, config.training
    method = config.method.model_dump(exclude={"name"}, exclude_none=True)
    metrics = "\n".join(f"| {k} | {v:.4g} |" for k, v in sorted(summary.metrics.items())) or "| (none) | |"
    rewards = ", ".join(f"{r.name} × {r.weight:g}" for r in config.rewards) or "none"
    return f"""---
base_model: {base_title}
library_name: {"peft" if fmt == "adapter" else "transformers" if fmt == "merged" else "gguf"}
tags: [rft, lora, {config.method_name}]
---

# {run.name} ({fmt})

Fine-tuned with rft on {dt.date.today().isoformat()} from run `{run.name}` ({source}, step {summary.step}
of {summary.total or "?"}, {summary.state}).

| | |
|---|---|
| base model | {base_title} |
| method | {config.method_name} {method} |
| dataset | {config.dataset.source} (split {config.dataset.split}) |
| reward functions | {rewards} |
| LoRA | r {lora.r}, alpha {lora.alpha}, dropout {lora.dropout}, targets {lora.target_modules} |
| training | {training.max_steps} steps, lr {training.learning_rate:g}, batch {training.batch_size} × accumulation {training.gradient_accumulation_steps}, seed {training.seed} |
| max sequence length | {config.model.max_seq_length} |

## Final metrics

| metric | value |
|---|---|
{metrics}

## Use

{usage}
"""
