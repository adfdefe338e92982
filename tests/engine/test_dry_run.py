"""The reward dry run, headless: ``rft rewards dry-run`` on the tiny model and on given texts."""

from __future__ import annotations

import json
import subprocess
import sys


def _rft(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "rft_tui.cli", "rewards", "dry-run", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd, env=env)


def test_model_answers_are_scored_and_a_flat_function_is_flagged(tiny_model_dir, tmp_path):
    out = tmp_path / "result.json"
    result = _rft("grpo", "--set", f"model.name={tiny_model_dir}", "-n", "3", "--per-prompt", "4", "--json", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(out.read_text())
    assert (data["prompts"], data["answers"]) == (3, 12)
    assert set(data["summary"]) == {"format", "correctness"}
    # A random tiny model never writes the tags: format scores every answer 0 and is flagged. This holds
    # on any CPU's rounding: the tiny tokenizer spells each tag as three tokens ('<', 'think', '>'), so
    # even the smallest scoring piece, a <think>…</think> block, needs six particular tokens in order,
    # which 12 short answers from random weights do not produce by chance.
    assert data["summary"]["format"]["constant"] and data["summary"]["format"]["mean"] == 0.0
    assert "format gives every answer the same score" in result.stdout
    assert "zero-spread groups:" in result.stdout
    assert 0.0 <= data["zero_spread_share"] <= 1.0
    assert "per function" in result.stdout and "12 answers to 3 prompts (model)" in result.stdout


def test_given_texts_show_spread_and_a_users_reward_runs_in_the_dry_run(tmp_path):
    folder = tmp_path / "rewards"
    folder.mkdir()
    (folder / "mine.py").write_text("def brief(prompts, completions, **kw):\n"
                                    "    return [1.0 if len(c) < 30 else 0.0 for c in completions]\n")
    env = {**__import__("os").environ, "RFT_REWARDS_DIR": str(folder)}
    out = tmp_path / "result.json"
    # Natalia's clips (72) is the first prompt of the multi-step set; the GRPO preset's own set is one-step.
    result = _rft("grpo", "--set", "dataset.source=builtin:arithmetic-prompts", "--source", "text",
                  "--text", "<think>48 / 2 = 24; 48 + 24 = 72</think><answer>72</answer>", "--text", "72", "--rewards", "format", "--rewards", "correctness", "--rewards", "mine.py:brief",
                  "--json", str(out), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(out.read_text())
    first, second = data["rows"]
    assert first["scores"] == {"format": 1.0, "correctness": 1.0, "brief": 0.0}
    assert second["scores"] == {"format": 0.0, "correctness": 0.5, "brief": 1.0}
    assert data["zero_spread_share"] == 0.0


def test_a_broken_reward_is_reported_not_crashed(tmp_path):
    folder = tmp_path / "rewards"
    folder.mkdir()
    (folder / "bad.py").write_text("def f(prompts, completions, **kw):\n    raise KeyError('answer')\n")
    env = {**__import__("os").environ, "RFT_REWARDS_DIR": str(folder)}
    result = _rft("grpo", "--source", "reference", "--rewards", "bad.py:f", env=env)
    assert result.returncode == 1
    assert "dry run failed: reward function 'bad.py:f' raised KeyError" in result.stdout
    assert "Traceback" in result.stdout


def test_a_whole_reward_file_and_bad_names_on_the_command_line(tmp_path):
    folder = tmp_path / "rewards"
    folder.mkdir()
    (folder / "two.py").write_text("def a(prompts, completions, **kw):\n    return [1.0] * len(completions)\n"
                                   "def b(prompts, completions, **kw):\n    return [0.0] * len(completions)\n"
                                   "def _helper():\n    pass\n")
    env = {**__import__("os").environ, "RFT_REWARDS_DIR": str(folder)}
    out = tmp_path / "result.json"
    result = _rft("grpo", "--source", "text", "--text", "x", "--rewards", "two.py", "--json", str(out), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(json.loads(out.read_text())["summary"]) == {"a", "b"}
    bad = _rft("grpo", "--source", "text", "--text", "x", "--rewards", "acuracy", env=env)
    assert bad.returncode == 2 and "rewards.0.name" in bad.stdout and "unknown reward 'acuracy'" in bad.stdout
