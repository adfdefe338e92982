"""The user's part of a traceback: their frames and what those called, never rft's own frames."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from engine.contract.user_traceback import is_rft_file, is_user_file, user_report, user_traceback

ROOT = Path(__file__).resolve().parents[2]

# What the dry run and the worker record when a reward fails: the reward process's traceback, then the
# engine's own, made here by the real sandbox in a process of its own.
RECORD = textwrap.dedent('''
    import traceback
    from pathlib import Path
    from engine.rewards.sandbox import SandboxedReward, validate
    from engine.rewards.user_files import RewardError

    fn = SandboxedReward(Path("{path}"), "{function}")
    try:
        validate(fn, "mine.py:{function}")
    except RewardError as error:
        print((error.traceback or "") + traceback.format_exc())
    finally:
        fn.close()
''')


def _recorded(tmp_path: Path, function: str) -> str:
    path = tmp_path / "mine.py"
    path.write_text(textwrap.dedent('''
        import json

        def parses(prompts, completions, **kwargs):
            return [_score(c) for c in completions]

        def _score(completion):
            return json.loads("{" + completion)

        def nan(prompts, completions, **kwargs):
            return [float("nan")] * len(completions)
    '''))
    done = subprocess.run([sys.executable, "-c", RECORD.format(path=path, function=function)], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert "Traceback (most recent call last)" in done.stdout, done.stdout + done.stderr
    return done.stdout


def test_the_users_frames_and_the_library_calls_they_made_stay_and_rfts_go(tmp_path):
    recorded = _recorded(tmp_path, "parses")
    assert 'engine/rewards/sandbox.py", line' in recorded  # rft's frames are in the record, for the log
    shown = user_traceback(recorded)
    lines = shown.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert f'File "{tmp_path / "mine.py"}", line 5, in parses' in shown
    assert f'File "{tmp_path / "mine.py"}", line 8, in _score' in shown and 'json.loads("{" + completion)' in shown
    assert 'json/decoder.py", line' in shown  # what the user's code called, down to where it raised
    assert lines[-1].startswith("json.decoder.JSONDecodeError: ")
    assert "engine/" not in shown and "RewardError" not in shown and "<string>" not in shown


def test_a_traceback_of_rfts_code_only_leaves_nothing_and_the_report_says_where_it_is(tmp_path):
    recorded = _recorded(tmp_path, "nan")  # check_scores (rft's) refuses it: no frame of the user's raised
    assert "engine/rewards/user_files.py" in recorded and user_traceback(recorded) == ""
    assert user_report("it broke", recorded) == "it broke"
    assert user_report("it broke", recorded, "/logs/dry-run.log") == \
        "it broke\nThis looks like a bug in rft; the full traceback is in /logs/dry-run.log"
    assert user_traceback(None) == "" and user_traceback("RuntimeError: no frames at all") == ""


def test_whose_files_are_whose(tmp_path):
    import json

    import engine.generation.dry_run
    import rft_tui.cli

    assert is_rft_file(engine.generation.dry_run.__file__) and is_rft_file(rft_tui.cli.__file__)
    assert is_rft_file("engine/training/worker.py") and not is_rft_file(str(tmp_path / "engine.py"))
    assert is_user_file(str(tmp_path / "rewards" / "mine.py"))
    assert not is_user_file(json.__file__) and not is_user_file("<frozen importlib._bootstrap>")
    assert not is_user_file(engine.generation.dry_run.__file__)
