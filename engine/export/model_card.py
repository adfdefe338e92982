"""The README.md that travels with an export: what was trained, on what, how, and how it ended."""

from __future__ import annotations

import datetime as dt
import json

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
    trained = (f"LoRA | r {lora.r}, alpha {lora.alpha}, dropout {lora.dropout}, targets {lora.target_modules}"
               if lora.enabled else "weights | every weight trained (full fine-tuning)")
    return f"""---
base_model: {base_title}
library_name: {"peft" if fmt == "adapter" else "transformers" if fmt == "merged" else "gguf"}
tags: [rft, {"lora" if lora.enabled else "full-fine-tuning"}, {config.method_name}]
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
| {trained} |
| training | {training.max_steps} steps, lr {training.learning_rate:g}, batch {training.batch_size} × accumulation {training.gradient_accumulation_steps}, seed {training.seed} |
| max sequence length | {config.model.max_seq_length} |

## Final metrics

| metric | value |
|---|---|
{metrics}
{evaluation(run, source, summary.best)}
## Use

{usage}
"""


def evaluation(run: RunDir, source: str, best: dict | None) -> str:
    """The held-out evaluation, for the card: the best step, and ``rft eval``'s base-against-tuned table of
    this adapter when one was made ('' when the run has neither)."""
    parts = []
    if best:
        parts.append(f"Best held-out evaluation: {best['metric']} {best['value']:.4g} at step {best['step']}"
                     + (" (the adapter is that step's)." if best.get("adapter") else "."))
    try:
        result = json.loads((run.path / "eval" / f"{source}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        result = None
    if result:
        rows = "\n".join(f"| {r['name']} | {r['base']:.3f} | {r['tuned']:.3f} | {r['better']:.0%} | {r['equal']:.0%} "
                         f"| {r['worse']:.0%} |" for r in result["rewards"])
        parts.append(f"Base model against this adapter on {result['prompts']} prompts ({result['data']}), greedy "
                     f"answers scored by the run's reward functions (`rft eval`):\n\n| reward | base | tuned | better "
                     f"| same | worse |\n|---|---|---|---|---|---|\n{rows}")
    return "\n## Evaluation\n\n" + "\n\n".join(parts) + "\n" if parts else ""
