"""JSON inside an object (a device plugin's config, a network's ipam, a NetworkAttachmentDefinition's config) is read
by every rule that looks into it; nested past the interpreter's recursion limit it is invalid JSON, one finding each,
never a traceback."""

from __future__ import annotations

from pathlib import Path

from generator.core.formats import json_value
from tests.helpers import run_gen

DEEP = "[" * 100_000

POLICY = f"""\
apiVersion: mellanox.com/v1alpha1
kind: NicClusterPolicy
metadata:
  name: nic-cluster-policy
spec:
  rdmaSharedDevicePlugin:
    image: k8s-rdma-shared-dev-plugin
    repository: ghcr.io/mellanox
    version: network-operator-v26.4.1
    config: "{DEEP}"
  sriovDevicePlugin:
    image: sriov-network-device-plugin
    repository: ghcr.io/mellanox
    version: network-operator-v26.4.1
    config: "{DEEP}"
---
apiVersion: mellanox.com/v1alpha1
kind: IPoIBNetwork
metadata:
  name: ipoib
spec:
  networkNamespace: default
  master: ibP257p0s0
  ipam: "{DEEP}"
---
apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata:
  name: nad
  namespace: default
spec:
  config: "{DEEP}"
"""


def test_json_nested_too_deeply_is_a_value_error() -> None:
    for text in (DEEP, "{\"a\":" * 100_000):
        try:
            json_value(text)
        except ValueError as exc:
            assert "nested too deeply" in str(exc)
        else:  # pragma: no cover - the point of the test
            raise AssertionError("no error")
    assert json_value('{"a": [1]}') == {"a": [1]}


def test_gen_lint_reports_deep_json_as_invalid_json(tmp_path: Path) -> None:
    (tmp_path / "deep.yaml").write_text(POLICY)
    proc = run_gen("lint", "--release", "v26.4.1", "deep.yaml", cwd=tmp_path)
    assert proc.code == 1, proc.err
    assert "Traceback" not in proc.err + proc.out
    assert "webhook-config-json: invalid JSON in rdmaSharedDevicePlugin.config: JSON nested too deeply" in proc.out
    assert "ipam-json: spec.ipam is not valid JSON: JSON nested too deeply" in proc.out
