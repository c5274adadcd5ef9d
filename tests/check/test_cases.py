"""Bad manifests are rejected with the right rule id and path; good ones pass; upstream's examples pass."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from generator.check.engine import Item, checker_for
from generator.core.rules import all_rules
from generator.manifests.collect import lint_paths
from generator.report.reporter import format_line
from tests.conftest import UPSTREAM

CASES = Path(__file__).parent / "cases"
RELEASE = "v26.4.1"
BAD = sorted((CASES / "bad").glob("*.yaml"))
GOOD = sorted((CASES / "good").glob("*.yaml"))
_EXPECT = re.compile(r"^# expect: (\S+) (\S+)$", re.M)
_NICS = re.compile(r"^# vm-nics: (\d+)$", re.M)
_RELEASE = re.compile(r"^# release: (v\S+)$", re.M)  # a case written for another release than RELEASE

# upstream example CRs that do not lint clean against their release, with the reason
_OPENSHIFT_WHEREABOUTS = ("whereabouts IPAM: OpenShift ships whereabouts with its own Multus; the network operator "
                          "deploys none from v25.10.0 on, and on AKS nothing does (ipam-not-deployed)")
KNOWN_EXCEPTIONS: dict[str, str] = {
    "mellanox.com_v1alpha1_hostdevicenetwork_cr-ocp.yaml": _OPENSHIFT_WHEREABOUTS,
    "mellanox.com_v1alpha1_ipoibnetwork_cr-ocp.yaml": _OPENSHIFT_WHEREABOUTS,
    "mellanox.com_v1alpha1_macvlannetwork_cr-ocp.yaml": _OPENSHIFT_WHEREABOUTS,
}


RULES = all_rules()


def _lint(path: Path):
    text = path.read_text()
    nics = _NICS.search(text)
    release = _RELEASE.search(text)
    return lint_paths([path], checker_for(release.group(1) if release else RELEASE), base=CASES,
                      vm_nics=int(nics.group(1)) if nics else None, build=False)


def test_at_least_40_bad_cases_cover_most_rules():
    assert len(BAD) >= 40
    covered = {_EXPECT.search(p.read_text()).group(1) for p in BAD}  # type: ignore[union-attr]
    # kustomize-build and yaml-too-large: tests/cli/test_lint.py; argocd-project: tests/check/test_project.py;
    # the chart rules need a cluster spec: tests/cli/test_chart_in_the_loop.py; bundle-invariant needs a
    # generated bundle: tests/e2e/test_hostile.py; image-mirror needs a spec's imageRegistry:
    # tests/cli/test_images.py; chart-equivalence compares a helm render with a kustomize build:
    # tests/check/test_equivalence.py, tests/cli/test_chart_command.py; the render policy holds a chart's render
    # to the release's facts: tests/check/test_chart_policy.py, tests/cli/test_hostile_chart.py; the flux rules need a
    # gitops: flux bundle: tests/check/test_flux.py; the pool rules need a spec's pools: tests/check/test_pools.py
    assert set(RULES) - covered <= {"kustomize-build", "yaml-too-large", "argocd-project", "chart-render",
                                    "chart-values", "pool-taints", "bundle-invariant", "image-mirror",
                                    "chart-equivalence", "chart-privilege", "chart-namespace", "chart-rbac",
                                    "chart-image-source", "flux-health", "flux-chain", "flux-steps",
                                    "nicnodepolicy-no-pool", "pool-without-policy", "pool-resource"}


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_manifest_is_rejected_with_rule_and_path(path: Path):
    rule, json_path = _EXPECT.search(path.read_text()).groups()  # type: ignore[union-attr]
    result = _lint(path)
    hits = [f for f in result.findings if f.rule == rule and (json_path == "-" or f.dotted_path == json_path)]
    assert hits, "\n".join(map(format_line, result.findings)) or "no findings"
    assert all(f.line >= 1 for f in hits)
    if RULES[rule].severity == "error":
        assert result.errors


@pytest.mark.parametrize("path", GOOD, ids=[p.stem for p in GOOD])
def test_good_manifest_passes(path: Path):
    result = _lint(path)
    assert not result.findings, "\n".join(map(format_line, result.findings))


def test_upstream_examples_lint_without_errors():
    examples = UPSTREAM / "network-operator" / RELEASE / "examples"
    result = lint_paths([examples], checker_for(RELEASE), base=examples, build=False)
    errors = [f for f in result.findings if f.severity == "error" and Path(f.file).name not in KNOWN_EXCEPTIONS]
    assert result.objects >= 17
    assert not errors, "\n".join(map(format_line, errors))
    excepted = {Path(f.file).name for f in result.findings if f.severity == "error"}
    assert excepted == set(KNOWN_EXCEPTIONS)  # each exception still needed
    assert {f.rule for f in result.findings if f.severity == "error"} == {"ipam-not-deployed"}


def _run(objects, strict=False, vm_nics=None):
    items = [Item(obj, "pod.yaml") for obj in objects]
    everything = list(range(len(items)))
    return checker_for(RELEASE).run(items, [(everything, everything)], strict=strict, vm_nics=vm_nics)


def test_objects_in_memory_go_through_the_same_checker():
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "c", "image": "x", "resources": {"limits": {"rdma/ib": 9}}}]}}
    findings = _run([pod], vm_nics=8)
    rules = {f.rule for f in findings}
    assert {"rdma-resource-over-nics", "rdma-ipc-lock"} <= rules
    assert all(f.file == "pod.yaml" and f.line == 0 for f in findings)
    assert "rdma-resource-over-nics" not in {f.rule for f in _run([pod], vm_nics=9)}


def test_strict_turns_unknown_kinds_into_errors():
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert _run([widget])[0].severity == "warning"
    assert _run([widget], strict=True)[0].severity == "error"
    assert checker_for(RELEASE) is checker_for(RELEASE)  # compiled schemas are reused
