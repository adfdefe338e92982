"""Every ``rft`` subcommand given bad input, run as a person runs it: one table of cases.

Each case starts the real command line (``python -m rft_tui.cli``) in its own
process, with the user's reward files, presets and runs in a folder of the
test's, and checks three things: the exit status (2: refused before doing
anything, 1: an operation that ran and failed; ``rft_tui.cli``'s ``EXIT_``
codes), a message that names what is wrong, and not one frame of rft's own
code in anything printed. Dry runs score ``--source text`` answers, so no
model loads.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from rft_tui.cli import EXIT_FAILED, EXIT_USAGE

ROOT = Path(__file__).resolve().parents[2]
RFT_FRAME = re.compile(r'File "[^"]*[/\\](engine|rft_tui)[/\\]')

# Each function fails on every call, so the dry run's check call already finds it.
USER_REWARDS = textwrap.dedent('''
    import time

    def _judge(completion):
        raise ValueError("no idea how to score " + repr(completion)[:20])

    def raises(prompts, completions, **kwargs):
        return [_judge(c) for c in completions]

    def hangs(prompts, completions, **kwargs):
        time.sleep(60)
        return [0.0] * len(completions)

    def not_a_number(prompts, completions, **kwargs):
        return [float("nan")] * len(completions)

    def words(prompts, completions, **kwargs):
        return ["good"] * len(completions)

    def one_score(prompts, completions, **kwargs):
        return [1.0]
''')


@dataclass
class Case:
    command: str
    name: str
    args: list[str]  # "{home}" stands for the case folder
    status: int
    words: str  # a regular expression the output must match ('.' matches newlines too)


def dry_run(*args: str) -> list[str]:
    return ["rewards", "dry-run", "grpo", "--source", "text", "--text", "<answer>4</answer>", *args]


CASES = [
    Case("train", "preset file that does not exist", ["train", "{home}/nope.toml"], EXIT_USAGE,
         r"no preset file '.*nope\.toml'"),
    Case("train", "unknown key", ["train", "sft", "--set", "training.max_stpes=3"], EXIT_USAGE,
         r"training\.max_stpes: unknown key"),
    Case("train", "out-of-range value", ["train", "sft", "--set", "training.learning_rate=-1"], EXIT_USAGE,
         r"training\.learning_rate: Input should be greater than 0"),
    Case("train", "malformed --set", ["train", "sft", "--set", "training.max_steps"], EXIT_USAGE,
         r"'training\.max_steps' is not of the form section\.key=value"),
    Case("train", "TOML syntax error", ["train", "{home}/broken.toml"], EXIT_USAGE, r"broken\.toml: not valid TOML"),
    Case("train", "no preset named", ["train"], EXIT_USAGE, r"the following arguments are required: preset"),
    Case("runs", "--runs-dir that does not exist", ["runs", "--runs-dir", "{home}/no-such-folder"], EXIT_USAGE,
         r"no folder .*no-such-folder"),
    Case("stop", "run that does not exist", ["stop", "ghost"], EXIT_USAGE, r"no run 'ghost'"),
    Case("resume", "run that does not exist", ["resume", "ghost"], EXIT_USAGE, r"no run 'ghost'"),
    Case("resume", "finished run", ["resume", "finished"], EXIT_USAGE, r"finished all its steps"),
    Case("export", "run that does not exist", ["export", "ghost"], EXIT_USAGE, r"no run 'ghost'"),
    Case("export", "run without an adapter", ["export", "failed"], EXIT_USAGE,
         r"failed has no adapter at 'final'\. Exportable: none yet"),
    Case("export", "checkpoint that does not exist", ["export", "finished", "--checkpoint", "7"], EXIT_USAGE,
         r"no adapter at 'checkpoint-7'"),
    Case("app", "run that does not exist", ["app", "ghost"], EXIT_USAGE, r"no run 'ghost'"),
    Case("eval", "run that does not exist", ["eval", "ghost"], EXIT_USAGE, r"no run 'ghost'"),
    Case("eval", "run without an adapter", ["eval", "failed"], EXIT_USAGE,
         r"failed has no adapter at 'final'\. Exportable: none yet"),
    Case("launch-command", "run that does not exist", ["launch-command", "ghost"], EXIT_USAGE, r"no run 'ghost'"),
    Case("models", "unknown key in --set", ["models", "--set", "lora.rank=8"], EXIT_USAGE,
         r"lora\.rank: unknown key"),
    Case("models", "preset that does not exist", ["models", "--preset", "{home}/nope.toml"], EXIT_USAGE,
         r"no preset file '.*nope\.toml'"),
    Case("rewards", "function that raises", dry_run("--rewards", "mine.py:raises"), EXIT_FAILED,
         # the message, then the user's own frames: where in their file, and what it raised
         r"'mine\.py:raises' raised ValueError: no idea how to score.*\n  File \".*mine\.py\", line \d+, in _judge"
         r".*\nValueError: no idea"),
    Case("rewards", "function that hangs",
         dry_run("--rewards", "mine.py:hangs", "--set", "training.reward_timeout_s=1"), EXIT_FAILED,
         r"'mine\.py:hangs' did not return within 1 s"),
    Case("rewards", "NaN scores", dry_run("--rewards", "mine.py:not_a_number"), EXIT_FAILED,
         r"'mine\.py:not_a_number' returned nan"),
    Case("rewards", "strings for scores", dry_run("--rewards", "mine.py:words"), EXIT_FAILED,
         r"'mine\.py:words' returned 'good', not a number"),
    Case("rewards", "wrong number of scores", dry_run("--rewards", "mine.py:one_score"), EXIT_FAILED,
         r"'mine\.py:one_score' returned 1 scores for 2 completions"),
    Case("rewards", "syntax error", dry_run("--rewards", "broken.py:f"), EXIT_USAGE,
         r"'broken\.py:f' has a syntax error at line 2"),
    Case("rewards", "function that is not in the file", dry_run("--rewards", "mine.py:missing"), EXIT_FAILED,
         r"'mine\.py:missing' is not defined in mine\.py"),
    Case("rewards", "file that does not exist", dry_run("--rewards", "nope.py:f"), EXIT_USAGE,
         r"'nope\.py:f' was not found"),
    Case("rewards", "file outside the rewards folder", dry_run("--rewards", "../outside.py:f"), EXIT_USAGE,
         r"outside your rewards folder"),
    Case("rewards", "reward name that does not exist", dry_run("--rewards", "formatt"), EXIT_USAGE,
         r"unknown reward 'formatt'"),
    Case("rewards", "--source text without --text", ["rewards", "dry-run", "grpo", "--source", "text"], EXIT_USAGE,
         r"--source text needs at least one --text"),
    Case("rft", "unknown command", ["trian", "sft"], EXIT_USAGE, r"invalid choice: 'trian'"),
]


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """The user's folder: reward files, two presets, and two runs (one failed early, one finished)."""
    from engine.contract.presets import load_config
    from engine.contract.runs import RunDir, RunStatus, create_run

    home = tmp_path_factory.mktemp("cli-errors")
    (home / "rewards").mkdir()
    (home / "rewards" / "mine.py").write_text(USER_REWARDS)
    (home / "rewards" / "broken.py").write_text("def f(prompts, completions, **kw):\n    return [1.0 for c in\n")
    (home / "outside.py").write_text("def f(prompts, completions, **kw):\n    return [1.0] * len(completions)\n")
    (home / "broken.toml").write_text('[model]\nname = "default"\n[training\nmax_steps = 3\n')
    for name, state in (("failed", "failed"), ("finished", "done")):
        run = create_run(load_config("sft"), home / "runs")
        run.path.rename(home / "runs" / name)
        # As the worker leaves them: a run that failed before saving anything, one that finished its steps.
        RunDir(home / "runs" / name).write_status(RunStatus(state=state, step=2, total=2, finished_at=time.time()))
    return home


def rft(home: Path, args: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RFT_REWARDS_DIR": str(home / "rewards"),
           "RFT_RUNS_DIR": str(home / "runs"), "RFT_CACHE_DIR": str(home / "cache")}
    return subprocess.run([sys.executable, "-m", "rft_tui.cli", *[a.format(home=home) for a in args]],
                          capture_output=True, text=True, timeout=120, env=env, cwd=home, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.command}: {c.name}" for c in CASES])
def test_bad_input_gets_a_message_and_an_exit_status_never_rfts_traceback(case, home):
    result = rft(home, case.args)
    output = result.stdout + result.stderr
    assert not RFT_FRAME.search(output), output
    assert "RewardError" not in output and "ConfigError" not in output, output  # rft's exception classes
    assert result.returncode == case.status, output
    assert re.search(case.words, output, re.S), output


def test_the_table_covers_every_subcommand():
    from rft_tui.cli import _parser

    commands = set(_parser()._subparsers._group_actions[0].choices)
    assert commands <= {c.command for c in CASES}


def test_a_bug_of_rfts_prints_its_message_and_where_the_traceback_is_kept(tmp_path, monkeypatch, capsys):
    """No bug of rft's is known to provoke for real, so one is planted: the runs listing gets a status (not a
    list of runs) from rft's own status reader, put in directly so that no frame of this file sits between."""
    import rft_tui.cli as cli
    from engine.contract.runs import RunStatus

    monkeypatch.setenv("RFT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(cli, "list_runs", RunStatus.from_dict)
    assert cli.main(["runs", "--runs-dir", str(tmp_path)]) == EXIT_FAILED
    out = capsys.readouterr().out
    log = tmp_path / "cache" / "logs" / "cli.log"
    assert "rft runs failed: TypeError: " in out and f"the full traceback is in {log}" in out
    assert not RFT_FRAME.search(out) and "Traceback" not in out
    assert RFT_FRAME.search(log.read_text()) and "in cmd_runs" in log.read_text()
