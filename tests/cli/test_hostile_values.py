"""Hostile `networkOperator.values` end to end: refused with the spec (exit 2, file, line, field), before anything
is written: output/ stays byte-equal and no secret reaches it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import snapshot, write_spec
from tests.helpers import run_gen

KEY = "-----BEGIN RSA PRIVATE KEY-----"


def _with_values(repo: Path, values: str) -> None:
    spec = repo / "clusters" / "prod.yaml"
    spec.write_text(spec.read_text().replace("  version: v25.4.0\n", "  version: v25.4.0\n  values:\n" + values))


@pytest.mark.parametrize(("values", "field"), [
    ("    node-feature-discovery:\n      namespaceOverride: kube-system\n",
     "networkOperator.values.node-feature-discovery.namespaceOverride"),
    ("    node-feature-discovery:\n      worker:\n        securityContext: {privileged: true}\n",
     "networkOperator.values.node-feature-discovery.worker.securityContext.privileged"),
    ("    operator:\n      repository: quay.io/someone\n", "networkOperator.values.operator.repository"),
    ("    nfd:\n      enabled: 'false'\n", "networkOperator.values.nfd.enabled"),
    ("    upgradeCRDs: true\n", "networkOperator.values.upgradeCRDs"),
    (f"    operator:\n      admissionController:\n        enabled: true\n        useCertManager: false\n"
     f"        certificate:\n          tlsKey: |\n            {KEY}\n            MIIEowIBAAKCAQEA\n"
     f"            -----END RSA PRIVATE KEY-----\n",
     "networkOperator.values.operator.admissionController.certificate.tlsKey"),
])
def test_refused_before_anything_is_written(gitops_repo: Path, values: str, field: str) -> None:
    write_spec(gitops_repo)
    assert run_gen("bundle", "--cluster", "prod", repo=gitops_repo).code == 0
    before = snapshot(gitops_repo / "output")
    _with_values(gitops_repo, values)
    proc = run_gen("bundle", "--cluster", "prod", repo=gitops_repo)
    assert proc.code == 2, proc.err
    [error] = [line for line in proc.err.splitlines() if line.startswith("gen: error: ")]
    assert error.startswith("gen: error: clusters/prod.yaml:") and f"field '{field}': " in error
    assert "MIIEowIBAAKCAQEA" not in proc.err + proc.out
    assert snapshot(gitops_repo / "output") == before
    assert run_gen("check", "--cluster", "prod", repo=gitops_repo).code == 2


def test_an_alias_amplified_spec_is_refused_before_writing(gitops_repo: Path) -> None:
    """A 100 KB string aliased 2,000 times: 200 MB once expanded (the loader's node budget would let it through:
    2,001 nodes). Refused while the spec is read, output/ byte-equal."""
    write_spec(gitops_repo)
    assert run_gen("bundle", "--cluster", "prod", repo=gitops_repo).code == 0
    before = snapshot(gitops_repo / "output")
    big = "x" * 100_000
    aliases = "".join(f"        k{i}: *big\n" for i in range(2000))
    _with_values(gitops_repo, f"    operator:\n      nodeSelector:\n        k: &big {big}\n{aliases}")
    size = (gitops_repo / "clusters" / "prod.yaml").stat().st_size
    assert 100_000 < size < 160_000
    proc = run_gen("bundle", "--cluster", "prod", repo=gitops_repo)
    assert proc.code == 2, proc.err
    assert "document larger than 262,144 characters once its aliases are expanded" in proc.err
    assert "gen: error: clusters/prod.yaml:" in proc.err
    assert snapshot(gitops_repo / "output") == before
