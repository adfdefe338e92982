"""Datasets: formats detected, bad data refused with where and how to fix."""

from __future__ import annotations

import json
import operator
import re
import subprocess
import sys
from pathlib import Path

import pytest

from engine.contract.config import DatasetConfig
from engine.data import FORMAT_COLUMNS, DatasetError, count_truncated, detect_format, prepare, probe_prompts

SFT = ("messages", "prompt_completion", "text")
ROOT = Path(__file__).resolve().parents[2]
USER = {"role": "user", "content": "2+2?"}


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


# --- preference, unpaired (KTO) and prompt-only (GRPO/PPO) formats -----------------------------------------------


def _builtin(name: str) -> list[dict]:
    return [json.loads(line) for line in (ROOT / f"assets/datasets/{name}.jsonl").read_text().splitlines()]


def test_every_format_lists_its_columns():
    assert FORMAT_COLUMNS["preference"] == ("prompt", "chosen", "rejected")
    assert FORMAT_COLUMNS["unpaired"] == ("prompt", "completion", "label")
    assert FORMAT_COLUMNS["prompt_only"] == ("prompt",)


def test_preference_strings_become_turns_or_stay_text(tmp_path):
    source = _jsonl(tmp_path, [{"prompt": "2+2?", "chosen": "4", "rejected": "5", "id": 7}])
    prepared = prepare(DatasetConfig(source=source, system_prompt="Be exact."), ("preference",))
    assert prepared.format == "preference"
    assert prepared.rows == [{"prompt": [{"role": "system", "content": "Be exact."}, USER],
                              "chosen": [{"role": "assistant", "content": "4"}],
                              "rejected": [{"role": "assistant", "content": "5"}]}]
    plain = prepare(DatasetConfig(source=source, system_prompt="Be exact."), ("preference",), chat=False)
    assert plain.rows == [{"prompt": "Be exact.\n\n2+2?", "chosen": "4", "rejected": "5"}]
    kept = prepare(DatasetConfig(source=source), ("preference",), chat=False, keep_extra=True)
    assert kept.rows == [{"prompt": "2+2?", "chosen": "4", "rejected": "5", "id": 7}]


def test_preference_with_chat_turns_and_mapped_columns(tmp_path):
    rows = [{"q": [USER], "good": [{"role": "assistant", "content": "4"}], "bad": [{"from": "gpt", "value": "5"}]}]
    cfg = DatasetConfig(source=_jsonl(tmp_path, rows), prompt_column="q", chosen_column="good", rejected_column="bad")
    prepared = prepare(cfg, ("preference",))
    assert prepared.rows == [{"prompt": [USER], "chosen": [{"role": "assistant", "content": "4"}],
                              "rejected": [{"role": "assistant", "content": "5"}]}]
    assert prepare(cfg, ("preference",), chat=False).rows == [{"prompt": "2+2?", "chosen": "4", "rejected": "5"}]


def test_implicit_prompt_is_the_shared_beginning(tmp_path):
    system = {"role": "system", "content": "Add."}
    first = [system, {"role": "user", "content": "1+1?"}, {"role": "assistant", "content": "2"}, USER]
    rows = [{"chosen": first + [{"role": "assistant", "content": "4"}],
             "rejected": first + [{"role": "assistant", "content": "5"}]}]
    prepared = prepare(DatasetConfig(source=_jsonl(tmp_path, rows)), ("preference",))
    assert prepared.format == "preference"
    assert prepared.rows == [{"prompt": first, "chosen": [{"role": "assistant", "content": "4"}],
                              "rejected": [{"role": "assistant", "content": "5"}]}]
    # One question: the prompt flattens to text for a model without a chat template.
    single = [{"chosen": [USER, {"role": "assistant", "content": "4"}],
               "rejected": [USER, {"role": "assistant", "content": "5"}]}]
    plain = prepare(DatasetConfig(source=_jsonl(tmp_path, single, "s.jsonl"), system_prompt="Be exact."),
                    ("preference",), chat=False)
    assert plain.rows == [{"prompt": "Be exact.\n\n2+2?", "chosen": "4", "rejected": "5"}]
    # Text pairs split at a word boundary.
    text = [{"chosen": "Human: 2+2? Assistant: It is 4.", "rejected": "Human: 2+2? Assistant: It is 5."}]
    prepared = prepare(DatasetConfig(source=_jsonl(tmp_path, text, "t.jsonl")), ("preference",), chat=False)
    assert prepared.rows == [{"prompt": "Human: 2+2? Assistant: It is ", "chosen": "4.", "rejected": "5."}]


@pytest.mark.parametrize(
    "row, words",
    [
        ({"prompt": "q", "chosen": "", "rejected": "b"}, "Row 1: column 'chosen' is empty"),
        ({"prompt": "q", "chosen": "a", "rejected": 3}, "Row 1: column 'rejected' should be text, got int"),
        ({"prompt": None, "chosen": "a", "rejected": "b"}, "Row 1: column 'prompt' is empty"),
        ({"prompt": "q", "chosen": [USER], "rejected": "b"}, "Row 1: column 'chosen' should hold the assistant's"),
        ({"chosen": [USER, {"role": "assistant", "content": "4"}],
          "rejected": [USER, {"role": "assistant", "content": "4"}]},
         "Row 1: column 'chosen' has no answer left"),
        ({"chosen": [{"role": "user", "content": "a"}], "rejected": [{"role": "user", "content": "b"}]},
         "do not start with the same user turn"),
        ({"chosen": "4", "rejected": [USER]}, "should both be whole conversations"),
        ({"chosen": "four", "rejected": "five"}, "share no beginning"),
    ],
)
def test_bad_preference_rows_are_refused_with_where(tmp_path, row, words):
    with pytest.raises(DatasetError, match=re.escape(words)):
        prepare(DatasetConfig(source=_jsonl(tmp_path, [row])), ("preference",))


def test_unpaired_labels_are_parsed(tmp_path):
    labels = [True, False, 1, 0, "true", "FALSE", "good", " Bad "]
    rows = [{"prompt": f"q{i}", "completion": f"a{i}", "label": label} for i, label in enumerate(labels)]
    prepared = prepare(DatasetConfig(source=_jsonl(tmp_path, rows)), ("unpaired",))
    assert prepared.format == "unpaired"
    assert [row["label"] for row in prepared.rows] == [True, False] * 4
    assert all(type(row["label"]) is bool for row in prepared.rows)
    assert prepared.rows[0] == {"prompt": [{"role": "user", "content": "q0"}],
                                "completion": [{"role": "assistant", "content": "a0"}], "label": True}
    plain = prepare(DatasetConfig(source=_jsonl(tmp_path, rows), system_prompt="S"), ("unpaired",), chat=False)
    assert plain.rows[1] == {"prompt": "S\n\nq1", "completion": "a1", "label": False}


@pytest.mark.parametrize("label", [2, "maybe", None, 0.5])
def test_bad_labels_are_refused_naming_row_and_value(tmp_path, label):
    rows = [{"prompt": "q", "completion": "a", "label": True}, {"prompt": "q", "completion": "a", "label": label}]
    with pytest.raises(DatasetError, match=re.escape(f"Row 2: column 'label' is {label!r}")):
        prepare(DatasetConfig(source=_jsonl(tmp_path, rows)), ("unpaired",))


def test_kto_needs_both_labels_and_says_how_many(tmp_path):
    rows = [{"prompt": f"q{i}", "completion": "a", "good": "true"} for i in range(3)]
    with pytest.raises(DatasetError) as info:
        prepare(DatasetConfig(source=_jsonl(tmp_path, rows), label_column="good"), ("unpaired",))
    message = str(info.value)
    assert "KTO needs both desirable (label true) and undesirable (label false)" in message
    assert "3 true and 0 false" in message


def test_prompt_only_keeps_the_other_columns(tmp_path):
    rows = [{"question": "2+2?", "answer": "4", "meta": {"level": 1}}]
    cfg = DatasetConfig(source=_jsonl(tmp_path, rows), prompt_column="question", system_prompt="Be exact.")
    prepared = prepare(cfg, ("prompt_only",))
    assert prepared.format == "prompt_only"
    assert prepared.rows == [{"prompt": [{"role": "system", "content": "Be exact."}, USER], "answer": "4",
                              "meta": {"level": 1}}]
    plain = prepare(cfg, ("prompt_only",), chat=False)
    assert plain.rows == [{"prompt": "Be exact.\n\n2+2?", "answer": "4", "meta": {"level": 1}}]
    chat = prepare(DatasetConfig(source=_jsonl(tmp_path, [{"prompt": [USER], "answer": "4"}], "c.jsonl")),
                   ("prompt_only",))
    assert chat.rows == [{"prompt": [USER], "answer": "4"}]


def test_prompt_completion_keeps_extra_columns_only_when_asked():
    cfg = DatasetConfig(source="builtin:arithmetic-sft", max_rows=1)
    assert set(prepare(cfg, SFT).rows[0]) == {"prompt", "completion"}
    row = prepare(cfg, SFT, keep_extra=True).rows[0]
    assert set(row) == {"prompt", "completion", "answer"} and row["answer"] == "72"


def test_the_error_names_the_method_and_what_it_needs():
    with pytest.raises(DatasetError) as info:
        prepare(DatasetConfig(source="builtin:arithmetic-sft"), ("preference",), method="dpo")
    message = str(info.value)
    assert "DPO needs preference" in message
    assert "missing columns 'chosen', 'rejected'" in message
    assert "['answer', 'completion', 'prompt']" in message
    assert "dataset.chosen_column" in message
    with pytest.raises(DatasetError) as info:
        detect_format({"question", "reply"}, DatasetConfig(), ("unpaired", "preference"), method="kto")
    message = str(info.value)
    assert "KTO needs one of" in message and "'prompt', 'completion', 'label'" in message
    assert "missing columns 'prompt', 'completion', 'label'" in message and "['question', 'reply']" in message
    with pytest.raises(DatasetError, match="'text' does not suit GRPO"):
        detect_format({"text"}, DatasetConfig(format="text"), ("prompt_only",), method="grpo")


def test_builtin_sets_load_in_their_formats():
    expected = {"arithmetic-preference": ("preference", {"prompt", "chosen", "rejected"}),
                "arithmetic-kto": ("unpaired", {"prompt", "completion", "label"}),
                "arithmetic-prompts": ("prompt_only", {"prompt", "answer"}),
                "arithmetic-one-step": ("prompt_only", {"prompt", "answer"}),
                "arithmetic-one-step-sft": ("prompt_completion", {"prompt", "completion"})}  # answer: kept when asked
    for name, (fmt, keys) in expected.items():
        formats = ("prompt_completion",) if fmt == "prompt_completion" else ("preference", "unpaired", "prompt_only")
        prepared = prepare(DatasetConfig(source=f"builtin:{name}"), formats)
        assert prepared.format == fmt and len(prepared.rows) == 400 and set(prepared.rows[0]) == keys, name


def test_one_step_answers_are_the_arithmetic_the_question_asks():
    import re

    rows = _builtin("arithmetic-one-step")
    kinds = set()
    for row in rows:
        a, b = (int(n) for n in re.findall(r"\d+", row["prompt"]))
        kind = "add" if "more" in row["prompt"] else "take" if "gives away" in row["prompt"] else "times"
        kinds.add(kind)
        assert int(row["answer"]) == {"add": a + b, "take": a - b, "times": a * b}[kind], row
    assert kinds == {"add", "take", "times"} and len({r["prompt"] for r in rows}) == len(rows)
    # The SFT set: the same problems, each with its one step worked to the same answer.
    worked = _builtin("arithmetic-one-step-sft")
    assert [(r["prompt"], r["answer"]) for r in worked] == [(r["prompt"], r["answer"]) for r in rows]
    for row in worked:
        step = re.fullmatch(r"<think>(\d+) ([-+*]) (\d+) = (\d+)\.</think><answer>(\d+)</answer>", row["completion"])
        a, op, b, result, answer = step.groups()
        assert int(result) == {"+": int(a) + int(b), "-": int(a) - int(b), "*": int(a) * int(b)}[op]
        assert result == answer == row["answer"], row


def test_builtin_preference_pairs_are_separable():
    sft = {row["prompt"]: row for row in _builtin("arithmetic-sft")}
    rows = _builtin("arithmetic-preference")
    assert len(rows) == 400 and [r["prompt"] for r in rows] == list(sft)
    kinds = set()
    for row in rows:
        assert row["chosen"] == sft[row["prompt"]]["completion"] and row["answer"] == sft[row["prompt"]]["answer"]
        assert re.fullmatch(rf"<think>.+</think><answer>{row['answer']}</answer>", row["chosen"])
        wrong = re.fullmatch(r"<think>(.+)</think><answer>(-?\d+)</answer>", row["rejected"])
        if wrong:  # the right format, with a wrong answer that its reasoning ends in too
            assert wrong.group(2) != row["answer"] and wrong.group(1).endswith(f"= {wrong.group(2)}.")
            assert 0 < abs(int(wrong.group(2)) - int(row["answer"])) <= 3
            kinds.add("wrong")
        else:  # no tags at all
            assert "<answer>" not in row["rejected"] and "<think>" not in row["rejected"]
            kinds.add("untagged")
    assert kinds == {"wrong", "untagged"}


def test_builtin_kto_labels_are_balanced_and_true():
    rows = _builtin("arithmetic-kto")
    sft = {row["prompt"]: row for row in _builtin("arithmetic-sft")}
    assert len(rows) == 400
    good = [row for row in rows if row["label"] is True]
    assert all(row["label"] in (True, False) for row in rows)
    assert 0.4 <= len(good) / len(rows) <= 0.6
    for row in rows:
        right = row["completion"] == sft[row["prompt"]]["completion"]
        assert right == row["label"], row


def test_builtin_prompts_answers_match_the_sft_set():
    sft = {row["prompt"]: row["answer"] for row in _builtin("arithmetic-sft")}
    rows = _builtin("arithmetic-prompts")
    assert len(rows) == 400 and all(set(row) == {"prompt", "answer"} for row in rows)
    assert {row["prompt"]: row["answer"] for row in rows} == sft


class _CountingTokenizer:
    """One token per character; a chat is rendered as 'role:content|' per turn."""

    def __call__(self, text):
        return {"input_ids": list(text)}

    def apply_chat_template(self, turns, tokenize=True, return_dict=True, add_generation_prompt=False):
        rendered = "".join(f"{t['role']}:{t['content']}|" for t in turns)
        rendered += "assistant:" if add_generation_prompt else ""
        return {"input_ids": list(rendered)}


def test_count_truncated_handles_every_shape():
    tok = _CountingTokenizer()
    user = [{"role": "user", "content": "hi"}]  # "user:hi|" = 8 tokens, "assistant:ok|" = 13
    short, long = [{"role": "assistant", "content": "ok"}], [{"role": "assistant", "content": "x" * 20}]
    assert count_truncated([{"prompt": user, "chosen": short, "rejected": short}], tok, 21) == 0
    assert count_truncated([{"prompt": user, "chosen": short, "rejected": long}], tok, 21) == 1
    assert count_truncated([{"prompt": user, "chosen": long, "rejected": short}], tok, 21) == 1
    assert count_truncated([{"prompt": "hi", "chosen": "ok", "rejected": "x" * 20}], tok, 10) == 1
    assert count_truncated([{"prompt": user, "completion": long, "label": False}], tok, 20) == 1
    # Prompt-only rows count their prompt alone (with the generation prompt), not extra columns.
    assert count_truncated([{"prompt": user, "answer": "x" * 50}], tok, 18) == 0
    assert count_truncated([{"prompt": user, "answer": "4"}], tok, 17) == 1
    assert count_truncated([{"prompt": "hi", "completion": "x" * 50}], tok, 5, format="prompt_only") == 0
    assert count_truncated([{"prompt": "hi", "completion": "x" * 50}], tok, 5) == 1


def test_probe_prompts_are_the_first_distinct_ones():
    user2 = {"role": "user", "content": "3+3?"}
    rows = [{"prompt": [USER], "chosen": [], "rejected": []}, {"prompt": [USER], "answer": "4"},
            {"messages": [user2, {"role": "assistant", "content": "6"}]}, {"prompt": "text prompt", "completion": "c"}]
    assert probe_prompts(rows, 2) == [[USER], [user2]]
    assert probe_prompts(rows, 10) == [[USER], [user2], "text prompt"]
    assert probe_prompts([{"text": "one two three four"}], 3) == ["one two"]
    prepared = prepare(DatasetConfig(source="builtin:arithmetic-prompts"), ("prompt_only",), chat=False)
    assert len(probe_prompts(prepared.rows, 3)) == 3 and probe_prompts(prepared.rows, 1)[0].startswith("Natalia")
