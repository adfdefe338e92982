"""Load a dataset, detect its format, check it against the method, normalise it.

Everything here runs before any model is loaded, so a wrong column or an empty
row costs the user seconds, not a model load. Rows are read with the standard
library where we can (jsonl/json) so that errors name the file and line.

Formats (what ``detect_format`` returns) and the columns they need:

- ``messages``: a list of ``{"role", "content"}`` turns (ShareGPT's
  ``conversations`` with ``from``/``value`` is converted);
- ``prompt_completion``: ``prompt`` and ``completion`` (Alpaca's
  ``instruction``/``input``/``output`` is converted);
- ``text``: raw ``text``;
- ``preference`` (DPO, ORPO, RM): ``prompt``, ``chosen``, ``rejected``; the
  prompt may be left out when ``chosen`` and ``rejected`` are whole
  conversations sharing their beginning, which then becomes the prompt;
- ``unpaired`` (KTO): ``prompt``, ``completion`` and a true/false ``label``;
- ``prompt_only`` (GRPO, PPO): ``prompt``; the row's other columns (such as a
  reference ``answer``) are kept for reward functions.

Normalised rows, with ``chat`` (the model has a chat template) / without:

- ``{"messages": [turns]}``
- ``{"prompt": [system?, user], "completion": [assistant]}`` / two strings
- ``{"text": str}``
- ``{"prompt": [system?, user], "chosen": [assistant], "rejected": [assistant]}`` / three strings
- ``{"prompt": [system?, user], "completion": [assistant], "label": bool}`` / strings and a bool
- ``{"prompt": [system?, user], **other columns}`` / a string and the other columns

Without ``chat`` the system prompt is put before the prompt, separated by a blank line.
"""

from __future__ import annotations

import copy
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
    "preference": ("prompt", "chosen", "rejected"),
    "unpaired": ("prompt", "completion", "label"),
    "prompt_only": ("prompt",),
}
# Columns a format can do without (the prompt of a preference set can be implicit).
OPTIONAL_COLUMNS = {"preference": ("prompt",)}
# The preset setting that maps each canonical column.
COLUMN_SETTINGS = {
    "messages": "messages_column",
    "prompt": "prompt_column",
    "completion": "completion_column",
    "text": "text_column",
    "chosen": "chosen_column",
    "rejected": "rejected_column",
    "label": "label_column",
}
_LABELS = {"true": True, "good": True, "1": True, "false": False, "bad": False, "0": False}
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
    # getattr: the chosen/rejected/label settings are newer than some configs.
    return {
        "messages": cfg.messages_column or "messages",
        "prompt": cfg.prompt_column or "prompt",
        "completion": cfg.completion_column or "completion",
        "text": cfg.text_column or "text",
        "chosen": getattr(cfg, "chosen_column", None) or "chosen",
        "rejected": getattr(cfg, "rejected_column", None) or "rejected",
        "label": getattr(cfg, "label_column", None) or "label",
    }


def _detection_mapping(columns: set[str], cfg: DatasetConfig) -> dict[str, str]:
    """The column mapping, with ShareGPT's and Alpaca's column names recognised."""
    mapping = _mapped_columns(cfg)
    if "conversations" in columns and "messages" not in columns and not cfg.messages_column:
        mapping["messages"] = "conversations"
    if {"instruction", "output"} <= columns and not cfg.prompt_column:
        mapping["prompt"], mapping["completion"] = "instruction", "output"
    return mapping


def _required(fmt: str) -> list[str]:
    return [c for c in FORMAT_COLUMNS[fmt] if c not in OPTIONAL_COLUMNS.get(fmt, ())]


def _quoted(names: list[str]) -> str:
    return ", ".join(repr(name) for name in names)


def detect_format(columns: set[str], cfg: DatasetConfig, accepted: tuple[str, ...], method: str | None = None) -> str:
    """The first accepted format whose columns are all present, or a ``DatasetError``.

    ``method`` (e.g. ``"dpo"``) only makes the error say who needs what.
    """
    mapping = _detection_mapping(columns, cfg)
    who = method.upper() if method else "this method"
    candidates = [cfg.format] if cfg.format != "auto" else list(accepted)
    for fmt in candidates:
        if fmt in accepted and all(mapping[c] in columns for c in _required(fmt)):
            return fmt
    if cfg.format != "auto" and cfg.format not in accepted:
        raise DatasetError(f"dataset.format = {cfg.format!r} does not suit {who}; it accepts {', '.join(accepted)}.")
    needs, settings = [], []
    for fmt in candidates:
        wanted = [mapping[c] for c in FORMAT_COLUMNS[fmt]]
        missing = [c for c in _required(fmt) if mapping[c] not in columns]
        settings += [s for s in (f"dataset.{COLUMN_SETTINGS[c]}" for c in missing) if s not in settings]
        missing_names = [mapping[c] for c in missing]
        need = (f"{fmt}: column{'s' if len(wanted) > 1 else ''} {_quoted(wanted)} "
                f"(missing column{'s' if len(missing) > 1 else ''} {_quoted(missing_names)}")
        for optional in OPTIONAL_COLUMNS.get(fmt, ()):
            need += (f"; {mapping[optional]!r} may be left out when {mapping['chosen']!r} and "
                     f"{mapping['rejected']!r} are whole conversations")
        needs.append(need + ")")
    fits = f"none of the formats {who} accepts fits" if len(candidates) > 1 else f"it does not fit {who}"
    raise DatasetError(
        f"The dataset's columns are {sorted(columns)}; {fits}. "
        f"{who[0].upper() + who[1:]} needs {'one of: ' if len(needs) > 1 else ''}{'; or '.join(needs)}. "
        f"Rename your columns or map them in the preset ({', '.join(settings)}), "
        "e.g. dataset.prompt_column = \"question\"."
    )


def prepare(cfg: DatasetConfig, accepted: tuple[str, ...], chat: bool = True, *, method: str | None = None,
            keep_extra: bool = False) -> PreparedDataset:
    """Load, detect, validate and normalise rows for a method accepting ``accepted`` formats.

    With ``chat`` (the tokenizer has a chat template), string prompts become a
    user turn (after the system prompt) and answers an assistant turn; without
    it, everything is text (see the module docstring for the shapes).
    ``method`` names the method in errors. ``keep_extra`` keeps the columns
    the format does not use (``prompt_only`` rows always keep them).
    """
    raw, source = load_rows(cfg)
    columns: set[str] = set().union(*(row.keys() for row in raw))
    fmt = detect_format(columns, cfg, accepted, method)
    mapping = _detection_mapping(columns, cfg)
    alpaca = mapping["prompt"] == "instruction" and not cfg.prompt_column
    system = cfg.system_prompt
    numbered = list(enumerate(raw, start=1))
    if fmt == "messages":
        key = mapping["messages"]
        chats = [_messages_row(row.get(key), i, key, system) for i, row in numbered]
        used = {key}
        if "prompt_completion" in accepted and all(len(c) > 1 and c[-1]["role"] == "assistant" for c in chats):
            # Split off the last answer so the loss covers it alone, whatever the template.
            rows = [{"prompt": c[:-1], "completion": c[-1:]} for c in chats]
            fmt = "prompt_completion"
        else:
            rows = [{"messages": c} for c in chats]
    elif fmt in ("prompt_completion", "unpaired"):
        used = {"instruction", "input", "output"} if alpaca else {mapping["prompt"], mapping["completion"]}
        rows = [_prompt_completion_row(row, i, mapping, alpaca, system, chat) for i, row in numbered]
        if fmt == "unpaired":
            used.add(mapping["label"])
            for (i, row), out in zip(numbered, rows):
                out["label"] = _label(row.get(mapping["label"]), i, mapping["label"])
            _check_both_labels(rows)
    elif fmt == "preference":
        implicit = mapping["prompt"] not in columns
        used = {mapping["chosen"], mapping["rejected"]} | (set() if implicit else {mapping["prompt"]})
        rows = [_preference_row(row, i, mapping, implicit, system, chat) for i, row in numbered]
    elif fmt == "prompt_only":
        used = {"instruction", "input"} if alpaca else {mapping["prompt"]}
        rows = [{"prompt": _prompt_only_value(row, i, mapping, alpaca, system, chat)} for i, row in numbered]
    else:
        used = {mapping["text"]}
        rows = [{"text": _text(row.get(mapping["text"]), i, mapping["text"])} for i, row in numbered]
    if keep_extra or fmt == "prompt_only":
        for (_, row), out in zip(numbered, rows):
            out.update({k: v for k, v in row.items() if k not in used and k not in out})
    return PreparedDataset(rows=rows, format=fmt, source=source, columns=sorted(columns))


def _label(value: Any, row: int, column: str) -> bool:
    """A KTO label: a bool, 0/1, or 'true'/'false'/'good'/'bad' (any case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _LABELS:
        return _LABELS[value.strip().lower()]
    raise DatasetError(f"Row {row}: column {column!r} is {value!r}; a label must be true or false "
                       "(also accepted: 1/0, 'true'/'false', 'good'/'bad').")


def _check_both_labels(rows: list[dict[str, Any]]) -> None:
    good = sum(row["label"] for row in rows)
    bad = len(rows) - good
    if not good or not bad:
        raise DatasetError(
            "KTO needs both desirable (label true) and undesirable (label false) examples; "
            f"this dataset has {good} true and {bad} false. Add examples of the missing kind."
        )


def _user_prompt(value: Any, row: int, column: str, system: str | None, chat: bool) -> list[dict[str, str]] | str:
    """A prompt given as text or as chat turns, as turns (``chat``) or as text."""
    if isinstance(value, list):
        turns = _messages_row(value, row, column, system)
        if turns[-1]["role"] != "user" or not turns[-1]["content"].strip():
            raise DatasetError(f"Row {row}: the prompt in column {column!r} should end with a non-empty user turn.")
        return turns if chat else _flatten_prompt(turns, row, column)
    text = _text(value, row, column)
    if not chat:
        return f"{system}\n\n{text}" if system else text
    return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": text}]


def _flatten_prompt(turns: list[dict[str, str]], row: int, column: str) -> str:
    """A one-question chat prompt as text, for a model without a chat template."""
    roles = [turn["role"] for turn in turns]
    if roles not in (["user"], ["system", "user"]):
        raise DatasetError(f"Row {row}: column {column!r} holds a conversation of several turns, which needs a model "
                           "with a chat template; use an instruct model or a one-question prompt.")
    return "\n\n".join(turn["content"] for turn in turns)


def _answer(value: Any, row: int, column: str, chat: bool) -> list[dict[str, str]] | str:
    """An answer given as text or as chat turns starting with the assistant's."""
    if isinstance(value, list):
        turns = _messages_row(value, row, column, None)
        return _answer_turns(turns, row, column, chat)
    text = _text(value, row, column)
    return [{"role": "assistant", "content": text}] if chat else text


def _answer_turns(turns: list[dict[str, str]], row: int, column: str, chat: bool) -> list[dict[str, str]] | str:
    if not turns:
        raise DatasetError(f"Row {row}: column {column!r} has no answer left after the prompt; "
                           "check that chosen and rejected differ.")
    if turns[0]["role"] != "assistant" or any(turn["role"] == "system" for turn in turns):
        raise DatasetError(f"Row {row}: column {column!r} should hold the assistant's answer, "
                           f"but it starts with a {turns[0]['role']!r} turn.")
    if not turns[0]["content"].strip():
        raise DatasetError(f"Row {row}: column {column!r} is empty; remove the row or fill it in.")
    if chat:
        return turns
    if len(turns) > 1:
        raise DatasetError(f"Row {row}: column {column!r} holds several turns, which needs a model with a chat "
                           "template; use an instruct model.")
    return turns[0]["content"]


def _preference_row(row: dict, i: int, mapping: dict, implicit: bool, system: str | None, chat: bool) -> dict:
    chosen_col, rejected_col = mapping["chosen"], mapping["rejected"]
    chosen, rejected = row.get(chosen_col), row.get(rejected_col)
    if not implicit:
        return {"prompt": _user_prompt(row.get(mapping["prompt"]), i, mapping["prompt"], system, chat),
                "chosen": _answer(chosen, i, chosen_col, chat),
                "rejected": _answer(rejected, i, rejected_col, chat)}
    if isinstance(chosen, list) and isinstance(rejected, list):
        a, b = _messages_row(chosen, i, chosen_col, system), _messages_row(rejected, i, rejected_col, system)
        shared = 0
        while shared < min(len(a), len(b)) and a[shared] == b[shared]:
            shared += 1
        prompt = a[:shared]
        if not any(turn["role"] == "user" for turn in prompt):
            raise DatasetError(f"Row {i}: there is no {mapping['prompt']!r} column and {chosen_col!r} and "
                               f"{rejected_col!r} do not start with the same user turn, so the prompt cannot be "
                               f"found; add a {mapping['prompt']!r} column.")
        return {"prompt": prompt if chat else _flatten_prompt(prompt, i, chosen_col),
                "chosen": _answer_turns(a[shared:], i, chosen_col, chat),
                "rejected": _answer_turns(b[shared:], i, rejected_col, chat)}
    if isinstance(chosen, str) and isinstance(rejected, str):
        prompt, chosen, rejected = _split_shared_text(_text(chosen, i, chosen_col), _text(rejected, i, rejected_col))
        if not prompt.strip():
            raise DatasetError(f"Row {i}: there is no {mapping['prompt']!r} column and {chosen_col!r} and "
                               f"{rejected_col!r} share no beginning to use as the prompt; add a "
                               f"{mapping['prompt']!r} column.")
        return {"prompt": _user_prompt(prompt, i, chosen_col, system, chat),
                "chosen": _answer(chosen, i, chosen_col, chat),
                "rejected": _answer(rejected, i, rejected_col, chat)}
    raise DatasetError(f"Row {i}: without a {mapping['prompt']!r} column, {chosen_col!r} and {rejected_col!r} "
                       "should both be whole conversations (lists of chat turns) or both text, got "
                       f"{type(chosen).__name__} and {type(rejected).__name__}.")


def _split_shared_text(chosen: str, rejected: str) -> tuple[str, str, str]:
    """Split two texts into their shared beginning (up to a word boundary) and the rest of each."""
    cut = 0
    while cut < min(len(chosen), len(rejected)) and chosen[cut] == rejected[cut]:
        cut += 1
    if cut < min(len(chosen), len(rejected)) or len(chosen) != len(rejected):
        # They part mid-way: do not split a word, go back to the last whitespace.
        while cut > 0 and not chosen[cut - 1].isspace():
            cut -= 1
    return chosen[:cut], chosen[cut:], rejected[cut:]


def _prompt_only_value(row: dict, i: int, mapping: dict, alpaca: bool, system: str | None, chat: bool):
    if alpaca:
        prompt = _text(row.get("instruction"), i, "instruction")
        if isinstance(row.get("input"), str) and row["input"].strip():
            prompt = f"{prompt}\n\n{row['input']}"
        return _user_prompt(prompt, i, "instruction", system, chat)
    return _user_prompt(row.get(mapping["prompt"]), i, mapping["prompt"], system, chat)


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
        return {"prompt": _user_prompt(prompt, i, "instruction", system, chat),
                "completion": _answer(_text(row.get("output"), i, "output"), i, "output", chat)}
    # Text or chat turns alike (TRL's conversational prompt/completion).
    return {"prompt": _user_prompt(row.get(mapping["prompt"]), i, mapping["prompt"], system, chat),
            "completion": _answer(row.get(mapping["completion"]), i, mapping["completion"], chat)}


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
