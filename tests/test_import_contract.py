"""The engine's rooms and who may import whom: the contract in pyproject.toml holds, and has teeth.

``lint-imports`` (import-linter) checks the contracts declared under ``[tool.importlinter]``:
rooms import only the rooms below them, the UI never reaches training, generation, weight
loading or the ML stack, and the contract stays pure Python. Imports inside functions count,
so a room the UI may import cannot reach torch even lazily. A second check finds import
circles among the project's modules. Each check is also run on a copy of the tree with one
bad import added, to show it fails when it should.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on the tree at ``root`` (its pyproject.toml and packages), without a cache."""
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)})


def import_cycles(packages: tuple[str, ...] = ("engine", "rft_tui")) -> list[list[str]]:
    """Every set of modules that import each other in a circle (imports inside functions included)."""
    import grimp

    graph = grimp.build_graph(*packages, cache_dir=None)
    modules = set(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m) & modules) for m in sorted(modules)}
    # Tarjan's strongly connected components, iteratively: a component of two or more is a circle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(edges[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        circles.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(edges[child])))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return circles


def _tree_copy(tmp_path: Path) -> Path:
    """The project's packages and pyproject.toml, copied so a test may break them."""
    for name in ("engine", "rft_tui"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _add_lazy_import(path: Path, statement: str) -> None:
    """Append a function that imports ``statement`` when called, as the code base's lazy imports do."""
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"\n\ndef _added_for_the_test():\n    {statement}\n")


def test_the_import_contract_holds():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_ui_module_importing_the_worker_breaks_the_contract(tmp_path):
    tree = _tree_copy(tmp_path)
    _add_lazy_import(tree / "rft_tui" / "screens" / "dashboard.py", "from engine.training import worker")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "The UI reaches no torch room" in result.stdout and "BROKEN" in result.stdout
    assert "rft_tui.screens.dashboard -> engine.training.worker" in result.stdout


def test_the_contract_importing_torch_breaks_the_contract(tmp_path):
    tree = _tree_copy(tmp_path)
    _add_lazy_import(tree / "engine" / "contract" / "runs.py", "import torch")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "The contract is pure Python" in result.stdout
    assert "engine.contract.runs -> torch" in result.stdout


def test_no_module_imports_itself_through_others():
    assert import_cycles() == []


def test_an_added_circle_is_found(tmp_path):
    tree = _tree_copy(tmp_path)
    # config imports atomic_files; atomic_files importing config back closes a circle.
    _add_lazy_import(tree / "engine" / "contract" / "atomic_files.py", "from engine.contract import config")
    code = ("import sys; sys.path.insert(0, sys.argv[1]); sys.path.insert(1, sys.argv[2]); "
            "from tests.test_import_contract import import_cycles; print(import_cycles())")
    result = subprocess.run([sys.executable, "-c", code, str(tree), str(ROOT)], capture_output=True, text=True,
                            timeout=120, cwd=tree)
    assert result.returncode == 0, result.stderr
    assert "'engine.contract.atomic_files', 'engine.contract.config'" in result.stdout
