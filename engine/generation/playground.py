"""Talk to a run's base model and its tuned adapter side by side: ``python -m engine.generation.playground RUN``.

A long-lived engine process (the UI never loads a model). It loads the base
model once with the run's adapter (final or a checkpoint) and answers each
request twice: with the adapter, and with the adapter disabled (the base
model), streaming tokens as they come; then it scores both answers with the
run's reward functions. One JSON request per stdin line::

    {"prompt": "What is 2 plus 3?", "probe": null, "greedy": true, "temperature": 0.7, "max_new_tokens": 128}

``probe`` picks one of the run's probe prompts instead (its dataset columns,
such as a reference answer, then reach the reward functions). Events, one
JSON object per stdout line: ``ready`` (probe prompts, reward names),
``token`` (side, text), ``answer`` (side, text, tokens, seconds, stopped,
rewards), ``done``, ``error`` (message).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
import time
from typing import Any

from engine.contract.privacy import no_telemetry
from engine.contract.runs import RunDir

SIDES = ("tuned", "base")


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


class Playground:
    """The run's base model with its adapter, ready to answer from either side."""

    def __init__(self, run: RunDir, source: str = "final"):
        import torch

        from engine.data.probes import probe_rows
        from engine.export import source_dir
        from engine.methods import get_method
        from engine.models.lora import load_trained
        from engine.rewards.configured import configured_rewards

        self.config = run.load_config()
        spec = get_method(self.config.method_name)
        if spec.model_kind != "causal_lm":
            raise ValueError(f"{run.name} trained a reward model ({spec.title}); it scores text and cannot answer. "
                             "Open the playground on a run that trains a policy.")
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = torch.bfloat16 if self.device == "cuda" else torch.float32
        self.model, self.tokenizer, _, _ = load_trained(
            self.config.model, source_dir(run, source), dtype, self.device,
            progress=lambda message: emit("progress", message=message))
        self.chat = bool(self.tokenizer.chat_template)
        self.probes = probe_rows(self.config, spec, self.chat, 8)
        self.rewards = configured_rewards(self.config)

    def ready_event(self) -> dict[str, Any]:
        from engine.data.formats import prompt_text

        return {"probes": [prompt_text(p["prompt"]) for p in self.probes], "rewards": [r.name for r in self.rewards]}

    def _prompt(self, request: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        probe = request.get("probe")
        if probe is not None:
            row = self.probes[int(probe)]
            return row["prompt"], {k: v for k, v in row.items() if k != "prompt"}
        text = str(request.get("prompt", "")).strip()
        if not text:
            raise ValueError("the prompt is empty: type a question first")
        if not self.chat:
            return text, {}
        system = self.config.dataset.system_prompt
        return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": text}], {}

    def answer(self, side: str, prompt: Any, request: dict[str, Any]) -> dict[str, Any]:
        import torch
        from transformers import TextIteratorStreamer

        from engine.models.chat_setup import prompt_token_ids

        ids = torch.tensor(prompt_token_ids(self.tokenizer, [prompt]), device=self.device)
        encoded = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
        greedy = bool(request.get("greedy", True))
        sampling = {"do_sample": False} if greedy else \
            {"do_sample": True, "temperature": float(request.get("temperature", 0.7)), "top_p": 1.0, "top_k": 0}
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        output: dict[str, Any] = {}

        def generate() -> None:
            context = self.model.disable_adapter() if side == "base" else contextlib.nullcontext()
            with context, torch.no_grad():
                output["ids"] = self.model.generate(
                    **encoded, max_new_tokens=int(request.get("max_new_tokens", 128)), streamer=streamer,
                    eos_token_id=self.tokenizer.eos_token_id, pad_token_id=self.tokenizer.pad_token_id, **sampling)

        started = time.perf_counter()
        thread = threading.Thread(target=generate, daemon=True)
        thread.start()
        pieces = []
        for piece in streamer:
            if piece:
                pieces.append(piece)
                emit("token", side=side, text=piece)
        thread.join()
        tokens = output["ids"][0, encoded["input_ids"].shape[1]:].tolist()
        return {"side": side, "text": "".join(pieces), "tokens": len(tokens),
                "seconds": round(time.perf_counter() - started, 3),
                "stopped": bool(tokens) and tokens[-1] == self.tokenizer.eos_token_id}

    def score(self, prompt: Any, texts: list[str], columns: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
        """Each answer's score per reward function; a function that fails says why instead."""
        scores: list[dict[str, Any]] = [{} for _ in texts]
        notes = []
        for reward in self.rewards:
            try:
                values = reward.fn(prompts=[prompt] * len(texts), completions=texts,
                                   **{k: [v] * len(texts) for k, v in columns.items()})
            except Exception as error:  # a function needing a dataset column the typed prompt lacks, say
                notes.append(f"{reward.name}: {type(error).__name__}: {str(error).splitlines()[0][:200]}")
                values = [None] * len(texts)
            for i, value in enumerate(values):
                scores[i][reward.name] = value
        return scores, notes

    def handle(self, request: dict[str, Any]) -> None:
        prompt, columns = self._prompt(request)
        answers = [self.answer(side, prompt, request) for side in SIDES]
        scores, notes = self.score(prompt, [a["text"] for a in answers], columns)
        for answer, score in zip(answers, scores):
            emit("answer", **answer, rewards=score)
        emit("done", notes=notes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.generation.playground")
    parser.add_argument("run")
    parser.add_argument("--source", default="final")
    args = parser.parse_args(argv)
    no_telemetry()
    try:
        playground = Playground(RunDir(args.run), args.source)
    except Exception as error:
        from engine.contract.errors import describe_error

        emit("error", message=describe_error(error), fatal=True)
        return 1
    emit("ready", **playground.ready_event())
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            playground.handle(json.loads(line))
        except Exception as error:  # one bad request does not end the session
            from engine.contract.errors import describe_error

            emit("error", message=describe_error(error), fatal=False)
    for reward in playground.rewards:
        reward.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
