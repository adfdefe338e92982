"""The built-in rewards: TRL's signature, partial credit, tolerance, and the registry."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from engine.rewards import (
    BUILTIN_REWARDS,
    RewardInfo,
    completion_text,
    correctness_reward,
    extract_answer,
    format_reward,
    make_correctness_reward,
    make_length_reward,
    make_reward,
)

DATASET = Path(__file__).resolve().parents[2] / "assets" / "datasets" / "arithmetic-sft.jsonl"
FULL = "<think>48 / 2 = 24, and 48 + 24 = 72.</think><answer>72</answer>"


def _chat(text: str) -> list[dict]:
    return [{"role": "assistant", "content": text}]


def _one_format(text) -> float:
    return format_reward(["q"], [text])[0]


def _one_correct(text, reference="72") -> float | None:
    return correctness_reward(["q"], [text], answer=[reference])[0]


# ---------------------------------------------------------------- helpers


def test_completion_text_reads_strings_and_the_last_message_of_a_chat():
    assert completion_text("plain") == "plain"
    chat = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "the reply"}]
    assert completion_text(chat) == "the reply"
    parts = [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    assert completion_text([{"role": "assistant", "content": parts}]) == "ab"
    assert completion_text([]) == ""
    with pytest.raises(TypeError):
        completion_text(42)


def test_extract_answer_takes_the_last_answer_block_stripped():
    assert extract_answer("<answer> 1 </answer> then <answer>\n 72 \n</answer>") == "72"
    assert extract_answer("<think>x</think><answer></answer>") == ""
    assert extract_answer("no tags, 72") is None
    assert extract_answer("<answer>72") is None


# ---------------------------------------------------------------- format


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (FULL, 1.0),
        ("  " + FULL + " \n", 1.0),
        ("The answer is 72.", 0.0),
        ("", 0.0),
        ("<think>some reasoning</think>", 0.25),
        ("<answer>42</answer>", 0.5),
        ("<think>r</think><answer>42</answer> and some chatter", 0.75),
        ("<answer>42</answer><think>afterthought</think>", 0.5),
        ("<think>r</think> then <answer>42</answer><answer>43</answer>", 1.0),
        ("<think>   </think><answer>42</answer>", 0.5),
        ("<think>r</think><answer> </answer>", 0.25),
        ("<think>r</think><answer>42", 0.25),
    ],
)
def test_format_reward_gives_documented_partial_credit(text, expected):
    assert _one_format(text) == pytest.approx(expected)
    assert _one_format(_chat(text)) == pytest.approx(expected)


def test_format_reward_is_monotone_as_the_format_is_completed():
    ladder = [
        "72",
        "<answer>72</answer> ok?",
        "<answer>72</answer>",
        "<think>r</think><answer>72</answer> ok?",
        "<think>r</think><answer>72</answer>",
    ]
    scores = format_reward(["q"] * len(ladder), ladder)
    assert scores == sorted(scores)
    assert scores[0] == 0.0 and scores[-1] == 1.0
    assert 0.0 < _one_format("<answer>42</answer>") < 1.0


def test_varied_imperfect_completions_give_a_learning_signal():
    group = [
        "I think it is 72",
        "<think>half of 48 is 24</think> so 72",
        "<answer>72</answer>",
        "<answer>72</answer> because 48 + 24",
        "<think>48 + 24</think><answer>72</answer> done!",
        "<answer>72</answer><think>check</think>",
    ]
    scores = format_reward(["q"] * len(group), group)
    assert len(set(scores)) >= 3, scores
    assert all(0.0 <= s < 1.0 for s in scores)


# ---------------------------------------------------------------- correctness


@pytest.mark.parametrize(
    ("text", "reference", "expected"),
    [
        (FULL, "72", 1.0),
        ("<answer> 72 </answer>", "72", 1.0),
        ("<answer>72.0</answer>", "72", 1.0),
        ("<answer>$1,234</answer>", "1234", 1.0),
        ("<answer>1234</answer>", "$1,234", 1.0),
        ("<answer>72 clips</answer>", "72", 1.0),
        ("<answer>-3</answer>", "-3", 1.0),
        ("<answer>1/2</answer>", "0.5", 1.0),
        ("<answer>73</answer>", "72", 0.0),
        ("<answer>72 or 73</answer>", "72", 0.0),
        ("<answer>72 or 73</answer>", "73", 0.0),
        ("<answer>1,2</answer>", "12", 0.0),
        ("<answer></answer> 72", "72", 0.0),
        ("<answer>7</answer> actually 72", "72", 0.0),
        ("48 + 24 = 72", "72", 0.5),
        ("It is 72.", "72", 0.5),
        ("<answer>72", "72", 0.5),
        ("72 is wrong, it is 70", "72", 0.0),
        ("no numbers here", "72", 0.0),
        ("<answer> Paris </answer>", "paris", 1.0),
        ("<answer>London</answer>", "Paris", 0.0),
        ("Paris", "Paris", 0.0),
    ],
)
def test_correctness_reward_compares_numbers_with_tolerance_and_partial_credit(text, reference, expected):
    assert _one_correct(text, reference) == pytest.approx(expected)
    assert _one_correct(_chat(text), reference) == pytest.approx(expected)


def test_correctness_reward_gives_none_for_rows_without_a_reference():
    completions = [FULL, FULL, FULL, FULL, FULL]
    scores = correctness_reward(["q"] * 5, completions, answer=["72", None, "", float("nan"), 72])
    assert scores == [1.0, None, None, None, 1.0]


def test_correctness_reward_ignores_trainer_keys():
    scores = correctness_reward(
        ["q", "q"], [FULL, "<answer>5</answer>"], answer=["72", "72"],
        completion_ids=[[1, 2], [3]], trainer_state=object(), question=["a", "b"],
    )
    assert scores == [1.0, 0.0]


def test_correctness_reward_names_a_missing_column():
    with pytest.raises(ValueError, match="'answer'"):
        correctness_reward(["q"], [FULL], completion_ids=[[1]], solution=["72"])
    reward = make_correctness_reward("solution")
    assert reward(["q"], [FULL], solution=["72"]) == [1.0]
    with pytest.raises(ValueError, match="'solution'.*answer"):
        reward(["q"], [FULL], answer=["72"])
    with pytest.raises(ValueError, match="2 values for 1 completions"):
        reward(["q"], [FULL], solution=["72", "1"])


# ---------------------------------------------------------------- length


def test_length_reward_is_flat_within_tolerance_then_falls_linearly_to_zero():
    reward = make_length_reward(target_chars=200, tolerance=100)
    lengths = [0, 100, 150, 200, 300, 350, 400, 500, 600, 2000]
    scores = reward(["q"] * len(lengths), ["x" * n for n in lengths])
    assert scores == pytest.approx([0.5, 1.0, 1.0, 1.0, 1.0, 0.75, 0.5, 0.0, 0.0, 0.0])
    assert reward(["q"], [_chat("x" * 450)]) == pytest.approx([0.25])
    exact = make_length_reward(target_chars=5, tolerance=0)
    assert exact(["q", "q"], ["12345", "123456"]) == [1.0, 0.0]
    with pytest.raises(ValueError, match="tolerance"):
        make_length_reward(tolerance=-1)


# ---------------------------------------------------------------- names and registry


def test_reward_functions_carry_metric_names():
    assert format_reward.__name__ == "format"
    assert correctness_reward.__name__ == "correctness"
    assert make_correctness_reward("solution").__name__ == "correctness"
    assert make_length_reward().__name__ == "length"
    assert pickle.loads(pickle.dumps(format_reward)) is format_reward


def test_registry_lists_builtin_rewards_and_builds_them():
    assert set(BUILTIN_REWARDS) == {"format", "correctness", "length", "regex", "valid_json", "keywords"}
    needed = {"regex": {"pattern": "x"}, "keywords": {"keywords": ["x"]}}
    for name, info in BUILTIN_REWARDS.items():
        assert isinstance(info, RewardInfo) and info.name == name and info.summary
        assert make_reward(name, **needed.get(name, {})).__name__ == name
    with pytest.raises(AttributeError):
        BUILTIN_REWARDS["format"].name = "other"  # type: ignore[misc]
    assert make_reward("correctness", column="solution")(["q"], [FULL], solution=["72"]) == [1.0]
    assert make_reward("length", target_chars=3, tolerance=0)(["q"], ["abc"]) == [1.0]


def test_make_reward_rejects_unknown_names_and_parameters():
    with pytest.raises(ValueError, match="'accuracy'.*correctness.*format.*length"):
        make_reward("accuracy")
    with pytest.raises(ValueError, match="'target'"):
        make_reward("length", target=10)
    with pytest.raises(ValueError, match="'column'"):
        make_reward("format", column="answer")


def test_builtin_rewards_import_no_torch():
    code = "import sys, engine.rewards; assert 'torch' not in sys.modules, 'torch imported'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------- the built-in dataset


def test_the_arithmetic_dataset_scores_full_marks_and_its_questions_score_zero():
    rows = [json.loads(line) for line in DATASET.read_text().splitlines()[:50]]
    assert len(rows) == 50
    prompts = [row["prompt"] for row in rows]
    completions = [row["completion"] for row in rows]
    answers = [row["answer"] for row in rows]

    assert format_reward(prompts, completions) == [1.0] * 50
    assert correctness_reward(prompts, completions, answer=answers) == [1.0] * 50
    assert correctness_reward(prompts, [_chat(c) for c in completions], answer=answers) == [1.0] * 50
    assert format_reward(prompts, prompts) == [0.0] * 50
    shifted = answers[1:] + answers[:1]
    assert correctness_reward(prompts, completions, answer=shifted).count(1.0) < 5


# ---------------------------------------------------------------- regex, valid JSON, keywords


def test_regex_reward_matches_with_flags():
    fn = make_reward("regex", pattern=r"^<think>.*</think>", flags="s")
    assert fn.__name__ == "regex"
    assert fn(prompts=["p", "p"], completions=["<think>a\nb</think>x", "no"]) == [1.0, 0.0]
    with pytest.raises(ValueError, match="invalid"):
        make_reward("regex", pattern="(")


def test_valid_json_reward_gives_partial_credit_for_missing_keys():
    fn = make_reward("valid_json", required_keys=["name", "age"])
    completions = ['{"name": "Ava", "age": 9}', '<answer>{"name": "Ava"}</answer>', "{not json", "[1, 2]"]
    assert fn(prompts=["p"] * 4, completions=completions) == [1.0, 0.5, 0.0, 0.5]
    assert make_reward("valid_json")(prompts=["p"], completions=["[1, 2]"]) == [1.0]


def test_keywords_reward_counts_the_share_present():
    fn = make_reward("keywords", keywords=["Clips", "May"])
    assert fn.__name__ == "keywords"
    assert fn(prompts=["p"] * 3, completions=["clips in may", "only clips", "nothing"]) == [1.0, 0.5, 0.0]
    assert make_reward("keywords", keywords=["May"], case_sensitive=True)(prompts=["p"], completions=["may"]) == [0.0]
    with pytest.raises(ValueError, match="non-empty"):
        make_reward("keywords", keywords=[])
