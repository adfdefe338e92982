"""``rft eval``: the base model against the tuned one on held-out prompts, through the real engine process."""

from __future__ import annotations

import json

import pytest

from engine.contract.launch import start_run
from tests.conftest import tiny_config, wait_final
from tests.engine.test_cli import _rft


@pytest.fixture(scope="module")
def finished(tiny_model_dir, tmp_path_factory):
    runs = tmp_path_factory.mktemp("compare-runs")
    config = tiny_config(tiny_model_dir, runs, training={"max_steps": 3, "sample_every": 0, "save_steps": 3},
                         eval={"size": 20, "prompts": 4, "max_new_tokens": 8})
    config = config.model_validate({**config.model_dump(), "rewards": [
        {"name": "length", "params": {"target_chars": 10, "tolerance": 40}}, {"name": "correctness"}]})
    run, _ = start_run(config)
    assert wait_final(run, timeout=300).state == "done", run.log_path.read_text()[-3000:]
    return run


def test_rft_eval_prints_base_against_tuned_and_writes_it_into_the_run(finished):
    done = _rft("eval", str(finished.path), "-n", "6")
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads((finished.path / "eval" / "final.json").read_text())
    assert result["prompts"] == 6 and result["data"] == "6 prompts held out of builtin:arithmetic-sft"
    assert [r["name"] for r in result["rewards"]] == ["length", "correctness", "total"]
    for row in result["rewards"]:
        assert row["better"] + row["equal"] + row["worse"] == pytest.approx(1.0)
        assert 0.0 <= row["base"] <= 1.0 + (row["name"] == "total")
    for name in ("reward", "base", "tuned", "better", "same", "worse", "length", "correctness", "total"):
        assert name in done.stdout
    assert f"written to {finished.path / 'eval' / 'final.json'}" in done.stdout
    assert len(result["examples"]) == 3 and all(e["base"] is not None for e in result["examples"])
    # Every pair is kept with its scores, and the summary is made of exactly those scores.
    assert len(result["answers"]) == 6
    for row in result["rewards"]:
        base = [a["base"]["scores"][row["name"]] for a in result["answers"]]
        tuned = [a["tuned"]["scores"][row["name"]] for a in result["answers"]]
        assert row["base"] == pytest.approx(sum(base) / 6) and row["tuned"] == pytest.approx(sum(tuned) / 6)
        assert row["better"] == pytest.approx(sum(t > b for b, t in zip(base, tuned)) / 6)
    assert result["answers"][0]["tuned"]["text"] == result["examples"][0]["tuned"]


def test_rft_eval_of_a_checkpoint_on_another_dataset(finished, tmp_path):
    mine = tmp_path / "mine.jsonl"
    mine.write_text("".join(json.dumps({"prompt": f"What is {a} plus 2?", "completion": str(a + 2),
                                        "answer": str(a + 2)}) + "\n" for a in range(5)))
    done = _rft("eval", str(finished.path), "--checkpoint", "3", "--dataset", str(mine))
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads((finished.path / "eval" / "checkpoint-3.json").read_text())
    assert (result["prompts"], result["data"], result["source"]) == (5, str(mine), "checkpoint-3")


@pytest.mark.parametrize("args, status, words", [
    # No such adapter is refused before a model loads (2); the others are found by the engine process (1).
    (["--checkpoint", "99"], 2, r"has no adapter at 'checkpoint-99'. Exportable: final, checkpoint-3"),
    (["--checkpoint", "best"], 1, r"best evaluation was step 0 \(the base model: no step of training beat it\), "
     r"eval_reward .*no checkpoint of it was kept; set eval.keep_best"),
    (["--dataset", "builtin:nope"], 1, r"No built-in dataset 'nope'"),
])
def test_rft_eval_refuses_in_words(finished, args, status, words):
    import re

    done = _rft("eval", str(finished.path), *args)
    assert done.returncode == status and re.search(words, done.stdout), done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_the_exported_model_card_quotes_the_comparison(finished):
    if not (finished.path / "eval" / "final.json").is_file():
        assert _rft("eval", str(finished.path), "-n", "6").returncode == 0
    done = _rft("export", str(finished.path), "--format", "adapter", "--force")
    assert done.returncode == 0, done.stdout + done.stderr
    card = (finished.path / "exports" / "adapter" / "README.md").read_text()
    result = json.loads((finished.path / "eval" / "final.json").read_text())
    assert "## Evaluation" in card and f"Best held-out evaluation: {finished.status().best['metric']}" in card
    assert f"Base model against this adapter on {result['prompts']} prompts" in card
    correctness = next(r for r in result["rewards"] if r["name"] == "correctness")
    assert f"| correctness | {correctness['base']:.3f} | {correctness['tuned']:.3f} |" in card
