"""Normalising rows to the shapes the trainers take (see ``engine.data``)."""

from __future__ import annotations

from typing import Any

from engine.contract.config import DatasetConfig
from engine.data.errors import DatasetError, PreparedDataset
from engine.data.formats import _detection_mapping, detect_format
from engine.data.sources import load_rows

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
_LABELS = {"true": True, "good": True, "1": True, "false": False, "bad": False, "0": False}
# What the normalised rows hold for training; reward functions get the other columns.
_TRAINED_COLUMNS = {"prompt", "completion", "chosen", "rejected", "label", "messages", "text"}
_SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system"}


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
        if mapping["reasoning"]:
            if mapping["reasoning"] not in columns:
                raise DatasetError(f"dataset.reasoning_column = {mapping['reasoning']!r}, but the dataset has no such "
                                   f"column; its columns are {sorted(columns)}.")
            used.add(mapping["reasoning"])
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
    # A raw column named like a normalised one (a 'prompt' beside prompt_column = 'question') is
    # replaced by it, so it reaches no reward function either.
    extra = sorted(columns - used - _TRAINED_COLUMNS)
    return PreparedDataset(rows=rows, format=fmt, source=source, columns=sorted(columns), extra_columns=extra)


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
    answer = row.get(mapping["completion"])
    reasoning = row.get(mapping["reasoning"]) if mapping["reasoning"] else None
    if isinstance(reasoning, str) and reasoning.strip() and isinstance(answer, str):
        # The shape thinking templates read back (Qwen3's splits it into its reasoning block).
        answer = f"{THINK_OPEN}\n{reasoning.strip()}\n{THINK_CLOSE}\n\n{_text(answer, i, mapping['completion'])}"
    return {"prompt": _user_prompt(row.get(mapping["prompt"]), i, mapping["prompt"], system, chat),
            "completion": _answer(answer, i, mapping["completion"], chat)}


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
