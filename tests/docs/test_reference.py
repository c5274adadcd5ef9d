"""docs/reference.md lists every cluster spec field and every lint rule; its tables are generated from
schemas/cluster.schema.json and the rule registry (`gen lint --list-rules`) by maint/docs_reference.py. These tests
fail when the page is out of date with either."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from types import ModuleType

import pytest

from tests.conftest import REPO
from tests.helpers import run_gen

SCRIPT = REPO / "maint" / "docs_reference.py"
REFERENCE = REPO / "docs" / "reference.md"


@pytest.fixture(scope="module")
def docs_reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_reference", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reference_is_up_to_date_with_the_schema_and_the_rules(docs_reference: ModuleType) -> None:
    page = REFERENCE.read_text()
    assert docs_reference.render(page, docs_reference.generated()) == page, (
        "docs/reference.md is out of date with schemas/cluster.schema.json or the lint rules: "
        "run .venv/bin/python maint/docs_reference.py")


def test_reference_lists_every_spec_field(docs_reference: ModuleType) -> None:
    schema = json.loads((REPO / "schemas" / "cluster.schema.json").read_text())
    page = REFERENCE.read_text()
    paths = [path for path, _, _ in docs_reference.spec_fields(schema)]
    assert {"name", "mode", "vmSize", "argocd.repoURL", "ipoib.perNodeBlockSize", "tolerations[].effect",
            "verify.bandwidthFloorGbps", "imageDigests.<key>"} <= set(paths)
    for path in paths:
        assert f"| `{path}` |" in page, path


def test_reference_lists_every_lint_rule() -> None:
    listed = run_gen("lint", "--list-rules", check=True).out.splitlines()
    assert len(listed) > 40
    page = REFERENCE.read_text()
    for line in listed:
        rule, severity = line.split()[:2]
        assert f"| `{rule}` | {severity} |" in page, rule


def test_a_stale_reference_is_caught(docs_reference: ModuleType) -> None:
    """The check compares the generated tables, not just the presence of names: a changed description fails."""
    page = REFERENCE.read_text()
    blocks = docs_reference.generated()
    stale = page.replace("Pods per node that can share the NICs", "Pods per node", 1)
    assert stale != page
    assert docs_reference.render(stale, blocks) == page
    with pytest.raises(docs_reference.Stale):
        docs_reference.render(page.replace("<!-- END GENERATED: lint-rules -->", ""), blocks)


def test_the_script_checks_without_writing() -> None:
    before = REFERENCE.read_bytes()
    proc = subprocess.run([sys.executable, str(SCRIPT), "--check"], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "docs/reference.md: up to date\n"
    assert REFERENCE.read_bytes() == before
