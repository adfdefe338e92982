"""Token lengths of prepared rows, and the probe prompts shown during training."""

from __future__ import annotations

import copy
import json
from typing import Any


def count_truncated(rows: list[dict[str, Any]], tokenizer: Any, max_length: int, format: str | None = None) -> int:
    """How many rows are longer than ``max_length`` tokens once rendered.

    A preference row counts if the prompt with either answer is too long; a
    prompt-only row if its prompt is. ``format`` (``PreparedDataset.format``)
    says which shape the rows have; without it the shape is read off each row.
    """
    truncated = 0
    for row in rows:
        shape = format or _shape(row)
        if shape == "text":
            lengths = [len(tokenizer(row["text"])["input_ids"])]
        elif shape == "messages":
            lengths = [_chat_length(tokenizer, row["messages"])]
        elif shape == "preference":
            lengths = [_length(tokenizer, row["prompt"], row[answer]) for answer in ("chosen", "rejected")]
        elif shape == "prompt_only":
            lengths = [_length(tokenizer, row["prompt"], None)]
        else:  # prompt_completion, unpaired
            lengths = [_length(tokenizer, row["prompt"], row["completion"])]
        truncated += max(lengths) > max_length
    return truncated


def check_lengths(rows: list[dict[str, Any]], tokenizer: Any, max_length: int, format: str | None = None) -> int:
    """``count_truncated``, refusing a dataset none of whose rows fits: every one would lose its end,
    which for answers is what training learns from."""
    truncated = count_truncated(rows, tokenizer, max_length, format)
    if rows and truncated == len(rows):
        from engine.data.errors import DatasetError

        raise DatasetError(f"Every one of the {len(rows)} rows is longer than model.max_seq_length = {max_length} "
                           "tokens, so each would be cut before its end. Raise model.max_seq_length or use shorter "
                           "rows.")
    return truncated


def _shape(row: dict[str, Any]) -> str:
    if "text" in row and "prompt" not in row:
        return "text"
    if "messages" in row and "prompt" not in row:
        return "messages"
    if "chosen" in row and "rejected" in row:
        return "preference"
    completion = row.get("completion")
    if isinstance(completion, (list, str)) and isinstance(completion, type(row["prompt"])):
        return "prompt_completion"
    return "prompt_only"


def _chat_length(tokenizer: Any, turns: list[dict[str, str]], generation_prompt: bool = False) -> int:
    rendered = tokenizer.apply_chat_template(turns, tokenize=True, return_dict=True,
                                             add_generation_prompt=generation_prompt)
    return len(rendered["input_ids"])


def _length(tokenizer: Any, prompt: Any, answer: Any) -> int:
    """Tokens of a prompt and its answer (``None``: the prompt alone, ready for generation)."""
    if isinstance(prompt, list):
        return _chat_length(tokenizer, prompt + answer) if answer is not None else _chat_length(tokenizer, prompt, True)
    return len(tokenizer(prompt + answer if answer is not None else prompt)["input_ids"])


def probe_prompts(rows: list[dict[str, Any]], n: int) -> list[Any]:
    """The first ``n`` distinct prompts of normalised rows, to sample answers from during training.

    Prompts keep their shape (chat turns or text). A conversation gives its
    turns up to the last assistant answer; a text row its first words.
    """
    prompts: list[Any] = []
    seen: set[str] = set()
    for row in rows:
        if len(prompts) >= n:
            break
        if "prompt" in row:
            prompt = row["prompt"]
        elif "messages" in row:
            prompt = list(row["messages"])
            while prompt and prompt[-1]["role"] == "assistant":
                prompt.pop()
            if not prompt:
                continue
        elif isinstance(row.get("text"), str):
            words = row["text"].split()
            if len(words) < 2:
                continue
            prompt = " ".join(words[: min(len(words) // 2, 32)])
        else:
            continue
        key = json.dumps(prompt, sort_keys=True, ensure_ascii=False)
        if key not in seen:
            seen.add(key)
            prompts.append(copy.deepcopy(prompt))
    return prompts
