"""Reward functions of your own: Python files in your rewards folder.

A reward is named ``FILE.py:FUNCTION``; the file is looked up in the rewards
folder (``$RFT_REWARDS_DIR``, else ``./rewards``), and only there, so a preset
cannot make rft run code from anywhere else. The function has TRL's signature:
``fn(prompts, completions, **columns) -> list[float | None]``, one score per
completion (None: no opinion), where ``columns`` are the dataset's other
columns (e.g. ``answer``).

Nothing here runs user code by itself: ``engine.rewards.sandbox`` does, in a
process of its own.
"""

from __future__ import annotations

import importlib.util
import inspect
import math
import os
import sys
from pathlib import Path
from typing import Any, Callable

from engine.contract.errors import ExplainedError

# What a quick validation call passes: two prompts (so a wrong-length result shows), one answered
# in the trained format and one not.
EXAMPLE = {
    "prompts": ["What is 2 + 2?", "What is 3 + 5?"],
    "completions": ["<think>2 + 2 = 4</think><answer>4</answer>", "It is 9."],
    "answer": ["4", "8"],
}


class RewardError(ExplainedError, RuntimeError):
    """A reward function that failed: which one, on what, and why (with the traceback)."""

    def __init__(self, function: str, problem: str, completion: str | None = None, traceback: str | None = None):
        self.function, self.problem, self.completion, self.traceback = function, problem, completion, traceback
        shown = f" on the completion {completion[:200]!r}" if completion is not None else ""
        super().__init__(f"reward function {function!r} {problem}{shown}")


def rewards_dir() -> Path:
    return Path(os.environ.get("RFT_REWARDS_DIR", "rewards"))


def reward_path(ref: str) -> Path:
    """The file a ``FILE.py:FUNCTION`` reference points at, inside the rewards folder or not."""
    return (rewards_dir() / ref.rpartition(":")[0]).resolve()


def is_outside(ref: str) -> bool:
    """True when the reference points at a file outside the rewards folder (it must not run unasked)."""
    return rewards_dir().resolve() not in reward_path(ref).parents


def adopt(ref: str) -> str:
    """Copy an outside reward file into the rewards folder (never over a different file); the new reference."""
    source, function = reward_path(ref), ref.rpartition(":")[2]
    target = rewards_dir() / source.name
    code = source.read_text(encoding="utf-8")
    if target.exists() and target.read_text(encoding="utf-8") != code:
        raise RewardError(ref, f"cannot be copied: a different {source.name} is already in {rewards_dir()}; "
                          "rename one of them")
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        from engine.contract.atomic_files import atomic_write_text

        atomic_write_text(target, code)
    return f"{source.name}:{function}"


def functions_in(file: str) -> list[str]:
    """``FILE.py:NAME`` for each public top-level function of a reward file (read, not run)."""
    import ast

    path = (rewards_dir() / file).resolve()
    if not path.is_file():
        raise RewardError(file, f"was not found: no file {path}")
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return [f"{file}:{node.name}" for node in tree.body
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")]


def resolve_reward(ref: str) -> tuple[Path, str]:
    """``FILE.py:FUNCTION`` → (the file inside the rewards folder, the function name)."""
    file, _, function = ref.rpartition(":")
    folder = rewards_dir().resolve()
    path = (folder / file).resolve()
    if folder not in path.parents:
        raise RewardError(ref, f"is outside your rewards folder {folder}; copy the file there to use it")
    if not path.is_file():
        raise RewardError(ref, f"was not found: no file {path}")
    return path, function


def check_syntax(path: Path, function: str) -> None:
    """A ``RewardError`` naming the line when the file is not valid Python (compiled, not run)."""
    try:
        compile(path.read_text(encoding="utf-8"), str(path), "exec")
    except SyntaxError as error:
        raise RewardError(f"{path.name}:{function}", f"has a syntax error at line {error.lineno}: {error.msg}") \
            from None


def load_function(path: Path, function: str) -> Callable[..., Any]:
    """Import ``path`` as a module and return its ``function`` (runs the file's top level)."""
    check_syntax(path, function)
    name = f"rft_user_reward_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    fn = getattr(module, function, None)
    if not callable(fn):
        raise RewardError(f"{path.name}:{function}", f"is not defined in {path.name}")
    check_signature(f"{path.name}:{function}", fn)
    return fn


def check_signature(name: str, fn: Callable[..., Any]) -> None:
    """The function must take prompts, completions and the dataset's columns as keywords."""
    parameters = inspect.signature(fn).parameters
    takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    missing = [p for p in ("prompts", "completions") if p not in parameters and not takes_kwargs]
    if missing or not takes_kwargs:
        raise RewardError(name, "must be defined as def f(prompts, completions, **kwargs) (it receives the "
                          "dataset's columns as keyword arguments)")


def check_scores(name: str, values: Any, completions: list[Any]) -> list[float | None]:
    """One float or None per completion; raises ``RewardError`` saying which completion is wrong."""
    if not isinstance(values, (list, tuple)):
        raise RewardError(name, f"returned {type(values).__name__}, not a list of scores")
    if len(values) != len(completions):
        raise RewardError(name, f"returned {len(values)} scores for {len(completions)} completions")
    scores: list[float | None] = []
    for value, completion in zip(values, completions):
        if value is None:
            scores.append(None)
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RewardError(name, f"returned {value!r}, not a number", _text(completion))
        if math.isnan(value) or math.isinf(value):
            raise RewardError(name, f"returned {value}", _text(completion))
        scores.append(float(value))
    return scores


def _text(completion: Any) -> str:
    from engine.rewards.builtin import completion_text

    return completion_text(completion)
