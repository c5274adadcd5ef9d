"""The Lua health checks, run by a real Lua VM set up like Argo CD's: global `obj`, no `string` library."""

from __future__ import annotations

from typing import Any

import lupa
import pytest
import yaml

from generator.render.argocd import HEALTH_CHECKS, HEALTH_FILE, health_patch
from generator.render.cluster_bundle import render_bundle
from generator.render.data import TEMPLATES
from generator.render.gpu import GPU_HEALTH_CHECKS
from tests.conftest import UPSTREAM
from tests.helpers import make_cluster


def run_health(script: str, obj: dict[str, Any]) -> dict[str, str]:
    lua = lupa.LuaRuntime(register_eval=False, register_builtins=False, unpack_returned_tuples=True)
    g = lua.globals()
    g.string = None  # Argo CD does not open the string library unless useOpenLibs is set
    assert lua.eval("string") is None
    g.obj = lua.table_from(obj, recursive=True)
    hs = lua.execute(script)
    return {"status": hs["status"], "message": hs["message"]}


NCP = (TEMPLATES / HEALTH_CHECKS["mellanox.com_NicClusterPolicy"]).read_text()
IPOIB = (TEMPLATES / HEALTH_CHECKS["mellanox.com_IPoIBNetwork"]).read_text()


def ncp(status: dict[str, Any] | None, name: str = "nic-cluster-policy") -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "mellanox.com/v1alpha1", "kind": "NicClusterPolicy",
                           "metadata": {"name": name}, "spec": {}}
    if status is not None:
        obj["status"] = status
    return obj


APPLIED = [
    {"name": "state-OFED", "state": "ready"},
    {"name": "state-SRIOV-device-plugin", "state": "notReady", "message": "waiting for pods"},
    {"name": "state-RDMA-device-plugin", "state": "ignore"},
    {"name": "state-ipoib-cni", "state": "notReady"},
]

NCP_CASES = [
    ("ready", {"state": "ready", "appliedStates": [{"name": "state-OFED", "state": "ready"}]},
     "Healthy", ["all components ready"]),
    ("notReady with pending components", {"state": "notReady", "appliedStates": APPLIED},
     "Progressing", ["state-SRIOV-device-plugin (waiting for pods)", "state-ipoib-cni"]),
    ("error with a failing component",
     {"state": "error", "reason": "failed to sync state-OFED",
      "appliedStates": [{"name": "state-OFED", "state": "error", "message": "image pull failed"},
                        {"name": "state-multus-cni", "state": "ready"}]},
     "Degraded", ["state-OFED (image pull failed)", "failed to sync state-OFED"]),
    ("ignore", {"state": "ignore"}, "Degraded", ["nic-cluster-policy"]),
    ("empty status", {}, "Progressing", ["waiting for the operator"]),
    ("no status", None, "Progressing", ["waiting for the operator"]),
    ("missing state", {"appliedStates": APPLIED}, "Progressing", ["waiting for the operator"]),
    ("appliedStates empty", {"state": "notReady", "appliedStates": []}, "Progressing",
     ["components not ready yet"]),
    ("error without appliedStates", {"state": "error", "reason": "bad spec"}, "Degraded", ["bad spec"]),
    ("unknown state", {"state": "upgrading"}, "Progressing", ["unknown state upgrading"]),
]


@pytest.mark.parametrize(("case", "status", "health", "words"), NCP_CASES, ids=[c[0] for c in NCP_CASES])
def test_nic_cluster_policy_health(case: str, status: dict[str, Any] | None, health: str, words: list[str]) -> None:
    hs = run_health(NCP, ncp(status))
    assert hs["status"] == health, hs
    for word in words:
        assert word in hs["message"], hs


def test_not_ready_lists_only_pending_components() -> None:
    hs = run_health(NCP, ncp({"state": "notReady", "appliedStates": APPLIED}))
    assert "state-OFED" not in hs["message"] and "RDMA-device-plugin" not in hs["message"]


def test_error_names_only_failing_components() -> None:
    status = {"state": "error", "appliedStates": [{"name": "a", "state": "error"}, {"name": "b", "state": "ready"},
                                                  {"name": "c", "state": "error"}]}
    hs = run_health(NCP, ncp(status))
    assert hs["message"] == "error in a, c"


IPOIB_CASES = [
    ({"state": "ready", "ipoibNetworkAttachmentDef": "{}"}, "Healthy"),
    ({"state": "notReady"}, "Progressing"),
    ({"state": "error", "reason": "master interface not found"}, "Degraded"),
    ({}, "Progressing"),
    (None, "Progressing"),
    ({"state": "somethingNew"}, "Progressing"),
]


@pytest.mark.parametrize(("status", "health"), IPOIB_CASES)
def test_ipoib_network_health(status: dict[str, Any] | None, health: str) -> None:
    obj: dict[str, Any] = {"apiVersion": "mellanox.com/v1alpha1", "kind": "IPoIBNetwork",
                           "metadata": {"name": "aks-infiniband"}}
    if status is not None:
        obj["status"] = status
    hs = run_health(IPOIB, obj)
    assert hs["status"] == health
    if status and status.get("reason"):
        assert status["reason"] in hs["message"]


def test_scripts_do_not_use_the_string_library() -> None:
    for name in HEALTH_CHECKS.values():
        text = (TEMPLATES / name).read_text()
        code = "\n".join(line.split("--")[0] for line in text.splitlines())
        assert "string." not in code and ":format" not in code and ":sub" not in code and ":find" not in code


def test_statuses_cover_the_crd_enums() -> None:
    """Every state the pinned CRDs allow has a case above."""
    upstream = UPSTREAM / "network-operator"
    covered = {c[1]["state"] for c in NCP_CASES if c[1] and "state" in c[1]}
    for crd_file in sorted(upstream.glob("*/crds/mellanox.com_nicclusterpolicies.yaml")):
        crd = yaml.safe_load(crd_file.read_text())
        for version in crd["spec"]["versions"]:
            enum = version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]["state"]["enum"]
            assert set(enum) <= covered, crd_file


def test_argocd_cm_patch() -> None:
    spec = make_cluster(extra="  namespace: gitops\n")
    cm = health_patch(spec)
    assert cm["metadata"] == {"name": "argocd-cm", "namespace": "gitops",
                              "labels": {"app.kubernetes.io/name": "argocd-cm", "app.kubernetes.io/part-of": "argocd"}}
    assert set(cm["data"]) == {"resource.customizations.health.mellanox.com_NicClusterPolicy",
                               "resource.customizations.health.mellanox.com_IPoIBNetwork"}
    bundle = render_bundle(spec)
    loaded = yaml.safe_load(bundle.files[HEALTH_FILE])
    assert loaded == cm  # the multi-line scripts survive the YAML round trip byte for byte
    text = bundle.files[HEALTH_FILE].decode()
    assert "resource.customizations.health.mellanox.com_NicClusterPolicy: |" in text


# -- the GPU Operator's ClusterPolicy, and Applications (app of apps) -------------------------------------------------

CLUSTER_POLICY = (TEMPLATES / GPU_HEALTH_CHECKS["nvidia.com_ClusterPolicy"]).read_text()
APPLICATION = (TEMPLATES / GPU_HEALTH_CHECKS["argoproj.io_Application"]).read_text()
ERROR = {"type": "Error", "status": "True", "reason": "OperandNotReady", "message": "nvidia-driver-daemonset not ready"}

CP_CASES = [
    ("ready", {"state": "ready", "conditions": [{"type": "Ready", "status": "True"}]}, "Healthy", ["all GPU operands"]),
    ("notReady with an Error condition", {"state": "notReady", "conditions": [{"type": "Ready", "status": "False"},
                                                                              ERROR]},
     "Progressing", ["OperandNotReady: nvidia-driver-daemonset not ready"]),
    ("notReady, an Error condition not true", {"state": "notReady", "conditions": [{**ERROR, "status": "False"}]},
     "Progressing", ["GPU operands not ready yet"]),
    ("ignored", {"state": "ignored"}, "Degraded", ["one ClusterPolicy"]),
    ("no status", None, "Progressing", ["waiting for the GPU Operator"]),
    ("empty state", {"state": ""}, "Progressing", ["waiting for the GPU Operator"]),
    ("unknown state", {"state": "upgrading"}, "Progressing", ["unknown state upgrading"]),
]


@pytest.mark.parametrize(("case", "status", "health", "words"), CP_CASES, ids=[c[0] for c in CP_CASES])
def test_cluster_policy_health(case: str, status: dict[str, Any] | None, health: str, words: list[str]) -> None:
    obj: dict[str, Any] = {"apiVersion": "nvidia.com/v1", "kind": "ClusterPolicy",
                           "metadata": {"name": "cluster-policy"}, "spec": {}}
    if status is not None:
        obj["status"] = status
    hs = run_health(CLUSTER_POLICY, obj)
    assert hs["status"] == health, hs
    for word in words:
        assert word in hs["message"], hs


@pytest.mark.parametrize(("status", "health"), [
    ({"health": {"status": "Healthy"}}, "Healthy"),
    ({"health": {"status": "Degraded", "message": "NicClusterPolicy error"}}, "Degraded"),
    ({"health": {"status": "Progressing"}}, "Progressing"),
    ({"sync": {"status": "OutOfSync"}}, "Progressing"),
    (None, "Progressing"),
])
def test_application_health_is_argo_cd_s_own(status: dict[str, Any] | None, health: str) -> None:
    obj: dict[str, Any] = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                           "metadata": {"name": "network-operator-prod"}}
    if status is not None:
        obj["status"] = status
    assert run_health(APPLICATION, obj)["status"] == health


def test_the_patch_of_a_gpu_operator_cluster_carries_both() -> None:
    data = health_patch(make_cluster(version="v26.4.1", vm_size="Standard_ND96isr_H100_v5",
                                     extra="gpu: {driver: operator}\n"))["data"]
    assert data["resource.customizations.health.nvidia.com_ClusterPolicy"] == CLUSTER_POLICY
    assert data["resource.customizations.health.argoproj.io_Application"] == APPLICATION
