"""The strict schema check: dispatch, strict CRD and core-kind schemas, readable findings."""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from generator.check.schema import check_schema
from generator.check.validators.kinds import Schemas
from generator.core.cache import DiskCache, cache_root, digest
from generator.core.finding import Finding, dotted
from generator.sources.schema_store import SchemaStore
from generator.yamlio.load import load_documents
from tests.conftest import SHARED

from .conftest import MIRROR

V = Callable[..., Schemas]
EXAMPLES = MIRROR / "network-operator" / "v26.4.1" / "examples"
AZURE_NCP = SHARED / "reference/aks-rdma-infiniband/configs/nicclusterpolicy/base/nic.yaml"


def load(path: Path) -> list[dict[str, Any]]:
    return [d.value for d in load_documents(path.read_bytes(), str(path))]


def errors(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.dotted_path, f.message) for f in findings if f.severity == "error"]


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


# upstream ships this example empty since whereabouts left (v25.10.0); it holds nothing to validate
EMPTY_EXAMPLE = "mellanox.com_v1alpha1_macvlannetwork_ipam-whereabouts_cr.yaml"


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.yaml") if p.name != EMPTY_EXAMPLE))
def test_upstream_v26_4_1_examples_validate(schemas: V, example: str) -> None:
    objs = load(EXAMPLES / example)
    assert objs
    assert [f for o in objs for f in check_schema(o, schemas("v26.4.1"))] == []


def test_the_one_empty_upstream_example_is_empty() -> None:
    assert load(EXAMPLES / EMPTY_EXAMPLE) == []


def test_azure_reference_ncp_valid_for_v25_10_0(schemas: V, azure_ncp: dict[str, Any]) -> None:
    assert check_schema(azure_ncp, schemas("v25.10.0")) == []


def test_misspelt_field_reported_at_its_own_path(schemas: V, azure_ncp: dict[str, Any]) -> None:
    obj = copy.deepcopy(azure_ncp)
    obj["spec"]["ofedDriver"]["forcePrecompield"] = obj["spec"]["ofedDriver"].pop("forcePrecompiled")
    [finding] = check_schema(obj, schemas("v25.10.0"))
    assert finding.dotted_path == "spec.ofedDriver.forcePrecompield"
    assert finding.rule == "schema" and finding.severity == "error"
    assert finding.message == "unknown field 'forcePrecompield' (strict field validation rejects it)"
    assert finding.index == -1 and finding.file == ""  # placed in a file by the checker, not here


def test_ipam_plugin_exists_up_to_v25_7_0_only(schemas: V) -> None:
    obj = ncp(
        {
            "secondaryNetwork": {
                "ipamPlugin": {"image": "whereabouts", "repository": "ghcr.io/x", "version": "v1"}
            }
        }
    )
    assert check_schema(obj, schemas("v25.7.0")) == []
    assert errors(check_schema(obj, schemas("v25.10.0"))) == [
        (
            "spec.secondaryNetwork.ipamPlugin",
            "unknown field 'ipamPlugin' (strict field validation rejects it)",
        )
    ]


def test_metadata_label_rejected(schemas: V) -> None:
    assert errors(check_schema(ncp({}, label={"a": "b"}), schemas("v26.4.1"))) == [
        ("metadata.label", "unknown field 'label' (strict field validation rejects it)")
    ]


def test_bad_metadata_name(schemas: V) -> None:
    obj = ncp({})
    obj["metadata"]["name"] = "Nic_Policy"
    [(path, message)] = errors(check_schema(obj, schemas("v26.4.1")))
    assert path == "metadata.name" and "DNS-1123 subdomain" in message


def test_wrong_api_version_flagged(schemas: V) -> None:
    obj = {**ncp({}), "apiVersion": "mellanox.com/v1"}
    [finding] = check_schema(obj, schemas("v26.4.1"))
    assert finding.severity == "error" and finding.dotted_path == "apiVersion"
    assert "'mellanox.com/v1alpha1'" in finding.message


def test_unknown_kind_is_a_warning(schemas: V) -> None:
    thing = {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"}}
    [finding] = check_schema(thing, schemas("v26.4.1"))
    assert (finding.rule, finding.severity) == ("unknown-kind", "warning")


def test_missing_kind(schemas: V) -> None:
    [finding] = check_schema({"apiVersion": "v1", "metadata": {"name": "x"}}, schemas("v26.4.1"))
    assert finding.dotted_path == "kind" and finding.severity == "error"


def test_not_a_mapping(schemas: V) -> None:
    [finding] = check_schema(["a"], schemas("v26.4.1"))
    assert "mapping" in finding.message


def test_readable_messages(schemas: V, azure_ncp: dict[str, Any]) -> None:
    obj = copy.deepcopy(azure_ncp)
    driver = obj["spec"]["ofedDriver"]
    driver["containerResources"] = [{"name": "mofed-container", "limits": {"memory": "4 GiB", "cpu": True}}]
    driver["upgradePolicy"]["maxParallelUpgrades"] = "1"
    del driver["image"]
    found = dict(errors(check_schema(obj, schemas("v25.10.0"))))
    assert found["spec.ofedDriver.containerResources[0].limits.memory"] == (
        "'4 GiB' is not a Kubernetes quantity (e.g. 500m, 4Gi)"
    )
    assert found["spec.ofedDriver.containerResources[0].limits.cpu"].startswith(
        "must be an integer or a string"
    )
    assert found["spec.ofedDriver.upgradePolicy.maxParallelUpgrades"] == "'1' is not of type integer"
    assert found["spec.ofedDriver.image"] == "missing required field 'image'"


def test_enum_shows_allowed_values(schemas: V) -> None:
    obj = ncp(
        {
            "nicConfigurationOperator": {"logLevel": "trace"},
        }
    )
    found = dict(errors(check_schema(obj, schemas("v25.10.0"))))
    assert found["spec.nicConfigurationOperator.logLevel"] == (
        "'trace' is not an allowed value (allowed: 'info', 'debug')"
    )


def test_non_json_value_is_a_finding(schemas: V) -> None:
    obj = ncp(
        {"ofedDriver": {"image": "doca-driver", "repository": "r", "version": datetime.date(2024, 1, 1)}}
    )
    [finding] = check_schema(obj, schemas("v26.4.1"))
    assert finding.dotted_path == "spec.ofedDriver.version" and "date" in finding.message
    [finding] = check_schema({**ncp({}), "spec": {1: "x"}}, schemas("v26.4.1"))
    assert finding.dotted_path == "spec.1" and "int mapping key" in finding.message


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
def test_argo_application_with_sources(schemas: V, argocd: str) -> None:
    v = schemas("v26.4.1", argocd)
    assert check_schema(APP, v) == []
    bad = copy.deepcopy(APP)
    helm = bad["spec"]["sources"][0]["helm"]
    helm["valuesObjekt"] = helm.pop("valuesObject")
    assert errors(check_schema(bad, v)) == [
        (
            "spec.sources[0].helm.valuesObjekt",
            "unknown field 'valuesObjekt' (strict field validation rejects it)",
        )
    ]


def test_core_namespace_and_pod(schemas: V) -> None:
    v = schemas("v26.4.1")
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "nvidia-network-operator"}}
    assert check_schema(namespace, v) == []
    bad_ns = {**namespace, "metadata": {"name": "x", "label": {"a": "b"}}}
    assert errors(check_schema(bad_ns, v)) == [
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
    assert check_schema(pod, v) == []
    bad_pod = copy.deepcopy(pod)
    bad_pod["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    [finding] = check_schema(bad_pod, v)
    assert finding.dotted_path == "spec.containers[0].imagePullPolicyy"


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
def test_core_kinds_dispatch(schemas: V, api_version: str, kind: str) -> None:
    obj = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}, "bogus": 1}
    findings = check_schema(obj, schemas("v26.4.1"))
    assert "bogus" in [f.dotted_path for f in findings]
    assert all(f.rule == "schema" for f in findings)


def test_core_kind_wrong_group_is_unknown(schemas: V) -> None:
    old = {"apiVersion": "extensions/v1", "kind": "Deployment", "metadata": {"name": "x"}}
    [finding] = check_schema(old, schemas("v26.4.1"))
    assert finding.rule == "unknown-kind"


def test_converted_schemas_are_never_read_from_disk(store: SchemaStore, schemas: V) -> None:
    """A converted schema is derived data nothing could verify when read back: it is kept per process only,
    so an entry planted in the cache (the NicClusterPolicy's schema replaced by ``{}``) changes nothing."""
    v = schemas("v26.4.1")
    custom = v.custom("mellanox.com/v1alpha1", "NicClusterPolicy")
    assert custom is not None and custom.scope == "Cluster" and custom.cel_rules_dropped >= 2
    assert not (cache_root() / "converted-crds").exists()
    entry = next(f for f in store.files("network-operator", "v26.4.1", "crds") if "nicclusterpolicies" in f.path)
    DiskCache(cache_root(), "converted-crds", 1).put_json(digest(entry.sha256), [
        {"apiVersion": "mellanox.com/v1alpha1", "kind": "NicClusterPolicy", "scope": "Cluster", "schema": {},
         "celRulesDropped": 0}])
    fresh = Schemas("v26.4.1", "v3.5.1", store, "1.33")
    assert fresh.custom("mellanox.com/v1alpha1", "NicClusterPolicy") == custom
    bogus = {"apiVersion": "mellanox.com/v1alpha1", "kind": "NicClusterPolicy", "metadata": {"name": "x"},
             "spec": {"bogus": 1}}
    assert "spec.bogus" in [f.dotted_path for f in check_schema(bogus, fresh)]


def test_release_dependent_kinds(schemas: V) -> None:
    assert ("mellanox.com/v1alpha1", "NicNodePolicy") in schemas("v26.4.1").custom_kinds()
    assert ("mellanox.com/v1alpha1", "NicNodePolicy") not in schemas("v25.10.0").custom_kinds()


def test_many_objects_one_finding_each(schemas: V, azure_ncp: dict[str, Any]) -> None:
    """Compiled once, reused: 2,000 objects, every other one bad (speed is measured in bench/, not here)."""
    v = schemas("v25.10.0")
    bad = copy.deepcopy(azure_ncp)
    bad["spec"]["ofedDriver"]["forcePrecompield"] = True
    findings = [f for i in range(2000) for f in check_schema(azure_ncp if i % 2 else bad, v, i)]
    assert [f.index for f in findings] == list(range(0, 2000, 2))


def test_dotted_path() -> None:
    assert dotted(("spec", "containers", 0, "image")) == "spec.containers[0].image"
    assert dotted((0, "a")) == "[0].a"
    assert dotted(()) == ""
