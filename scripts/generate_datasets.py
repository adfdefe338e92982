"""Generate rft's built-in datasets into assets/datasets/ (deterministic).

Arithmetic word problems in the style of GSM8K's first examples (Natalia's
clips → 72, Weng's babysitting → 10, James's letters → 624). Each row has the
question, a short reasoning trace and the final number, written as
``<think>…</think><answer>…</answer>``, plus the bare ``answer`` so reward
functions can check correctness.

From the same problems, one set per kind of training data:

- ``arithmetic-sft``: prompt and formatted completion (SFT);
- ``arithmetic-preference``: prompt, chosen (the formatted, correct completion)
  and rejected (alternately the same format with a wrong final number, and an
  answer without the tags) for DPO, ORPO and reward models;
- ``arithmetic-kto``: prompt, completion and label, one good or bad completion
  per problem, half of each (KTO);
- ``arithmetic-prompts``: prompt and reference answer (GRPO, PPO);
- ``arithmetic-one-step``: prompt and reference answer for one-step problems
  (add, take away, multiply small numbers). A 135 M model gets some of these
  right and some wrong, which is what GRPO needs to raise correctness within
  minutes; it gets almost none of the multi-step ones right, and few sums of
  two-digit numbers;
- ``arithmetic-one-step-sft``: the same one-step problems with their one step
  worked, as ``<think>5 * 3 = 15.</think><answer>15</answer>`` (SFT): small
  enough for the built-in model to get more of them right after a short run.

    python scripts/generate_datasets.py          # rewrite the files
    python scripts/generate_datasets.py --check  # exit 1 if they are stale
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Callable

OUT_DIR = Path(__file__).resolve().parent.parent / "assets" / "datasets"
SEED = 1121
ROWS = 400

NAMES = ["Ava", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Iris", "Jonas", "Kemi", "Liam",
         "Maya", "Noah", "Olga", "Pablo", "Quinn", "Rosa", "Sami", "Tara"]

Problem = tuple[str, str, int]


def seed_examples() -> list[Problem]:
    """The three seed problems, exactly."""
    return [
        ("Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
         "How many clips did Natalia sell altogether in April and May?",
         "In May she sold 48 / 2 = 24 clips. Altogether 48 + 24 = 72.", 72),
        ("Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting. "
         "How much did she earn?",
         "She earns 12 / 60 = 0.2 dollars a minute. For 50 minutes: 0.2 * 50 = 10.", 10),
        ("James writes a 3-page letter to 2 different friends twice a week. How many pages does he write a year?",
         "Each time he writes 3 * 2 = 6 pages. Twice a week is 6 * 2 = 12 pages. A year has 52 weeks: 12 * 52 = 624.",
         624),
    ]


def half_more(r: random.Random) -> Problem:
    name, first = r.choice(NAMES), 2 * r.randint(5, 60)
    return (f"{name} sold {first} cupcakes on Saturday and half as many on Sunday. "
            f"How many cupcakes did {name} sell over the weekend?",
            f"On Sunday {first} / 2 = {first // 2}. Altogether {first} + {first // 2} = {first + first // 2}.",
            first + first // 2)


def hourly_minutes(r: random.Random) -> Problem:
    name, rate, minutes = r.choice(NAMES), r.choice([6, 12, 18, 24, 30, 36]), r.choice([10, 20, 30, 40, 50])
    per_minute = rate / 60
    earned = round(per_minute * minutes)
    return (f"{name} earns ${rate} an hour walking dogs. Today {name} walked dogs for {minutes} minutes. "
            f"How many dollars did {name} earn?",
            f"Per minute {rate} / 60 = {per_minute:g}. For {minutes} minutes: {per_minute:g} * {minutes} = {earned}.",
            earned)


def weekly_pages(r: random.Random) -> Problem:
    name, pages, friends, times = r.choice(NAMES), r.randint(2, 6), r.randint(2, 4), r.randint(1, 3)
    each, week = pages * friends, pages * friends * times
    return (f"{name} writes a {pages}-page letter to {friends} friends {times} times a week. "
            f"How many pages does {name} write in 4 weeks?",
            f"Each time {pages} * {friends} = {each} pages. A week: {each} * {times} = {week}. "
            f"In 4 weeks: {week} * 4 = {week * 4}.",
            week * 4)


def shopping(r: random.Random) -> Problem:
    name, price, count, paid = r.choice(NAMES), r.randint(2, 9), r.randint(2, 8), 0
    cost = price * count
    paid = (cost // 10 + 1) * 10
    return (f"{name} buys {count} notebooks at ${price} each and pays with ${paid}. How much change does {name} get?",
            f"The notebooks cost {count} * {price} = {cost}. Change: {paid} - {cost} = {paid - cost}.",
            paid - cost)


def savings(r: random.Random) -> Problem:
    name, start, weekly, weeks = r.choice(NAMES), r.randint(5, 50), r.randint(3, 15), r.randint(2, 10)
    total = start + weekly * weeks
    return (f"{name} has ${start} and saves ${weekly} every week. How much money will {name} have after {weeks} weeks?",
            f"Saved: {weekly} * {weeks} = {weekly * weeks}. Total: {start} + {weekly * weeks} = {total}.",
            total)


def sharing(r: random.Random) -> Problem:
    name, people, each, left = r.choice(NAMES), r.randint(2, 8), r.randint(2, 9), r.randint(0, 5)
    total = people * each + left
    return (f"{name} shares {total} marbles equally among {people} friends and keeps the {left} left over. "
            f"How many marbles does each friend get?",
            f"Shared: {total} - {left} = {people * each}. Each friend: {people * each} / {people} = {each}.",
            each)


def rows_of_seats(r: random.Random) -> Problem:
    rows, seats, empty = r.randint(3, 20), r.randint(5, 15), r.randint(1, 20)
    total = rows * seats
    empty = min(empty, total - 1)
    return (f"A hall has {rows} rows of {seats} seats. {empty} seats are empty. How many seats are taken?",
            f"Seats: {rows} * {seats} = {total}. Taken: {total} - {empty} = {total - empty}.",
            total - empty)


def twice_as_many(r: random.Random) -> Problem:
    a, b = r.sample(NAMES, 2)
    count = r.randint(3, 40)
    return (f"{a} has {count} stickers. {b} has twice as many stickers as {a}. How many stickers do they have together?",
            f"{b} has {count} * 2 = {count * 2}. Together {count} + {count * 2} = {count * 3}.",
            count * 3)


def distance(r: random.Random) -> Problem:
    name, speed, hours = r.choice(NAMES), r.randint(3, 60), r.randint(2, 6)
    return (f"{name} cycles at {speed} km per hour for {hours} hours. How many kilometres does {name} cycle?",
            f"Distance: {speed} * {hours} = {speed * hours}.",
            speed * hours)


def baking(r: random.Random) -> Problem:
    name, batches, per, eaten = r.choice(NAMES), r.randint(2, 6), r.randint(6, 24), r.randint(1, 10)
    made = batches * per
    return (f"{name} bakes {batches} trays of {per} cookies and the family eats {eaten}. How many cookies are left?",
            f"Baked: {batches} * {per} = {made}. Left: {made} - {eaten} = {made - eaten}.",
            made - eaten)


TEMPLATES: list[Callable[[random.Random], Problem]] = [
    half_more, hourly_minutes, weekly_pages, shopping, savings, sharing, rows_of_seats, twice_as_many, distance, baking,
]


def arithmetic_problems(n: int = ROWS, seed: int = SEED) -> list[Problem]:
    """The seeds, then ``n - 3`` generated problems without repeated questions."""
    r = random.Random(seed)
    problems, seen = seed_examples(), set()
    seen.update(q for q, _, _ in problems)
    while len(problems) < n:
        question, reasoning, answer = r.choice(TEMPLATES)(r)
        if question not in seen:
            seen.add(question)
            problems.append((question, reasoning, answer))
    return problems


def formatted(reasoning: str, answer: int) -> str:
    return f"<think>{reasoning}</think><answer>{answer}</answer>"


def arithmetic_sft_rows() -> list[dict]:
    return [
        {"prompt": q, "completion": formatted(reasoning, a), "answer": str(a)}
        for q, reasoning, a in arithmetic_problems()
    ]


def wrong_formatted(reasoning: str, answer: int, r: random.Random) -> str:
    """The format, with the last step (and so the answer) off by a small nonzero amount."""
    ending = f"= {answer}."
    if not reasoning.endswith(ending):
        raise ValueError(f"reasoning does not end with the answer: {reasoning!r}")
    wrong = answer + r.choice([-3, -2, -1, 1, 2, 3])
    if wrong < 0:
        wrong = answer + r.randint(1, 3)
    return formatted(reasoning[: -len(ending)] + f"= {wrong}.", wrong)


def unformatted(reasoning: str, answer: int, r: random.Random) -> str:
    """A right number without the <think>/<answer> tags."""
    return r.choice([f"The answer is {answer}.", str(answer), f"{reasoning} The answer is {answer}."])


def bad_completion(index: int, reasoning: str, answer: int, r: random.Random) -> str:
    """Alternately a wrong number in the right format and a right number without the format."""
    return wrong_formatted(reasoning, answer, r) if index % 2 == 0 else unformatted(reasoning, answer, r)


def arithmetic_preference_rows() -> list[dict]:
    r = random.Random(SEED + 1)
    return [
        {"prompt": q, "chosen": formatted(reasoning, a), "rejected": bad_completion(i, reasoning, a, r),
         "answer": str(a)}
        for i, (q, reasoning, a) in enumerate(arithmetic_problems())
    ]


def arithmetic_kto_rows() -> list[dict]:
    r = random.Random(SEED + 2)
    problems = arithmetic_problems()
    labels = [i % 2 == 0 for i in range(len(problems))]
    r.shuffle(labels)
    rows, bad = [], 0
    for (q, reasoning, a), good in zip(problems, labels):
        if good:
            completion = formatted(reasoning, a)
        else:
            completion, bad = bad_completion(bad, reasoning, a, r), bad + 1
        rows.append({"prompt": q, "completion": completion, "label": good, "answer": str(a)})
    return rows


def arithmetic_prompt_rows() -> list[dict]:
    return [{"prompt": q, "answer": str(a)} for q, _, a in arithmetic_problems()]


THINGS = ["apples", "marbles", "stickers", "books", "pencils", "shells", "cards", "coins"]


def one_step_problem(r: random.Random) -> Problem:
    """A question needing one addition, subtraction or multiplication of small numbers, with its one step."""
    name, things, kind = r.choice(NAMES), r.choice(THINGS), r.choice(["add", "take", "times"])
    if kind == "add":
        a, b = r.randint(2, 12), r.randint(2, 9)
        return (f"{name} has {a} {things} and gets {b} more. How many {things} does {name} have now?",
                f"{a} + {b} = {a + b}.", a + b)
    if kind == "take":
        a = r.randint(5, 15)
        b = r.randint(1, min(9, a - 1))
        return (f"{name} has {a} {things} and gives away {b}. How many {things} does {name} have left?",
                f"{a} - {b} = {a - b}.", a - b)
    a, b = r.randint(2, 5), r.randint(2, 5)
    return (f"{name} has {a} bags with {b} {things} in each bag. How many {things} does {name} have?",
            f"{a} * {b} = {a * b}.", a * b)


def one_step_problems(n: int = ROWS) -> list[Problem]:
    r, problems, seen = random.Random(SEED + 3), [], set()
    while len(problems) < n:
        problem = one_step_problem(r)
        if problem[0] not in seen:
            seen.add(problem[0])
            problems.append(problem)
    return problems


def arithmetic_one_step_rows() -> list[dict]:
    return [{"prompt": q, "answer": str(a)} for q, _, a in one_step_problems()]


def arithmetic_one_step_sft_rows() -> list[dict]:
    return [
        {"prompt": q, "completion": formatted(reasoning, a), "answer": str(a)}
        for q, reasoning, a in one_step_problems()
    ]


DATASETS: dict[str, Callable[[], list[dict]]] = {
    "arithmetic-sft": arithmetic_sft_rows,
    "arithmetic-preference": arithmetic_preference_rows,
    "arithmetic-kto": arithmetic_kto_rows,
    "arithmetic-prompts": arithmetic_prompt_rows,
    "arithmetic-one-step": arithmetic_one_step_rows,
    "arithmetic-one-step-sft": arithmetic_one_step_sft_rows,
}


def render(rows: list[dict]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a shipped file differs from the generator")
    args = parser.parse_args(argv)
    stale = []
    for name, make in DATASETS.items():
        path, text = OUT_DIR / f"{name}.jsonl", render(make())
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path} ({text.count(chr(10))} rows)")
    if stale:
        print(f"stale: {', '.join(stale)}; run python scripts/generate_datasets.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
