"""The API server's verdict, case by case: each file of ``apiserver_cases/`` is one object and the verdict the
Kubernetes API server gives it (apiextensions-apiserver for custom resources, the registry for built-ins), which
``gen lint``'s API-server rules (group ``schema``) must give too. The next disagreement found is one file here.

Header lines of a case:

- ``# apiserver: accepted`` (no finding of those rules), ``# apiserver: warning RULE PATH`` (accepted, and gen says
  what the server changes), ``# apiserver: refused RULE PATH`` (an error); PATH is the finding's dotted path;
- ``# says: TEXT``: the finding's message contains TEXT;
- ``# release: vX.Y.Z``: the network-operator release (default below);
- ``# old: FILE``: checked as an update of the object in FILE (beside it);
- ``# annotation-bytes: N``: an annotation is added so that the annotations' keys and values total N bytes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from generator.check.engine import checker_for
from generator.core.rules import all_rules
from generator.manifests.collect import Collected, lint_paths
from generator.report.reporter import format_line
from generator.yamlio.load import load_documents

CASES = Path(__file__).parent / "apiserver_cases"
RELEASE = "v26.4.1"
FILES = sorted(p for p in CASES.glob("*.yaml") if not p.name.endswith(".old.yaml"))
API_RULES = {rule.id for rule in all_rules().values() if rule.group == "schema"}
_HEADER = re.compile(r"^# (apiserver|says|release|old|annotation-bytes): (.+)$", re.M)
_BLOB_KEY = "example.com/blob"


def _header(text: str) -> dict[str, str]:
    return {key: value.strip() for key, value in _HEADER.findall(text)}


def _with_annotation(text: str, total: int) -> str:
    """The case with one annotation making keys and values total ``total`` bytes."""
    value = "x" * (total - len(_BLOB_KEY))
    return text.replace("metadata:\n", f"metadata:\n  annotations:\n    {_BLOB_KEY}: {value}\n", 1)


def test_cases_cover_both_directions_and_every_class():
    verdicts = [_header(p.read_text())["apiserver"].split()[0] for p in FILES]
    assert len(FILES) >= 40
    assert {"accepted", "warning", "refused"} <= set(verdicts)
    said = " ".join(p.name for p in FILES)
    for topic in ("null", "spec-null", "label", "namespace", "status", "finalizer", "no-name", "annotations",
                  "managed-fields", "int64"):
        assert topic in said, topic


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_gen_gives_the_api_servers_verdict(path: Path, tmp_path: Path):
    text = path.read_text()
    header = _header(text)
    if "annotation-bytes" in header:
        text = _with_annotation(text, int(header["annotation-bytes"]))
    case = tmp_path / path.name
    case.write_text(text)
    against = None
    if "old" in header:
        [old] = [d.value for d in load_documents((CASES / header["old"]).read_bytes(), header["old"])]

        def against(collected: Collected) -> list[str]:
            for item in collected.items:
                item.old = old
            return []

    result = lint_paths([case], checker_for(header.get("release", RELEASE)), base=tmp_path, build=False,
                        against=against)
    found = [f for f in result.findings if f.rule in API_RULES]
    shown = "\n".join(map(format_line, found)) or "no finding"
    verdict, *where = header["apiserver"].split()
    got = "refused" if any(f.severity == "error" for f in found) else "warning" if found else "accepted"
    assert got == verdict, shown
    if where:
        rule, dotted_path = where
        hits = [f for f in found if f.rule == rule and f.dotted_path == dotted_path
                and f.severity == ("error" if verdict == "refused" else "warning")]
        assert hits, shown
        assert all(f.line >= 1 for f in hits)
        if "says" in header:
            assert any(header["says"] in f.message for f in hits), shown
