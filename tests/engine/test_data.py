"""Datasets: formats detected, bad data refused with where and how to fix."""

from __future__ import annotations

import json
import operator
import re
import subprocess
import sys
from pathlib import Path

import pytest

from engine.config import DatasetConfig
from engine.data import DatasetError, prepare

SFT = ("messages", "prompt_completion", "text")
ROOT = Path(__file__).resolve().parents[2]


def _jsonl(tmp_path, rows, name="data.jsonl") -> str:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_builtin_prompt_completion_becomes_chat_turns():
    prepared = prepare(DatasetConfig(source="builtin:arithmetic-sft", system_prompt="Be exact."), SFT)
    assert prepared.format == "prompt_completion" and len(prepared.rows) == 400
    row = prepared.rows[0]
    assert row["prompt"][0] == {"role": "system", "content": "Be exact."}
    assert row["prompt"][1]["role"] == "user" and "Natalia" in row["prompt"][1]["content"]
    assert row["completion"][0]["content"].endswith("<answer>72</answer>")


def test_without_chat_template_strings_stay_strings():
    prepared = prepare(DatasetConfig(source="builtin:arithmetic-sft", max_rows=2), SFT, chat=False)
    assert isinstance(prepared.rows[0]["prompt"], str) and len(prepared.rows) == 2


def test_messages_ending_with_assistant_are_split_for_completion_only_loss(tmp_path):
    chat = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    prepared = prepare(DatasetConfig(source=_jsonl(tmp_path, [{"messages": chat}])), SFT)
    assert prepared.format == "prompt_completion"
    assert prepared.rows[0] == {"prompt": chat[:1], "completion": chat[1:]}


def test_sharegpt_and_alpaca_are_converted(tmp_path):
    sharegpt = [{"conversations": [{"from": "human", "value": "2+2?"}, {"from": "gpt", "value": "4"}]}]
    prepared = prepare(DatasetConfig(source=_jsonl(tmp_path, sharegpt, "s.jsonl")), SFT)
    assert prepared.rows[0]["completion"] == [{"role": "assistant", "content": "4"}]
    alpaca = [{"instruction": "Add", "input": "2 and 2", "output": "4"}]
    prepared = prepare(DatasetConfig(source=_jsonl(tmp_path, alpaca, "a.jsonl")), SFT)
    assert prepared.rows[0]["prompt"][-1]["content"] == "Add\n\n2 and 2"


def test_text_and_mapped_columns(tmp_path):
    prepared = prepare(DatasetConfig(source=_jsonl(tmp_path, [{"body": "once upon a time"}]), text_column="body"), SFT)
    assert prepared.rows == [{"text": "once upon a time"}]
    rows = [{"question": "q", "response": "r"}]
    prepared = prepare(DatasetConfig(source=_jsonl(tmp_path, rows, "m.jsonl"), prompt_column="question",
                                     completion_column="response"), SFT)
    assert prepared.rows[0]["completion"][0]["content"] == "r"


def test_csv_files_load(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("prompt,completion\nhi,hello\n")
    assert prepare(DatasetConfig(source=str(path)), SFT).rows[0]["completion"][0]["content"] == "hello"


def test_missing_columns_are_named(tmp_path):
    source = _jsonl(tmp_path, [{"prompt": "q", "reply": "r"}])
    with pytest.raises(DatasetError) as info:
        prepare(DatasetConfig(source=source), SFT)
    message = str(info.value)
    assert "missing column 'completion'" in message and "'reply'" in message and "prompt_column" in message


@pytest.mark.parametrize(
    "content, words",
    [
        ('{"prompt": "a", "completion": "b"}\n{"prompt": "a", \n', "line 2: not valid JSON"),
        ('["a list"]\n', "line 1: each line must be a JSON object"),
        ('{"prompt": "a", "completion": ""}\n', "Row 1: column 'completion' is empty"),
        ('{"prompt": "a", "completion": 7}\n', "Row 1: column 'completion' should be text, got int"),
        ("", "has no rows"),
    ],
)
def test_bad_rows_are_refused_with_where(tmp_path, content, words):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(DatasetError, match=re.escape(words)):
        prepare(DatasetConfig(source=str(path)), SFT)


def test_non_utf8_and_missing_files_and_unknown_builtins(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes('{"text": "caf\xe9"}\n'.encode("latin-1"))
    with pytest.raises(DatasetError, match="not UTF-8"):
        prepare(DatasetConfig(source=str(path)), SFT)
    with pytest.raises(DatasetError, match="does not exist"):
        prepare(DatasetConfig(source=str(tmp_path / "nope.jsonl")), SFT)
    with pytest.raises(DatasetError, match="arithmetic-sft"):
        prepare(DatasetConfig(source="builtin:nope"), SFT)


def test_shipped_dataset_matches_its_generator():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "generate_datasets.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_builtin_answers_follow_from_their_reasoning():
    rows = [json.loads(line) for line in (ROOT / "assets/datasets/arithmetic-sft.jsonl").read_text().splitlines()]
    seeds = {"Natalia": "72", "Weng": "10", "James": "624"}
    for name, answer in seeds.items():
        assert any(r["prompt"].startswith(name) and r["answer"] == answer for r in rows)
    for row in rows:
        match = re.fullmatch(r"<think>(.+)</think><answer>(-?\d+)</answer>", row["completion"])
        assert match and match.group(2) == row["answer"]
        # Every step of the reasoning is right, and the last one gives the answer.
        steps = re.findall(r"(\d+(?:\.\d+)?) ([-+*/]) (\d+(?:\.\d+)?) = (\d+(?:\.\d+)?)", match.group(1))
        assert steps, row
        for a, op, b, result in steps:
            exact = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}[op](
                float(a), float(b))
            assert float(result) == pytest.approx(exact), row
        assert float(steps[-1][3]) == float(row["answer"])
