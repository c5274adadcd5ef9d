"""Bad manifests are rejected with the right rule id and path; good ones pass; upstream's examples pass."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from generator.lint.engine import get_linter, lint_objects
from generator.lint.rules import RULES
from generator.lint.run import lint_paths
from tests.conftest import UPSTREAM

CASES = Path(__file__).parent / "cases"
RELEASE = "v26.4.1"
BAD = sorted((CASES / "bad").glob("*.yaml"))
GOOD = sorted((CASES / "good").glob("*.yaml"))
_EXPECT = re.compile(r"^# expect: (\S+) (\S+)$", re.M)
_NICS = re.compile(r"^# vm-nics: (\d+)$", re.M)

# upstream example CRs that do not lint clean against their release, with the reason (none for v26.4.1)
KNOWN_EXCEPTIONS: dict[str, str] = {}


def _lint(path: Path):
    text = path.read_text()
    nics = _NICS.search(text)
    return lint_paths([path], RELEASE, base=CASES, vm_nics=int(nics.group(1)) if nics else None, build=False)


def test_at_least_40_bad_cases_cover_most_rules():
    assert len(BAD) >= 40
    covered = {_EXPECT.search(p.read_text()).group(1) for p in BAD}  # type: ignore[union-attr]
    assert set(RULES) - covered <= {"kustomize-build", "yaml-too-large"}  # tested in test_inputs.py


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_manifest_is_rejected_with_rule_and_path(path: Path):
    rule, json_path = _EXPECT.search(path.read_text()).groups()  # type: ignore[union-attr]
    result = _lint(path)
    hits = [f for f in result.findings if f.rule == rule and (json_path == "-" or f.path == json_path)]
    assert hits, "\n".join(f.render() for f in result.findings) or "no findings"
    assert all(f.line >= 1 for f in hits)
    if RULES[rule].severity == "error":
        assert result.errors


@pytest.mark.parametrize("path", GOOD, ids=[p.stem for p in GOOD])
def test_good_manifest_passes(path: Path):
    result = _lint(path)
    assert not result.findings, "\n".join(f.render() for f in result.findings)


def test_upstream_examples_lint_without_errors():
    examples = UPSTREAM / "network-operator" / RELEASE / "examples"
    result = lint_paths([examples], RELEASE, base=examples, build=False)
    errors = [f for f in result.findings if f.severity == "error" and Path(f.file).name not in KNOWN_EXCEPTIONS]
    assert result.objects >= 17
    assert not errors, "\n".join(f.render() for f in errors)


def test_lint_objects_is_the_same_engine():
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "c", "image": "x", "resources": {"limits": {"rdma/ib": 9}}}]}}
    findings = lint_objects([(pod, "pod.yaml")], RELEASE, vm_nics=8)
    rules = {f.rule for f in findings}
    assert {"rdma-resource-over-nics", "rdma-ipc-lock"} <= rules
    assert all(f.file == "pod.yaml" and f.line == 0 for f in findings)
    with pytest.raises(ValueError):
        lint_objects([], RELEASE, disable=["nope"])
    assert not lint_objects([(pod, "pod.yaml")], RELEASE, disable=["rdma-ipc-lock"], vm_nics=9)


def test_strict_turns_unknown_kinds_into_errors():
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert lint_objects([(widget, "w.yaml")], RELEASE)[0].severity == "warning"
    assert lint_objects([(widget, "w.yaml")], RELEASE, strict=True)[0].severity == "error"
    assert get_linter(RELEASE) is get_linter(RELEASE)  # compiled schemas are reused
