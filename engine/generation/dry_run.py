"""Score a batch with the reward functions before training.

``python -m engine.generation.dry_run REQUEST.json OUT.json`` runs in its own
process (it may load a model and runs reward code), started by ``rft rewards
dry-run`` or the UI. The request is a run config plus what to
score: answers the base model (or the run's starting adapter) generates for
the first N prompts, the dataset's own reference answers, or given texts. It
writes per-answer scores, a per-function summary (mean, std, min/max, a small
histogram, time per call) and the share of prompt groups whose total scores
are all equal: for GRPO such a group teaches nothing. Progress goes to stdout
as ``progress DONE TOTAL`` lines.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from engine.contract.atomic_files import atomic_write_json
from engine.contract.config import RunConfig, config_from_dict
from engine.contract.privacy import no_telemetry

SPREAD_EPS = 1e-6


def _progress(done: int, total: int) -> None:
    print(f"progress {done} {total}", flush=True)


def _reference(row: dict[str, Any]) -> str:
    from engine.rewards import completion_text

    for key in ("completion", "chosen", "answer"):
        if row.get(key) is not None:
            return completion_text(row[key])
    raise ValueError("the dataset has no reference answers (no completion, chosen or answer column); "
                     "use --source model")


def _generate(config: RunConfig, rows: list[dict[str, Any]], per_prompt: int) -> list[list[str]]:
    """Sample ``per_prompt`` answers for each row's prompt with the base model (or its starting adapter)."""
    from engine.generation.rollout import generate_rollouts
    from engine.models.backend import choose_backend
    from engine.models.default_model import prepare_default_model
    from engine.models.lora import load_model
    from engine.models.resolve import resolve_model
    from engine.planning.stages import resolve_adapter

    backend = choose_backend(config.model.backend, config.model.load_in_4bit, config.model.dtype,
                             peft_only=not config.unsloth_trains)
    source = resolve_model(config.model.name, config.model.revision)
    path = source.path or prepare_default_model(progress=print)
    adapter = resolve_adapter(config.model.start_from) if config.model.start_from else None
    if config.model.start_from and adapter is None:
        print(f"note: model.start_from = {config.model.start_from!r} is a preset, not a finished run; the answers "
              "come from the base model (point --set model.start_from at a run to score its answers)", flush=True)
    model, tokenizer = load_model(path, backend, config.model, config.lora, config.training.seed,
                                  start_adapter=adapter)
    import torch

    torch.manual_seed(config.training.seed)
    method = config.method
    max_new = getattr(method, "max_completion_length", None) or getattr(method, "max_new_tokens", None) or \
        config.training.sample_max_new_tokens
    temperature = getattr(method, "temperature", 1.0)
    answers = []
    for i, row in enumerate(rows):
        batch = generate_rollouts(model, tokenizer, [row["prompt"]] * per_prompt, max_new, temperature,
                                  torch.device(backend.device))
        answers.append(batch.completions)
        _progress(i + 1, len(rows))
    return answers


def _summary(values: list[float | None], seconds: float, calls: int) -> dict[str, Any]:
    real = [v for v in values if v is not None]
    # "Every answer the same score" takes two answers at least: one answer is not a constant function.
    several = len(values) >= 2
    if not real:
        return {"mean": None, "std": None, "min": None, "max": None, "histogram": [], "constant": several,
                "none": len(values), "ms_per_call": 1000 * seconds / max(calls, 1)}
    low, high = min(real), max(real)
    bins = [0] * 10
    for v in real:
        bins[min(9, int((v - low) / (high - low) * 10)) if high > low else 0] += 1
    return {"mean": statistics.fmean(real), "std": statistics.pstdev(real), "min": low, "max": high,
            "histogram": bins, "constant": several and high - low < SPREAD_EPS, "none": len(values) - len(real),
            "ms_per_call": 1000 * seconds / max(calls, 1)}


def dry_run(config: RunConfig, n: int, source: str, per_prompt: int, texts: list[str]) -> dict[str, Any]:
    """Score answers for the first ``n`` prompts; see the module docstring."""
    from engine import data
    from engine.methods import get_method
    from engine.rewards.configured import configured_rewards

    if not config.rewards:
        raise ValueError("no reward functions to try: add [[rewards]] to the preset or pass --rewards")
    spec = get_method(config.method_name)
    rows = data.prepare(config.dataset, spec.formats, method=spec.title, keep_extra=True).rows
    rows = [r for r in rows if r.get("prompt") is not None][:n]
    if source == "model":
        groups = _generate(config, rows, per_prompt)
    elif source == "text":
        rows, groups = rows[:1], [texts]
    else:
        groups = [[_reference(row)] for row in rows]

    functions = [(r.name, r.fn, r.weight) for r in configured_rewards(config)]

    scored, spent = [], {name: 0.0 for name, _, _ in functions}
    per_function: dict[str, list[float | None]] = {name: [] for name, _, _ in functions}
    zero_spread = 0
    for row, answers in zip(rows, groups):
        columns = {k: [v] * len(answers) for k, v in row.items() if k != "prompt"}
        prompts = [row["prompt"]] * len(answers)
        scores: dict[str, list[float | None]] = {}
        for name, fn, _ in functions:
            started = time.perf_counter()
            scores[name] = list(fn(prompts=prompts, completions=answers, **columns))
            spent[name] += time.perf_counter() - started
            per_function[name] += scores[name]
        totals = [sum(w * (scores[name][i] or 0.0) for name, _, w in functions) for i in range(len(answers))]
        if len(answers) > 1 and max(totals) - min(totals) < SPREAD_EPS:
            zero_spread += 1
        from engine.data.formats import prompt_text

        for i, answer in enumerate(answers):
            scored.append({"prompt": prompt_text(row["prompt"]), "completion": answer, "total": totals[i],
                           "scores": {name: scores[name][i] for name, _, _ in functions}})
    for _, fn, _ in functions:
        getattr(fn, "close", lambda: None)()
    grouped = [g for g in groups if len(g) > 1]
    return {
        "source": source, "prompts": len(rows), "answers": len(scored), "rows": scored,
        "summary": {name: _summary(per_function[name], spent[name], len(rows)) for name, _, _ in functions},
        "zero_spread_share": zero_spread / len(grouped) if grouped else None,
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m engine.generation.dry_run REQUEST.json OUT.json", file=sys.stderr)
        return 2
    no_telemetry()
    request = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    try:
        config = config_from_dict(request["config"])
        result = dry_run(config, request.get("n", 8), request.get("source", "model"),
                         request.get("per_prompt", 4), request.get("texts", []))
    except Exception as error:  # the caller shows the message and the user's own frames
        import traceback

        from engine.contract.errors import describe_error
        from engine.contract.user_traceback import keep_full
        from engine.models.resolve import ModelError
        from engine.rewards.user_files import RewardError

        # A reward function's own traceback (from its process) comes first: it is the one to read.
        full = (getattr(error, "traceback", None) or "") + traceback.format_exc()
        # Refusals (config, dataset: ValueErrors), failed rewards and OS errors say it in words; anything else is
        # a bug of rft's, whose traceback is kept in a log the message points at.
        said = isinstance(error, (RewardError, ModelError, ValueError, OSError))
        atomic_write_json(argv[1], {"error": describe_error(error), "traceback": full,
                                    **({} if said else {"log": str(keep_full("dry-run", full))})})
        return 1
    atomic_write_json(argv[1], result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
