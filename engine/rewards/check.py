"""Check a reward file: ``python -m engine.rewards.check FILE.py`` prints one JSON object.

Run as its own process (the file's code runs), by the reward editor on save.
For each function in the file whose signature fits, a call on two examples;
the result says per function whether it works, and where a syntax error is.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import Any

from engine.rewards.user_files import EXAMPLE, RewardError, check_scores, load_function


def check_file(path: Path) -> dict[str, Any]:
    """``{"syntax_error": {...} | None, "functions": [{"name", "ok", "error", "line", "scores"}]}``."""
    source = path.read_text(encoding="utf-8")
    try:
        tree = compile(source, str(path), "exec", flags=0, dont_inherit=True)
    except SyntaxError as error:
        return {"syntax_error": {"line": error.lineno, "message": error.msg}, "functions": []}
    del tree
    import ast

    names = [n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")]
    results = []
    for name in names:
        entry: dict[str, Any] = {"name": name, "ok": False, "error": None, "line": None, "scores": None}
        try:
            fn = load_function(path, name)
            entry["scores"] = check_scores(f"{path.name}:{name}", fn(**EXAMPLE), EXAMPLE["completions"])
            entry["ok"] = True
        except RewardError as error:
            entry["error"] = str(error)
        except Exception as error:  # the user's code raised while being called
            entry["error"] = f"raised {type(error).__name__}: {error}"
            frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == str(path)]
            entry["line"] = frames[-1].lineno if frames else None
        results.append(entry)
    return {"syntax_error": None, "functions": results}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    print(json.dumps(check_file(Path(argv[0]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
