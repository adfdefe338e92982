"""Base against tuned on held-out prompts: ``python -m engine.generation.compare RUN`` (what ``rft eval`` runs).

An engine process (the CLI never loads a model). It loads the run's base model
with an adapter (the final one, a checkpoint, or the best step's), answers each
eval prompt greedily twice, with the adapter disabled (the base model) and
enabled, and scores both answers with the run's reward functions. Per function:
each side's mean, and the share of prompts where the tuned answer scored
better, the same, or worse than the base's answer to the same prompt.

The prompts are the run's own held-out ones (``eval.size`` or ``eval.source``,
the rows its training never saw), or ``--dataset``'s. The result, with every
answer pair and its scores, is written to
``RUN/eval/<source>.json`` (replaced atomically by a later comparison of the
same source), and an adapter export's model card quotes it.

Events, one JSON object per stdout line: ``progress`` (``message``, ``done``,
``total``), then ``done`` (the comparison, and ``path``) or ``error``
(``message``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from typing import Any

from engine.contract.atomic_files import atomic_write_json
from engine.contract.comparison import compare_scores
from engine.contract.errors import ExplainedError
from engine.contract.privacy import no_telemetry
from engine.contract.runs import RunDir

BATCH = 32  # prompts answered in one generate call (decoding reads every weight once per token, whatever the batch)


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


class CompareError(ExplainedError, ValueError):
    """A comparison that cannot be made, in words: what is missing and what to pass instead."""


def eval_prompts(run: RunDir, chat: bool, dataset: str | None, limit: int) -> tuple[list[dict[str, Any]], str]:
    """Up to ``limit`` prompts to compare on, with the columns the rewards read, and where they come from."""
    from engine.data import prepare
    from engine.data.holdout import eval_split
    from engine.data.probes import distinct_prompt_rows
    from engine.methods import get_method

    config = run.load_config()
    spec = get_method(config.method_name)
    if dataset:
        source = config.dataset.model_copy(update={"source": dataset, "max_rows": None})
        rows = prepare(source, spec.formats, chat=chat, method=spec.title, keep_extra=True).rows
        return distinct_prompt_rows(rows, limit), dataset
    rows = prepare(config.dataset, spec.formats, chat=chat, method=spec.title).rows
    limited = config.model_copy(update={"eval": config.eval.model_copy(update={"prompts": limit})})
    _, _, prompts = eval_split(limited, spec.formats, spec.title, rows, chat, True)
    if not prompts:
        raise CompareError(f"{run.name} held out no rows to evaluate on (eval.size = {config.eval.size!r}, "
                           f"its dataset {config.dataset.source}); pass --dataset SOURCE to compare on other data.")
    where = config.eval.source or f"{len(prompts)} prompts held out of {config.dataset.source}"
    return prompts, where


def compare(run: RunDir, source: str, dataset: str | None, limit: int, max_new_tokens: int | None) -> dict[str, Any]:
    """Answer, score and summarise; returns the comparison (also written into the run)."""
    import torch

    from engine.export import source_dir
    from engine.generation.rollout import generate_rollouts
    from engine.methods import get_method
    from engine.models.lora import load_trained
    from engine.rewards.configured import configured_rewards

    config = run.load_config()
    spec = get_method(config.method_name)
    if not spec.answers:
        raise CompareError(f"{run.name} trained a reward model ({spec.title}); it scores answers and writes "
                           "none. Compare a run that trains a policy.")
    rewards = configured_rewards(config)
    if not rewards:
        raise CompareError(f"{run.name} has no reward functions to score the answers with; add a [[rewards]] "
                           "entry (e.g. name = \"correctness\") to its config.toml and compare again.")
    adapter = best_adapter(run) if source == "best" else source_dir(run, source)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model, tokenizer, _, title = load_trained(config.model, adapter, torch.bfloat16 if device == "cuda"
                                                   else torch.float32, device,
                                                   progress=lambda m: emit("progress", message=m, done=0, total=0))
    prompts, where = eval_prompts(run, bool(tokenizer.chat_template), dataset, limit)
    from engine.contract.eval_config import answer_length

    tokens = max_new_tokens or answer_length(config)
    started = time.perf_counter()
    answers: dict[str, list[str]] = {"base": [], "tuned": []}
    total = 2 * len(prompts)
    for side in ("base", "tuned"):
        for start in range(0, len(prompts), BATCH):
            chunk = [row["prompt"] for row in prompts[start:start + BATCH]]
            context = model.disable_adapter() if side == "base" else contextlib.nullcontext()
            with context:
                answers[side] += generate_rollouts(model, tokenizer, chunk, tokens, 1.0, torch.device(device),
                                                   do_sample=False).completions
            done = len(answers["base"]) + len(answers["tuned"])
            emit("progress", message=f"{side} model answered {len(answers[side])} of {len(prompts)}", done=done,
                 total=total)
    scores = {side: _scores(rewards, prompts, texts) for side, texts in answers.items()}
    result = {"run": run.name, "source": source, "base_model": title, "prompts": len(prompts), "data": where,
              "max_new_tokens": tokens, "seconds": round(time.perf_counter() - started, 1), "created_at": time.time(),
              "rewards": [compare_scores(name, scores["base"][name], scores["tuned"][name]) for name in scores["base"]],
              "examples": [{"prompt": _text(row["prompt"]), "base": answers["base"][i], "tuned": answers["tuned"][i]}
                           for i, row in enumerate(prompts[:3])],
              # Every pair with its scores: where the tuned model got worse can be read, not only counted.
              "answers": [{"prompt": _text(row["prompt"]),
                           **{side: {"text": answers[side][i],
                                     "scores": {name: values[i] for name, values in scores[side].items()}}
                              for side in ("base", "tuned")}}
                          for i, row in enumerate(prompts)]}
    path = run.path / "eval" / f"{source}.json"
    path.parent.mkdir(exist_ok=True)
    atomic_write_json(path, result)
    return {**result, "path": str(path)}


def best_adapter(run: RunDir):
    """The best evaluated step's adapter: the run's own when ``eval.keep_best`` made it so, else the checkpoint
    of that step."""
    from engine.export import ExportError, source_dir

    best = run.status().best
    if not best:
        raise CompareError(f"{run.name} has no best step: it was never evaluated (see its [eval]).")
    if best.get("adapter"):
        return run.path / best["adapter"]
    base = " (the base model: no step of training beat it)" if best["step"] == 0 else ""
    try:
        return source_dir(run, f"checkpoint-{best['step']}")
    except ExportError:
        raise CompareError(f"{run.name}'s best evaluation was step {best['step']}{base}, {best['metric']} "
                           f"{best['value']:.4g}, and no checkpoint of it was kept; set eval.keep_best = true to "
                           "keep it next time, or compare --checkpoint final.") from None


def _scores(rewards: list, prompts: list[dict[str, Any]], texts: list[str]) -> dict[str, list[float]]:
    columns = {key: [row.get(key) for row in prompts] for key in prompts[0] if key != "prompt"}
    by_name: dict[str, list[float]] = {}
    total = [0.0] * len(texts)
    for reward in rewards:
        values = [v or 0.0 for v in reward.fn(prompts=[row["prompt"] for row in prompts], completions=texts,
                                                **columns)]
        by_name[reward.name] = values
        total = [t + reward.weight * v for t, v in zip(total, values)]
    if len(rewards) > 1:
        by_name["total"] = total
    return by_name


def _text(prompt: Any) -> str:
    from engine.data.formats import prompt_text

    return prompt_text(prompt)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.generation.compare")
    parser.add_argument("run", help="run directory or run name")
    parser.add_argument("--source", default="final", help="'final', 'best' or checkpoint-N")
    parser.add_argument("--dataset", default=None, help="compare on this dataset instead of the run's eval rows")
    parser.add_argument("-n", type=int, default=64, help="at most this many prompts")
    parser.add_argument("--max-new-tokens", type=int, default=None)
    parser.add_argument("--runs-dir", default=None)
    args = parser.parse_args(argv)
    no_telemetry()
    from engine.contract.errors import describe_error
    from engine.contract.runs import find_run

    try:
        run = find_run(args.run, args.runs_dir)
        emit("done", **compare(run, args.source, args.dataset, max(1, args.n), args.max_new_tokens))
        return 0
    except Exception as error:  # every refusal and failure reaches the CLI as words, the traceback in the log
        import traceback

        emit("error", message=describe_error(error), traceback=traceback.format_exc())
        return 1


if __name__ == "__main__":
    sys.exit(main())
