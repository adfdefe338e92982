"""Reading a dataset's raw rows: built-ins, local files, the Hugging Face hub.

Rows are read with the standard library where we can (jsonl/json) so that
errors name the file and line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.contract.config import DatasetConfig
from engine.data.errors import DatasetError
from engine.contract.wording import clause

ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets" / "datasets"
LOCAL_SUFFIXES = {".jsonl", ".json", ".csv", ".parquet"}


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
            f"{clause(error)}. Use a local file or a built-in ('builtin:arithmetic-sft')."
        ) from None
