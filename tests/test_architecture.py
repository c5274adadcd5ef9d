"""The structure docs/development.md describes, held by tests: the stages import only the stages below them (the
layers contract in pyproject.toml, checked by import-linter), no two packages import each other, and one module
starts other programs."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import grimp

from tests.conftest import REPO

PACKAGE = REPO / "generator"


def test_the_stages_import_only_the_stages_below_them() -> None:
    proc = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--no-cache"], cwd=REPO,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Contracts: 1 kept, 0 broken." in proc.stdout


def _package_of(module: str) -> str:
    """The package (directory) a module is in; a package's own ``__init__`` is the package."""
    return module if (REPO / module.replace(".", "/")).is_dir() else module.rpartition(".")[0]


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one package (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
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
                    found.append(sorted(component))
    return found


def test_no_two_packages_import_each_other() -> None:
    graph = grimp.build_graph("generator")
    edges: dict[str, set[str]] = defaultdict(set)
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if _package_of(module) != _package_of(imported):
                edges[_package_of(module)].add(_package_of(imported))
    assert _cycles(edges) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


_STARTS_PROGRAMS = {("subprocess", name) for name in ("run", "call", "check_call", "check_output", "Popen")} | {
    ("os", name) for name in ("system", "popen", "execv", "execve", "execvp", "execvpe", "spawnv", "spawnvp",
                              "posix_spawn", "posix_spawnp")}


def test_one_module_starts_other_programs() -> None:
    gateway = PACKAGE / "programs" / "run.py"
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    isinstance(node.func.value, ast.Name) and (node.func.value.id, node.func.attr) in _STARTS_PROGRAMS:
                found.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert found and all(place.startswith(str(gateway.relative_to(REPO))) for place in found), found


def test_no_function_is_too_complex() -> None:
    """Cyclomatic complexity (radon) of every function and method of gen, its maintainers' tools and the bench."""
    from radon.complexity import cc_visit

    limit = 25
    found = []
    for folder in ("generator", "maint", "bench"):
        for path in sorted((REPO / folder).rglob("*.py")):
            if any(part.startswith(".venv") for part in path.parts):  # bench/.venv-floor: check-jsonschema's venv
                continue
            for block in cc_visit(path.read_text(encoding="utf-8")):
                if block.complexity > limit:
                    found.append(f"{path.relative_to(REPO)}:{block.lineno} {block.name} ({block.complexity})")
    assert found == [], f"above {limit}: {found}"
