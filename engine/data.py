"""Load a dataset, detect its format, check it against the method, normalise it.

Everything here runs before any model is loaded, so a wrong column or an empty
row costs the user seconds, not a model load. Rows are read with the standard
library where we can (jsonl/json) so that errors name the file and line.

Formats (what ``detect_format`` returns) and the columns they need:

- ``messages``: a list of ``{"role", "content"}`` turns (ShareGPT's
  ``conversations`` with ``from``/``value`` is converted);
- ``prompt_completion``: ``prompt`` and ``completion`` (Alpaca's
  ``instruction``/``input``/``output`` is converted);
- ``text``: raw ``text``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.config import DatasetConfig

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets" / "datasets"
LOCAL_SUFFIXES = {".jsonl", ".json", ".csv", ".parquet"}
FORMAT_COLUMNS = {
    "messages": ("messages",),
    "prompt_completion": ("prompt", "completion"),
    "text": ("text",),
}
_SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system"}


class DatasetError(ValueError):
    """A dataset that cannot be used, saying what is wrong, where, and how to fix it."""


@dataclass
class PreparedDataset:
    """Rows normalised for a method, with what was detected on the way."""

    rows: list[dict[str, Any]]
    format: str
    source: str
    columns: list[str]


def builtin_datasets() -> dict[str, Path]:
    """Built-in datasets by name ('arithmetic-sft' → assets/datasets/arithmetic-sft.jsonl)."""
    return {p.stem: p for p in sorted(ASSETS_DIR.glob("*.jsonl"))}


def load_rows(cfg: DatasetConfig) -> tuple[list[dict[str, Any]], str]:
    """Read the raw rows of a dataset; returns ``(rows, description of the source)``."""
    source = cfg.source
    if source.startswith("builtin:"):
        name = source.split(":", 1)[1]
        builtins = builtin_datasets()
        if name not in builtins:
            raise DatasetError(f"No built-in dataset {name!r}; built-ins: {', '.join(builtins) or 'none'}.")
        rows = _read_jsonl(builtins[name])
    else:
        path = Path(source).expanduser()
        if path.suffix.lower() in LOCAL_SUFFIXES or path.exists():
            rows = _read_local(path)
        else:
            rows = _read_hub(source, cfg.split)
    if cfg.max_rows:
        rows = rows[: cfg.max_rows]
    if not rows:
        raise DatasetError(f"Dataset {source!r} has no rows.")
    return rows, source


def _read_local(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise DatasetError(f"Dataset file {str(path)!r} does not exist; check dataset.source.")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return _read_jsonl(path)
    if suffix == ".json":
        return _read_json(path)
    if suffix in {".csv", ".parquet"}:
        from datasets import load_dataset

        try:
            loaded = load_dataset(suffix[1:], data_files=str(path), split="train")
        except Exception as error:  # the readers raise many kinds; all mean "cannot read"
            raise DatasetError(f"Could not read {path}: {error}") from None
        return loaded.to_list()
    raise DatasetError(f"Dataset file {path} has an unsupported type; use .jsonl, .json, .csv or .parquet.")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise DatasetError(f"{path} is not UTF-8 text (byte {error.start}); re-save it as UTF-8.") from None


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise DatasetError(f"{path}, line {number}: not valid JSON ({error.msg}).") from None
        if not isinstance(row, dict):
            raise DatasetError(f"{path}, line {number}: each line must be a JSON object, got {type(row).__name__}.")
        rows.append(row)
    return rows


def _read_json(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as error:
        raise DatasetError(f"{path}, line {error.lineno}: not valid JSON ({error.msg}).") from None
    if isinstance(data, dict):
        data = data.get("train") or data.get("data") or data.get("rows")
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise DatasetError(f"{path}: expected a list of objects (or {{'train': [...]}}).")
    return data


def _read_hub(dataset_id: str, split: str) -> list[dict[str, Any]]:
    from datasets import load_dataset

    try:
        return load_dataset(dataset_id, split=split).to_list()
    except Exception as error:  # hub, network and format errors all end here
        raise DatasetError(
            f"Could not load dataset {dataset_id!r} (split {split!r}) from the Hugging Face hub or its cache: "
            f"{error}. Use a local file or a built-in ('builtin:arithmetic-sft')."
        ) from None


def _mapped_columns(cfg: DatasetConfig) -> dict[str, str]:
    """Canonical column name → the dataset's column name."""
    return {
        "messages": cfg.messages_column or "messages",
        "prompt": cfg.prompt_column or "prompt",
        "completion": cfg.completion_column or "completion",
        "text": cfg.text_column or "text",
    }


def detect_format(columns: set[str], cfg: DatasetConfig, accepted: tuple[str, ...]) -> str:
    """The first accepted format whose columns are all present, or a ``DatasetError``."""
    mapping = _mapped_columns(cfg)
    if "conversations" in columns and "messages" not in columns and not cfg.messages_column:
        mapping["messages"] = "conversations"
    if {"instruction", "output"} <= columns and not cfg.prompt_column:
        mapping["prompt"], mapping["completion"] = "instruction", "output"
    candidates = [cfg.format] if cfg.format != "auto" else list(accepted)
    for fmt in candidates:
        if fmt in accepted and all(mapping[c] in columns for c in FORMAT_COLUMNS[fmt]):
            return fmt
    if cfg.format != "auto" and cfg.format not in accepted:
        raise DatasetError(f"dataset.format = {cfg.format!r} does not suit this method; it accepts {', '.join(accepted)}.")
    needs = []
    for fmt in candidates:
        missing = [mapping[c] for c in FORMAT_COLUMNS[fmt] if mapping[c] not in columns]
        needs.append(f"{fmt} (missing column{'s' if len(missing) > 1 else ''} {', '.join(repr(m) for m in missing)})")
    raise DatasetError(
        f"The dataset's columns are {sorted(columns)}; none of the formats this method accepts fits: "
        f"{'; '.join(needs)}. Rename your columns or map them in the preset, e.g. "
        "dataset.prompt_column = \"question\"."
    )


def prepare(cfg: DatasetConfig, accepted: tuple[str, ...], chat: bool = True) -> PreparedDataset:
    """Load, detect, validate and normalise rows for a method accepting ``accepted`` formats.

    With ``chat`` (the tokenizer has a chat template), string prompts become a
    user turn (after the system prompt) and completions an assistant turn.
    """
    raw, source = load_rows(cfg)
    columns: set[str] = set().union(*(row.keys() for row in raw))
    fmt = detect_format(columns, cfg, accepted)
    mapping = _mapped_columns(cfg)
    if fmt == "messages":
        key = mapping["messages"] if mapping["messages"] in columns else "conversations"
        chats = [_messages_row(row.get(key), i, key, cfg.system_prompt) for i, row in enumerate(raw, start=1)]
        if "prompt_completion" in accepted and all(len(c) > 1 and c[-1]["role"] == "assistant" for c in chats):
            # Split off the last answer so the loss covers it alone, whatever the template.
            rows = [{"prompt": c[:-1], "completion": c[-1:]} for c in chats]
            fmt = "prompt_completion"
        else:
            rows = [{"messages": c} for c in chats]
    elif fmt == "prompt_completion":
        alpaca = {"instruction", "output"} <= columns and not cfg.prompt_column
        rows = [_prompt_completion_row(row, i, mapping, alpaca, cfg.system_prompt, chat) for i, row in enumerate(raw, start=1)]
    else:
        rows = [{"text": _text(row.get(mapping["text"]), i, mapping["text"])} for i, row in enumerate(raw, start=1)]
    return PreparedDataset(rows=rows, format=fmt, source=source, columns=sorted(columns))


def _text(value: Any, row: int, column: str) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise DatasetError(f"Row {row}: column {column!r} is empty; remove the row or fill it in.")
    if not isinstance(value, str):
        raise DatasetError(f"Row {row}: column {column!r} should be text, got {type(value).__name__}.")
    return value


def _prompt_completion_row(row: dict, i: int, mapping: dict, alpaca: bool, system: str | None, chat: bool) -> dict:
    if alpaca:
        prompt = _text(row.get("instruction"), i, "instruction")
        if isinstance(row.get("input"), str) and row["input"].strip():
            prompt = f"{prompt}\n\n{row['input']}"
        completion = _text(row.get("output"), i, "output")
    else:
        prompt = _text(row.get(mapping["prompt"]), i, mapping["prompt"])
        completion = _text(row.get(mapping["completion"]), i, mapping["completion"])
    if not chat:
        return {"prompt": f"{system}\n\n{prompt}" if system else prompt, "completion": completion}
    turns = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
    return {"prompt": turns, "completion": [{"role": "assistant", "content": completion}]}


def _messages_row(value: Any, i: int, column: str, system: str | None) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise DatasetError(f"Row {i}: column {column!r} should be a non-empty list of chat turns.")
    turns = []
    for turn in value:
        if not isinstance(turn, dict):
            raise DatasetError(f"Row {i}: every turn in {column!r} should be an object with 'role' and 'content'.")
        role = _SHAREGPT_ROLES.get(turn.get("role") or turn.get("from"), turn.get("role"))
        content = turn.get("content", turn.get("value"))
        if role not in {"system", "user", "assistant"} or not isinstance(content, str):
            raise DatasetError(f"Row {i}: a turn in {column!r} has role {role!r} / content {type(content).__name__}; "
                               "roles must be system, user or assistant and content text.")
        turns.append({"role": role, "content": content})
    if system and turns[0]["role"] != "system":
        turns.insert(0, {"role": "system", "content": system})
    return turns


def count_truncated(rows: list[dict[str, Any]], tokenizer: Any, max_length: int) -> int:
    """How many rows are longer than ``max_length`` tokens once rendered."""
    truncated = 0
    for row in rows:
        if "text" in row:
            length = len(tokenizer(row["text"])["input_ids"])
        elif "messages" in row:
            length = len(tokenizer.apply_chat_template(row["messages"], tokenize=True, return_dict=True)["input_ids"])
        elif isinstance(row["prompt"], list):
            chat = row["prompt"] + row["completion"]
            length = len(tokenizer.apply_chat_template(chat, tokenize=True, return_dict=True)["input_ids"])
        else:
            length = len(tokenizer(row["prompt"] + row["completion"])["input_ids"])
        truncated += length > max_length
    return truncated
