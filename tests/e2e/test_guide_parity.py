"""Acceptance: each mode's bundle, built with real kustomize from the Application's path, equals the
guide's own kustomize configs (plus its NFD rule and namespace) except where the release must differ:
image repositories/versions, and what the release needs for IPAM."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from generator.programs.kustomize import kustomize_command
from generator.yamlio.load import load_documents
from tests.conftest import REFERENCE, write_spec
from tests.helpers import run_gen

pytestmark = pytest.mark.slow  # whole-tool runs: not in make test-fast

GUIDE_DIRS = {"base": "base", "sriov": "sriov-device-plugin", "shared": "rdma-shared-device-plugin",
              "ipoib": "ipoib"}
IMAGE = "<image chosen by the release>"


def kustomize(directory: Path) -> list[dict[str, Any]]:
    out = subprocess.run([*kustomize_command(), str(directory)], capture_output=True, check=True, timeout=120)
    return [d.value for d in load_documents(out.stdout, str(directory))]


def guide_objects(mode: str) -> list[dict[str, Any]]:
    objs = kustomize(REFERENCE / "configs" / "nicclusterpolicy" / GUIDE_DIRS[mode])
    objs += [d.value for d in load_documents(
        (REFERENCE / "tests" / "setup-infra" / "network-operator-nfd.yaml").read_bytes(), "nfd")]
    objs.append({"apiVersion": "v1", "kind": "Namespace",
                 "metadata": {"name": "network-operator",
                              "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}})
    return objs


def normalise(value: Any) -> Any:
    """Images -> a placeholder; JSON strings -> data; Argo CD sync annotations dropped."""
    if isinstance(value, dict):
        if {"repository", "image", "version"} <= set(value):
            value = {**value, "repository": IMAGE, "version": IMAGE}
        out = {k: normalise(v) for k, v in value.items()}
        annotations = out.get("metadata", {}).get("annotations") if isinstance(out.get("metadata"), dict) else None
        if annotations is not None:
            kept = {k: v for k, v in annotations.items() if not k.startswith("argocd.argoproj.io/")}
            if kept:
                out["metadata"]["annotations"] = kept
            else:
                del out["metadata"]["annotations"]
        return out
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            return normalise(json.loads(value))
        except json.JSONDecodeError:
            return value
    return value


def diff(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            sub = f"{path}.{key}" if path else key
            if key not in a:
                out.append(f"{sub}: only in the bundle")
            elif key not in b:
                out.append(f"{sub}: only in the guide")
            else:
                out += diff(a[key], b[key], sub)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in diff(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: guide {a!r} != bundle {b!r}"]


def by_identity(objs: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): normalise(o) for o in objs}


# What a release must do differently from the guide's configs (the guide pairs v25.10 images with whereabouts):
ALLOWED = {
    # v25.4.0 deploys whereabouts only when the policy asks for it
    ("NicClusterPolicy", "spec.secondaryNetwork.ipamPlugin: only in the bundle"),
    # the bundle's rule also requires NVIDIA Mellanox and the InfiniBand class (0207): never an Ethernet VF
    ("NodeFeatureRule", "spec.rules[0].matchFeatures[0].matchExpressions.class: only in the bundle"),
    ("NodeFeatureRule", "spec.rules[0].matchFeatures[0].matchExpressions.vendor: only in the bundle"),
}


@pytest.mark.kustomize
@pytest.mark.parametrize("mode", list(GUIDE_DIRS))
def test_bundle_matches_guide(gitops_repo: Path, mode: str) -> None:
    write_spec(gitops_repo, mode=mode)
    run_gen("bundle", "--cluster", "prod", repo=gitops_repo, check=True)
    app = load_documents((gitops_repo / "output/prod/argocd/application.yaml").read_bytes(), "app")[0].value
    git_source = next(s for s in app["spec"]["sources"] if "path" in s)
    assert git_source["path"] == f"output/prod/overlays/{mode}"
    ours = by_identity(kustomize(gitops_repo / git_source["path"]))
    guide = by_identity(guide_objects(mode))
    assert set(ours) == set(guide)
    unexpected = []
    for key in guide:
        for line in diff(guide[key], ours[key]):
            if not any(key[0] == kind and line.startswith(what.split(":")[0]) and
                       (":" not in what or line == what) for kind, what in ALLOWED):
                unexpected.append(f"{key[0]}/{key[1]}: {line}")
    assert not unexpected, "\n".join(unexpected)


@pytest.mark.kustomize
@pytest.mark.parametrize("version", ["v25.1.0", "v25.4.0", "v25.7.0", "v25.10.0", "v26.1.2", "v26.4.1"])
def test_ipoib_bundles_for_every_release(gitops_repo: Path, version: str) -> None:
    write_spec(gitops_repo, mode="ipoib", version=version)
    run_gen("bundle", "--cluster", "prod", repo=gitops_repo, check=True)
    objs = kustomize(gitops_repo / "output/prod/overlays/ipoib")
    kinds = sorted(o["kind"] for o in objs)
    network = next(o for o in objs if o["kind"] == "IPoIBNetwork")
    ipam = json.loads(network["spec"]["ipam"])
    policy = next(o for o in objs if o["kind"] == "NicClusterPolicy")["spec"]
    if version in ("v25.1.0", "v25.4.0", "v25.7.0"):
        assert ipam["type"] == "whereabouts" and "ipamPlugin" in policy["secondaryNetwork"]
        assert kinds == ["IPoIBNetwork", "Namespace", "NicClusterPolicy", "NodeFeatureRule"]
    else:
        assert ipam == {"type": "nv-ipam", "poolName": "aks-infiniband"} and "nvIpam" in policy
        assert kinds == ["IPPool", "IPoIBNetwork", "Namespace", "NicClusterPolicy", "NodeFeatureRule"]
        pool = next(o for o in objs if o["kind"] == "IPPool")
        assert pool["metadata"]["namespace"] == "network-operator"
        assert pool["spec"]["subnet"] == "192.168.0.0/16" and pool["spec"]["gateway"] == "192.168.0.1"


@pytest.mark.kustomize
def test_nv_ipam_chosen_where_both_work(gitops_repo: Path) -> None:
    write_spec(gitops_repo, mode="ipoib", version="v25.7.0", extra="ipoib:\n  ipam: nv-ipam\n")
    run_gen("bundle", "--cluster", "prod", repo=gitops_repo, check=True)
    objs = kustomize(gitops_repo / "output/prod/overlays/ipoib")
    assert any(o["kind"] == "IPPool" for o in objs)
    assert "ipamPlugin" not in next(o for o in objs if o["kind"] == "NicClusterPolicy")["spec"]["secondaryNetwork"]
