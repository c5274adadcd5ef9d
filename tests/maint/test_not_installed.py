"""maint/ holds maintainer tools that regenerate committed data; gen never needs them (the wheel has only
generator/, see pyproject.toml)."""

from __future__ import annotations

import ast

from tests.conftest import REPO


def test_the_installed_package_neither_imports_maint_nor_runs_as_a_script() -> None:
    for path in sorted((REPO / "generator").rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert not any(a.name.split(".")[0] == "maint" for a in node.names), path
            elif isinstance(node, ast.ImportFrom):
                assert (node.module or "").split(".")[0] != "maint", path
        rel = path.relative_to(REPO).as_posix()
        if rel != "generator/cli/main.py":  # python -m generator.cli.main is gen itself
            assert '__name__ == "__main__"' not in path.read_text("utf-8"), f"{rel}: a generator belongs in maint/"
