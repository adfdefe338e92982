"""What a configured reward function needs from a run's dataset, found without running it.

A built-in reward says which columns it reads (``RewardInfo.columns``). A
function of yours is read with ``ast``, never imported (its file's code runs
only in its sandbox, once the run starts): every parameter it declares without
a default, besides ``prompts`` and ``completions``, is a dataset column it must
receive as a keyword. A file that is missing, does not parse, or lacks the
function or ``**kwargs`` is a problem found here too. A function the file binds
in another way (a decorator, an assignment) is not read; the worker's check
call catches what it gets wrong.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from engine.rewards.catalog import BUILTIN_REWARDS
from engine.rewards.user_files import RewardError, reward_path

_GIVEN = {"prompts", "completions"}


@dataclass(frozen=True)
class RewardNeeds:
    """The dataset columns a reward reads, or why it cannot run at all."""

    columns: tuple[str, ...] = ()
    problem: str | None = None
    own: bool = False  # a function of yours, rather than a built-in


def reward_needs(name: str, params: dict[str, Any]) -> RewardNeeds:
    """What the reward ``name`` (built-in, or ``FILE.py:FUNCTION``) with ``params`` needs."""
    if ":" not in name:
        info = BUILTIN_REWARDS.get(name)
        return RewardNeeds(tuple(info.columns(**params))) if info else RewardNeeds()
    function = name.rpartition(":")[2]
    path = reward_path(name)
    if not path.is_file():
        return RewardNeeds(problem=str(RewardError(name, f"was not found: no file {path}")), own=True)
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except SyntaxError as error:
        return RewardNeeds(problem=str(RewardError(name, f"has a syntax error at line {error.lineno}: {error.msg}")),
                           own=True)
    except (OSError, UnicodeDecodeError) as error:
        return RewardNeeds(problem=str(RewardError(name, f"cannot be read: {error}")), own=True)
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function]
    if not defs:
        bound = any(function in _bound_names(n) for n in tree.body)
        return RewardNeeds(own=True) if bound else \
            RewardNeeds(problem=str(RewardError(name, f"is not defined in {path.name}")), own=True)
    node = defs[-1]  # a later definition replaces an earlier one
    if node.decorator_list:
        return RewardNeeds(own=True)
    args = node.args
    if args.kwarg is None:
        return RewardNeeds(problem=str(RewardError(name, "must be defined as def f(prompts, completions, **kwargs) "
                                                   "(it receives the dataset's columns as keyword arguments)")),
                           own=True)
    positional = args.posonlyargs + args.args
    required = positional[: len(positional) - len(args.defaults)]
    columns = [a.arg for a in required if a.arg not in _GIVEN]
    columns += [a.arg for a, default in zip(args.kwonlyargs, args.kw_defaults) if default is None]
    return RewardNeeds(tuple(columns), own=True)


def _bound_names(node: ast.stmt) -> set[str]:
    """Top-level names a statement other than a plain ``def`` binds."""
    if isinstance(node, ast.Assign):
        return {t.id for t in node.targets if isinstance(t, ast.Name)}
    if isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(node.target, ast.Name):
        return {node.target.id}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    if isinstance(node, (ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    return set()
