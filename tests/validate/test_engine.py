"""Validator: dispatch, strict CRD and core-kind schemas, readable findings."""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from generator.model import Finding
from generator.validate.engine import Validator, dotted_path
from generator.validate.store import SchemaStore
from generator.yamlio.load import load_documents

from .conftest import MIRROR, SHARED

V = Callable[..., Validator]
EXAMPLES = MIRROR / "network-operator" / "v26.4.1" / "examples"
AZURE_NCP = SHARED / "reference/aks-rdma-infiniband/configs/nicclusterpolicy/base/nic.yaml"


def load(path: Path) -> list[dict[str, Any]]:
    return [d.value for d in load_documents(path.read_bytes(), str(path))]


def errors(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.path, f.message) for f in findings if f.severity == "error"]


@pytest.fixture(scope="module")
def azure_ncp() -> dict[str, Any]:
    [obj] = load(AZURE_NCP)
    return obj


def ncp(spec: dict[str, Any], **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "mellanox.com/v1alpha1",
        "kind": "NicClusterPolicy",
        "metadata": {"name": "nic-cluster-policy", **meta},
        "spec": spec,
    }


@pytest.mark.parametrize(
    "example", sorted(p.name for p in EXAMPLES.glob("*.yaml")) if EXAMPLES.is_dir() else []
)
def test_upstream_v26_4_1_examples_validate(validator: V, example: str) -> None:
    objs = load(EXAMPLES / example)
    if not objs:  # upstream ships macvlannetwork_ipam-whereabouts_cr.yaml empty since whereabouts left
        pytest.skip(f"upstream example {example} is empty")
    assert validator("v26.4.1").validate_many([(o, example) for o in objs]) == []


def test_azure_reference_ncp_valid_for_v25_10_0(validator: V, azure_ncp: dict[str, Any]) -> None:
    assert validator("v25.10.0").validate(azure_ncp, "nic.yaml") == []


def test_misspelt_field_reported_at_its_own_path(validator: V, azure_ncp: dict[str, Any]) -> None:
    obj = copy.deepcopy(azure_ncp)
    obj["spec"]["ofedDriver"]["forcePrecompield"] = obj["spec"]["ofedDriver"].pop("forcePrecompiled")
    [finding] = validator("v25.10.0").validate(obj, "nic.yaml")
    assert finding.path == "spec.ofedDriver.forcePrecompield"
    assert finding.rule == "schema" and finding.severity == "error"
    assert finding.message == "unknown field 'forcePrecompield' (strict field validation rejects it)"
    assert finding.object == "NicClusterPolicy/nic-cluster-policy" and finding.file == "nic.yaml"


def test_ipam_plugin_exists_up_to_v25_7_0_only(validator: V) -> None:
    obj = ncp(
        {
            "secondaryNetwork": {
                "ipamPlugin": {"image": "whereabouts", "repository": "ghcr.io/x", "version": "v1"}
            }
        }
    )
    assert validator("v25.7.0").validate(obj, "f") == []
    assert errors(validator("v25.10.0").validate(obj, "f")) == [
        (
            "spec.secondaryNetwork.ipamPlugin",
            "unknown field 'ipamPlugin' (strict field validation rejects it)",
        )
    ]


def test_metadata_label_rejected(validator: V) -> None:
    assert errors(validator("v26.4.1").validate(ncp({}, label={"a": "b"}), "f")) == [
        ("metadata.label", "unknown field 'label' (strict field validation rejects it)")
    ]


def test_bad_metadata_name(validator: V) -> None:
    obj = ncp({})
    obj["metadata"]["name"] = "Nic_Policy"
    [(path, message)] = errors(validator("v26.4.1").validate(obj, "f"))
    assert path == "metadata.name" and "DNS-1123 subdomain" in message


def test_wrong_api_version_flagged(validator: V) -> None:
    obj = {**ncp({}), "apiVersion": "mellanox.com/v1"}
    [finding] = validator("v26.4.1").validate(obj, "f")
    assert finding.severity == "error" and finding.path == "apiVersion"
    assert "'mellanox.com/v1alpha1'" in finding.message


def test_unknown_kind_is_a_warning(validator: V) -> None:
    [finding] = validator("v26.4.1").validate(
        {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"}}, "f"
    )
    assert (finding.rule, finding.severity) == ("unknown-kind", "warning")


def test_missing_kind(validator: V) -> None:
    [finding] = validator("v26.4.1").validate({"apiVersion": "v1", "metadata": {"name": "x"}}, "f")
    assert finding.path == "kind" and finding.severity == "error"


def test_not_a_mapping(validator: V) -> None:
    [finding] = validator("v26.4.1").validate(["a"], "f")
    assert "mapping" in finding.message


def test_readable_messages(validator: V, azure_ncp: dict[str, Any]) -> None:
    obj = copy.deepcopy(azure_ncp)
    driver = obj["spec"]["ofedDriver"]
    driver["containerResources"] = [{"name": "mofed-container", "limits": {"memory": "4 GiB", "cpu": True}}]
    driver["upgradePolicy"]["maxParallelUpgrades"] = "1"
    del driver["image"]
    found = dict(errors(validator("v25.10.0").validate(obj, "f")))
    assert found["spec.ofedDriver.containerResources[0].limits.memory"] == (
        "'4 GiB' is not a Kubernetes quantity (e.g. 500m, 4Gi)"
    )
    assert found["spec.ofedDriver.containerResources[0].limits.cpu"].startswith(
        "must be an integer or a string"
    )
    assert found["spec.ofedDriver.upgradePolicy.maxParallelUpgrades"] == "'1' is not of type integer"
    assert found["spec.ofedDriver.image"] == "missing required field 'image'"


def test_enum_shows_allowed_values(validator: V) -> None:
    obj = ncp(
        {
            "nicConfigurationOperator": {"logLevel": "trace"},
        }
    )
    found = dict(errors(validator("v25.10.0").validate(obj, "f")))
    assert found["spec.nicConfigurationOperator.logLevel"] == (
        "'trace' is not an allowed value (allowed: 'info', 'debug')"
    )


def test_non_json_value_is_a_finding(validator: V) -> None:
    obj = ncp(
        {"ofedDriver": {"image": "doca-driver", "repository": "r", "version": datetime.date(2024, 1, 1)}}
    )
    [finding] = validator("v26.4.1").validate(obj, "f")
    assert finding.path == "spec.ofedDriver.version" and "date" in finding.message
    [finding] = validator("v26.4.1").validate({**ncp({}), "spec": {1: "x"}}, "f")
    assert finding.path == "spec.1" and "int mapping key" in finding.message


APP = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Application",
    "metadata": {
        "name": "network-operator",
        "namespace": "argocd",
        "annotations": {"argocd.argoproj.io/sync-wave": "-1"},
    },
    "spec": {
        "project": "default",
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "nvidia-network-operator"},
        "sources": [
            {
                "repoURL": "https://helm.ngc.nvidia.com/nvidia",
                "chart": "network-operator",
                "targetRevision": "25.10.0",
                "helm": {
                    "releaseName": "network-operator",
                    "valuesObject": {"nfd": {"enabled": True}, "x": [1]},
                },
            },
            {
                "repoURL": "https://github.com/example/gitops.git",
                "targetRevision": "main",
                "path": "output/c1",
            },
        ],
        "syncPolicy": {
            "automated": {"prune": True, "selfHeal": True},
            "syncOptions": ["CreateNamespace=true", "ServerSideApply=true"],
        },
    },
}


@pytest.mark.parametrize("argocd", ["v2.14.21", "v3.5.1"])
def test_argo_application_with_sources(validator: V, argocd: str) -> None:
    v = validator("v26.4.1", argocd)
    assert v.validate(APP, "app.yaml") == []
    bad = copy.deepcopy(APP)
    helm = bad["spec"]["sources"][0]["helm"]
    helm["valuesObjekt"] = helm.pop("valuesObject")
    assert errors(v.validate(bad, "app.yaml")) == [
        (
            "spec.sources[0].helm.valuesObjekt",
            "unknown field 'valuesObjekt' (strict field validation rejects it)",
        )
    ]


def test_core_namespace_and_pod(validator: V) -> None:
    v = validator("v26.4.1")
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "nvidia-network-operator"}}
    assert v.validate(namespace, "ns.yaml") == []
    bad_ns = {**namespace, "metadata": {"name": "x", "label": {"a": "b"}}}
    assert errors(v.validate(bad_ns, "ns.yaml")) == [
        ("metadata.label", "unknown field 'label' (strict field validation rejects it)")
    ]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "image": "ubuntu",
                    "imagePullPolicy": "IfNotPresent",
                    "resources": {"limits": {"rdma/rdma_shared_device_a": 1}},
                }
            ]
        },
    }
    assert v.validate(pod, "pod.yaml") == []
    bad_pod = copy.deepcopy(pod)
    bad_pod["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    [finding] = v.validate(bad_pod, "pod.yaml")
    assert finding.path == "spec.containers[0].imagePullPolicyy" and finding.object == "Pod/default/p"


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [
        ("v1", "ConfigMap"),
        ("v1", "Secret"),
        ("v1", "ServiceAccount"),
        ("v1", "Service"),
        ("apps/v1", "Deployment"),
        ("apps/v1", "DaemonSet"),
        ("batch/v1", "Job"),
        ("rbac.authorization.k8s.io/v1", "ClusterRole"),
        ("rbac.authorization.k8s.io/v1", "RoleBinding"),
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
    ],
)
def test_core_kinds_dispatch(validator: V, api_version: str, kind: str) -> None:
    obj = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}, "bogus": 1}
    findings = validator("v26.4.1").validate(obj, "f")
    assert "bogus" in [f.path for f in findings]
    assert all(f.rule == "schema" for f in findings)


def test_core_kind_wrong_group_is_unknown(validator: V) -> None:
    [finding] = validator("v26.4.1").validate(
        {"apiVersion": "extensions/v1", "kind": "Deployment", "metadata": {"name": "x"}}, "f"
    )
    assert finding.rule == "unknown-kind"


def test_converted_schemas_cached_on_disk(store: SchemaStore, validator: V) -> None:
    v = validator("v26.4.1")
    assert v.schema_for("mellanox.com/v1alpha1", "NicClusterPolicy") is not None
    entry = next(
        f for f in store.files("network-operator", "v26.4.1", "crds") if "nicclusterpolicies" in f.path
    )
    folder = store.cache_dir / "converted"
    cached = list(folder.glob(f"c*/{entry.sha256}/mellanox.com_v1alpha1_NicClusterPolicy.json"))
    assert len(cached) == 1
    again = Validator("v26.4.1", store=store)  # warm: from the disk cache, no YAML parsing
    assert again.schema_for("mellanox.com/v1alpha1", "NicClusterPolicy") == v.schema_for(
        "mellanox.com/v1alpha1", "NicClusterPolicy"
    )
    assert v.cel_rules_dropped("mellanox.com/v1alpha1", "NicClusterPolicy") >= 2


def test_release_dependent_kinds(validator: V) -> None:
    assert ("mellanox.com/v1alpha1", "NicNodePolicy") in validator("v26.4.1").custom_kinds()
    assert ("mellanox.com/v1alpha1", "NicNodePolicy") not in validator("v25.10.0").custom_kinds()


def test_throughput_smoke(validator: V, azure_ncp: dict[str, Any]) -> None:
    import time

    v = validator("v25.10.0")
    bad = copy.deepcopy(azure_ncp)
    bad["spec"]["ofedDriver"]["forcePrecompield"] = True
    objs = [(azure_ncp if i % 2 else bad, "f") for i in range(2000)]
    start = time.perf_counter()
    findings = v.validate_many(objs)
    assert len(findings) == 1000
    assert time.perf_counter() - start < 2.0  # measured ~50k+/s; generous for shared CI machines


def test_dotted_path() -> None:
    assert dotted_path(["spec", "containers", 0, "image"]) == "spec.containers[0].image"
    assert dotted_path([0, "a"]) == "[0].a"
    assert dotted_path([]) == ""
