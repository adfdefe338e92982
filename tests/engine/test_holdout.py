"""Held-out rows: by prompt, the same for the same seed, and never a split that leaves nothing to train on."""

from __future__ import annotations

import random

import pytest

from engine.contract.config import DatasetConfig
from engine.data import DatasetError, builtin_datasets, prepare
from engine.data.formats import FORMAT_COLUMNS
from engine.data.holdout import held_out_count, prompt_key, split_held_out

ALL_FORMATS = tuple(FORMAT_COLUMNS)


@pytest.mark.parametrize("name", sorted(builtin_datasets()))
def test_no_held_out_prompt_is_trained_on_in_any_built_in_dataset(name):
    rows = prepare(DatasetConfig(source=f"builtin:{name}"), ALL_FORMATS).rows
    train, held = split_held_out(rows, "auto", seed=42)
    assert held and len(train) + len(held) == len(rows)
    assert {prompt_key(r) for r in train}.isdisjoint({prompt_key(r) for r in held})


def test_rows_that_share_a_prompt_stay_on_one_side():
    rows = [{"prompt": f"q{i // 2}", "completion": f"a{i}", "label": i % 2 == 0} for i in range(200)]
    train, held = split_held_out(rows, 0.2, seed=1)
    held_prompts = {r["prompt"] for r in held}
    assert len(held_prompts) == 20 and len(held) == 40
    assert not any(r["prompt"] in held_prompts for r in train)


def test_the_same_seed_holds_out_the_same_prompts_whatever_the_row_order():
    rows = [{"prompt": f"what is {i} + 1?", "completion": str(i + 1)} for i in range(120)]
    shuffled = rows[:]
    random.Random(7).shuffle(shuffled)
    first = {r["prompt"] for r in split_held_out(rows, 0.1, seed=3)[1]}
    assert first == {r["prompt"] for r in split_held_out(shuffled, 0.1, seed=3)[1]}
    assert first != {r["prompt"] for r in split_held_out(rows, 0.1, seed=4)[1]}
    train, _ = split_held_out(rows, 0.1, seed=3)
    assert [r["prompt"] for r in train] == [r["prompt"] for r in rows if r["prompt"] not in first]  # order kept


@pytest.mark.parametrize("prompts, size, count", [
    (49, "auto", 0),  # too few to spare any
    (50, "auto", 5),
    (400, "auto", 40),
    (5000, "auto", 200),  # capped: evaluating costs time every eval
    (30, 0.1, 3),
    (3, 0.1, 1),  # a share never rounds down to nothing
    (30, 0, 0),
    (30, 7, 7),
])
def test_how_many_prompts_a_size_holds_out(prompts, size, count):
    assert held_out_count(prompts, size) == count


def test_a_size_that_leaves_nothing_to_train_on_is_refused_in_words():
    rows = [{"prompt": f"q{i}", "completion": "a"} for i in range(10)]
    with pytest.raises(DatasetError, match=r"eval\.size = 10 holds out 10 of the dataset's 10 distinct prompts.*"
                                           r"leaves none to train on"):
        split_held_out(rows, 10, seed=0)
    with pytest.raises(DatasetError, match="eval.size = 0.99"):
        split_held_out(rows, 0.99, seed=0)


def test_conversations_are_held_out_by_what_they_ask():
    ask = [{"role": "user", "content": "hi"}]
    rows = [{"messages": ask + [{"role": "assistant", "content": answer}]} for answer in ("a", "b")]
    assert prompt_key(rows[0]) == prompt_key(rows[1]) != prompt_key({"messages": [{"role": "user", "content": "yo"}]})
