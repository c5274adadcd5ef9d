"""The API server's verdict, class by class (generator.check.apiserver and the strict schemas): what it changes
before it stores an object (a warning naming the field and what the server does), and what it refuses that no
schema says (an error). Through the engine, through ``gen lint`` and through ``gen bundle``; the case table is
``apiserver_cases/`` (test_apiserver_cases.py)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from generator.check.apiserver import ANNOTATIONS_LIMIT, stored_form
from generator.check.engine import Item, checker_for
from generator.check.schema import check_object
from generator.check.validators.kinds import Schemas
from generator.core.finding import Finding
from tests.conftest import write_spec, write_user_overlay
from tests.helpers import run_gen

RELEASE = "v26.4.1"


@pytest.fixture(scope="module")
def v26(schemas: Any) -> Schemas:
    return schemas(RELEASE)


def ncp(spec: Any = None, **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "mellanox.com/v1alpha1", "kind": "NicClusterPolicy",
            "metadata": {"name": "nic-cluster-policy", **meta}, "spec": {} if spec is None else spec}


def configmap(**meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "ops", **meta},
            "data": {"a": "b"}}


def said(findings: list[Finding]) -> list[tuple[str, str, str]]:
    return [(f.rule, f.severity, f.dotted_path) for f in findings]


# -- through the engine ------------------------------------------------------------------------------------------


def test_nulls_are_dropped_or_defaulted_and_the_object_is_never_changed(v26: Schemas):
    obj = ncp({"ofedDriver": None, "nicConfigurationOperator": {
        "operator": {"image": "o", "repository": "r", "version": "v"},
        "configurationDaemon": {"image": "d", "repository": "r", "version": "v"}, "logLevel": None}})
    before = copy.deepcopy(obj)
    checked = check_object(obj, v26)
    assert obj == before
    assert sorted(said(checked.findings)) == [
        ("apiserver-changes", "warning", "spec.nicConfigurationOperator.logLevel"),
        ("apiserver-changes", "warning", "spec.ofedDriver")]
    assert "ofedDriver" not in checked.stored["spec"]
    assert checked.stored["spec"]["nicConfigurationOperator"]["logLevel"] == "info"
    assert not checked.blocking


def test_a_null_the_schema_does_not_prune_is_still_refused(v26: Schemas):
    unknown = check_object(ncp({"ofedDrivr": None}), v26)
    item = check_object(ncp({"ofedDriver": {"image": "i", "repository": "r", "version": "v",
                                            "imagePullSecrets": [None]}}), v26)
    assert said(unknown.findings) == [("schema", "error", "spec.ofedDrivr")]
    assert said(item.findings) == [("schema", "error", "spec.ofedDriver.imagePullSecrets[0]")]


def test_prune_nulls_follows_the_structural_schema():
    """prunenulls.go and algorithm.go on a schema with what the release's CRDs lack (nullable fields, a map)."""
    from generator.check.apiserver import _Changes, _custom_nulls

    schema = {"type": "object", "properties": {
        "kept": {"type": "string", "nullable": True},
        "dropped": {"type": "string"},
        "defaulted": {"type": "integer", "default": 3},
        "nullDefault": {"type": "string", "default": None},
        "map": {"type": "object", "additionalProperties": {"type": "string"}},
        "list": {"type": "array", "items": {"type": "string", "default": "x"}},
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}
    value = {"kept": None, "dropped": None, "defaulted": None, "nullDefault": None, "map": {"a": None, "b": "c"},
             "list": [None, "y"], "free": {"z": None}}
    changes = _Changes("Widget", 0)
    _custom_nulls(value, schema, (), changes)
    assert value == {"kept": None, "defaulted": 3, "map": {"b": "c"}, "list": ["x", "y"], "free": {"z": None}}
    assert sorted(f.dotted_path for f in changes.found) == ["defaulted", "dropped", "list[0]", "map.a", "nullDefault"]


def test_metadata_nulls(v26: Schemas):
    checked = check_object(ncp(labels={"team": None}, annotations={"a": None}, creationTimestamp=None,
                               ownerReferences=None), v26)
    assert sorted(said(checked.findings)) == [("apiserver-changes", "warning", "metadata.annotations.a"),
                                              ("apiserver-changes", "warning", "metadata.labels.team"),
                                              ("apiserver-changes", "warning", "metadata.ownerReferences")]
    assert checked.stored["metadata"] == {"name": "nic-cluster-policy", "labels": {"team": ""},
                                          "annotations": {"a": ""}}


@pytest.mark.parametrize("obj", [ncp(namespace="Not_A_Namespace"), {
    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
    "metadata": {"name": "reader", "namespace": "default"}, "rules": []}], ids=["custom", "built-in"])
def test_the_namespace_of_a_cluster_scoped_kind_is_cleared(v26: Schemas, obj: dict[str, Any]):
    checked = check_object(obj, v26)
    [finding] = checked.findings
    assert said([finding]) == [("apiserver-changes", "warning", "metadata.namespace")]
    assert "cluster-scoped kind: the API server clears it" in finding.message
    assert "namespace" not in checked.stored["metadata"] and obj["metadata"]["namespace"]


def test_a_cleared_namespace_makes_two_objects_one(v26: Schemas):
    """The cross-object rules see what the API server stores: two ClusterRoles of one name in two namespaces are
    the same object."""
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "reader"},
            "rules": []}
    items = [Item(copy.deepcopy(role) | {"metadata": {"name": "reader", "namespace": ns}}, "roles.yaml")
             for ns in ("a", "b")]
    found = checker_for(RELEASE).run(items, [([0, 1], [0, 1])])
    assert "duplicate-object" in {f.rule for f in found}


def test_status_of_a_kind_with_a_status_subresource(v26: Schemas):
    checked = check_object({**ncp(), "status": {"state": "bogus", "appliedStates": "not a list"}}, v26)
    assert said(checked.findings) == [("apiserver-changes", "warning", "status")]
    assert "status" not in checked.stored and not checked.blocking
    unknown = check_object({**ncp(), "status": {"bogus": 1}}, v26)
    assert ("schema", "error", "status.bogus") in said(unknown.findings)


def test_status_of_a_kind_without_one_is_validated(v26: Schemas):
    app = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "a", "namespace": "b"},
           "spec": {"project": "default", "destination": {"server": "https://kubernetes.default.svc"},
                    "source": {"repoURL": "https://example.com/r.git"}},
           "status": {"health": {"status": 5}}}
    assert ("schema", "error", "status.health.status") in said(check_object(app, v26).findings)


def test_status_of_a_built_in_is_decoded_not_validated(v26: Schemas):
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "n"},
                  "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
                      "metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}
    missing = check_object({**deployment, "status": {"conditions": [{"reason": "x"}]}}, v26)
    wrong = check_object({**deployment, "status": {"replicas": "three", "readyReplicas": 2**31}}, v26)
    node = check_object({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"},
                         "status": {"conditions": [{"reason": "x"}]}}, v26)
    assert said(missing.findings) == [("apiserver-changes", "warning", "status")]
    assert {("schema", "error", "status.replicas"), ("schema", "error", "status.readyReplicas")} <= set(
        said(wrong.findings))
    assert ("schema", "error", "status.conditions[0].type") in said(node.findings)  # a Node keeps its status


@pytest.mark.parametrize(("finalizers", "custom_ok", "core_ok"), [
    (["example.com/cleanup"], True, True),
    (["kubernetes"], True, True),
    (["cleanup"], True, False),
    (["resources-finalizer.argocd.argoproj.io"], True, False),
    (["cleanup please"], False, False),
    (["a/b/c"], False, False),
    (["/x"], False, False),
    ([""], False, False),
    ([None], False, False),
    (["example.com/" + "x" * 64], False, False),
    (["orphan", "foregroundDeletion"], False, False),
])
def test_finalizer_names(v26: Schemas, finalizers: list[Any], custom_ok: bool, core_ok: bool):
    for obj, ok in ((ncp(finalizers=finalizers), custom_ok), (configmap(finalizers=finalizers), core_ok)):
        errors = [f for f in check_object(obj, v26).findings if f.severity == "error"]
        assert (not errors) == ok, (obj["kind"], errors)
        assert all(f.rule == "object-meta" and f.dotted_path.startswith("metadata.finalizers") for f in errors)


def test_name_or_generate_name(v26: Schemas):
    for meta in ({}, {"name": ""}, {"name": None}, {"generateName": ""}):
        obj = ncp()
        obj["metadata"] = meta
        checked = check_object(obj, v26)
        assert said(checked.findings)[-1] == ("object-meta", "error", "metadata.name") and checked.blocking
    generated = ncp()
    generated["metadata"] = {"generateName": "nic-"}
    assert check_object(generated, v26).findings == []
    generated["metadata"] = {"generateName": "Nic_"}
    assert said(check_object(generated, v26).findings) == [("object-meta", "error", "metadata.generateName")]
    cm = configmap()
    del cm["metadata"]["name"]
    assert said(check_object(cm, v26).findings) == [("object-meta", "error", "metadata.name")]


def test_annotations_total_at_most_256_kib(v26: Schemas):
    key = "example.com/blob"
    at = {key: "x" * (ANNOTATIONS_LIMIT - len(key))}
    over = {key: "x" * (ANNOTATIONS_LIMIT - len(key) + 1)}
    wide = {key: "é" * ((ANNOTATIONS_LIMIT - len(key)) // 2 + 1)}  # bytes, not characters
    assert check_object(ncp(annotations=at), v26).findings == []
    for blob in (over, wide):
        checked = check_object(ncp(annotations=blob), v26)
        assert said(checked.findings) == [("object-meta", "error", "metadata.annotations")] and checked.blocking
        assert "256 KiB" in checked.findings[0].message
    assert said(check_object(configmap(annotations=over), v26).findings) == [
        ("object-meta", "error", "metadata.annotations")]


def test_managed_fields(v26: Schemas):
    entry = {"manager": "kubectl", "operation": "Update", "apiVersion": "mellanox.com/v1alpha1",
             "time": "2024-01-01T00:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}}}
    assert check_object(ncp(managedFields=[entry]), v26).findings == []
    for bad in ([{**entry, "manager": 5}], [{**entry, "time": "yesterday"}], [{**entry, "extra": 1}], ["x"], {}):
        found = check_object(ncp(managedFields=bad), v26).findings
        assert [f.rule for f in found] == ["schema"], (bad, found)
    undecodable = check_object(ncp(managedFields=[{**entry, "operation": "Delete"}]), v26).findings
    assert said(undecodable) == [("apiserver-changes", "warning", "metadata.managedFields")]


@pytest.mark.parametrize(("value", "ok"), [(2**63 - 1, True), (2**63, False), (10**20, False), (1e20, False)])
def test_integers_beyond_int64(v26: Schemas, value: Any, ok: bool):
    ib = {"image": "i", "repository": "r", "version": "v", "pKeyGUIDPoolRangeStart": "a",
          "pKeyGUIDPoolRangeEnd": "b", "ufmSecret": "s", "periodicUpdateSeconds": value}
    checked = check_object(ncp({"ibKubernetes": ib}), v26)
    assert (checked.findings == []) == ok, checked.findings
    if not ok:
        assert "does not fit a 64-bit integer" in checked.findings[0].message and checked.blocking


def test_built_in_integers_fit_their_go_type(v26: Schemas):
    def deployment(**spec: Any) -> dict[str, Any]:
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "n"},
                "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
                    "metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}},
                    **spec}}

    assert check_object(deployment(replicas=2**31 - 1), v26).findings == []
    [over] = check_object(deployment(replicas=2**31), v26).findings
    assert over.dotted_path == "spec.replicas" and "int32" in over.message
    grace = deployment()
    grace["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 2**40  # int64: fits
    assert check_object(grace, v26).findings == []
    grace["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = -(2**63) - 1
    [under] = check_object(grace, v26).findings
    assert "does not fit a 64-bit integer" in under.message


def test_an_object_meta_error_keeps_cel_rules_from_running():
    """strategy.go hasBlockingErr: a Required or TooLong error (name, annotations) means no CEL rule runs."""
    pool = {"apiVersion": "nv-ipam.nvidia.com/v1alpha1", "kind": "IPPool",
            "metadata": {"name": "pool-a", "namespace": "ops"},
            "spec": {"subnet": "192.168.0.0/16", "perNodeBlockSize": 100, "gateway": "192.168.0.1",
                     "perNodeExclusions": [{"startIndex": 30, "endIndex": 20}]}}
    checker = checker_for(RELEASE)
    assert "cel" in {f.rule for f in checker.run([Item(pool, "pool.yaml")], [([0], [0])])}
    nameless = copy.deepcopy(pool)
    nameless["metadata"] = {"generateName": "", "namespace": "ops"}
    found = checker.run([Item(nameless, "pool.yaml")], [([0], [0])])
    assert {f.rule for f in found} == {"object-meta"}
    finalizer = copy.deepcopy(pool)
    finalizer["metadata"]["finalizers"] = ["a b"]  # an Invalid error: not blocking
    assert {"object-meta", "cel"} <= {f.rule for f in checker.run([Item(finalizer, "p.yaml")], [([0], [0])])}


def test_a_patch_null_is_a_deletion(v26: Schemas):
    checked = check_object({"apiVersion": "mellanox.com/v1alpha1", "kind": "NicClusterPolicy",
                            "metadata": {"name": "nic-cluster-policy", "labels": {"a": None}},
                            "spec": {"ofedDriver": None}}, v26, partial=True)
    assert checked.findings == []


def test_an_update_sees_the_stored_previous_version(v26: Schemas):
    old = ncp({"ofedDriver": None}, namespace="ignored")
    stored = stored_form(old, v26)
    assert "ofedDriver" not in stored["spec"] and "namespace" not in stored["metadata"]
    assert old["spec"] == {"ofedDriver": None}
    assert stored_form("not an object", v26) == "not an object"
    unknown = {"apiVersion": "example.com/v1", "kind": "Thing", "spec": None}
    assert stored_form(unknown, v26) is unknown


# -- through gen lint --------------------------------------------------------------------------------------------

HEAD = "apiVersion: mellanox.com/v1alpha1\nkind: NicClusterPolicy\nmetadata:\n  name: nic-cluster-policy\n"
LINT_CASES = {
    # gen refused these; the API server accepts them, and says nothing of what it changes: gen warns
    "null-field": (HEAD + "spec:\n  ofedDriver: null\n", 0,
                   ["x.yaml:6:15: warning apiserver-changes:", "drops it", "(spec.ofedDriver)"]),
    "spec-null": (HEAD + "spec: null\n", 0, ["x.yaml:5:7: warning apiserver-changes:", "(spec)"]),
    "null-label": (HEAD + "  labels:\n    team: null\nspec: {}\n", 0,
                   ["x.yaml:6:11: warning apiserver-changes:", "stores it as the empty string ''",
                    "(metadata.labels.team)"]),
    "null-annotation": (HEAD + "  annotations:\n    team: null\nspec: {}\n", 0,
                        ["warning apiserver-changes:", "stores it as the empty string ''",
                         "(metadata.annotations.team)"]),
    "cluster-scoped-namespace": (HEAD + "  namespace: Network_Operator\nspec: {}\n", 0,
                                 ["x.yaml:5:14: warning apiserver-changes:", "the API server clears it",
                                  "(metadata.namespace)"]),
    "status": (HEAD + "spec: {}\nstatus:\n  state: bogus\n", 0,
               ["x.yaml:7:3: warning apiserver-changes:", "drops the status written with the object on create",
                "(status)"]),
    # gen accepted these; the API server refuses them
    "finalizer": (HEAD + "  finalizers: [cleanup please]\nspec: {}\n", 1,
                  ["error object-meta:", "'cleanup please' is not a qualified name", "(metadata.finalizers[0])"]),
    "no-name": ("apiVersion: mellanox.com/v1alpha1\nkind: NicClusterPolicy\nmetadata:\n  labels: {a: b}\nspec: {}\n",
                1, ["x.yaml:4:3: error object-meta:", "name or generateName is required", "(metadata.name)"]),
    "annotations": (HEAD + "  annotations:\n    example.com/blob: " + "x" * ANNOTATIONS_LIMIT + "\nspec: {}\n", 1,
                    ["error object-meta:", "more than the 262144 (256 KiB)", "(metadata.annotations)"]),
    "managed-fields": (HEAD + "  managedFields:\n  - manager: 5\nspec: {}\n", 1,
                       ["error schema: 5 is not of type string", "(metadata.managedFields[0].manager)"]),
    "int64": (HEAD + "spec:\n  ibKubernetes:\n    image: i\n    repository: r\n    version: v\n"
                     "    pKeyGUIDPoolRangeStart: a\n    pKeyGUIDPoolRangeEnd: b\n    ufmSecret: s\n"
                     "    periodicUpdateSeconds: 99999999999999999999\n", 1,
              ["error schema: 99999999999999999999 does not fit a 64-bit integer",
               "(spec.ibKubernetes.periodicUpdateSeconds)"]),
}


@pytest.mark.parametrize("case", sorted(LINT_CASES))
def test_gen_lint_says_what_the_api_server_does(tmp_path: Path, case: str):
    text, code, words = LINT_CASES[case]
    (tmp_path / "x.yaml").write_text(text)
    proc = run_gen("lint", "--release", RELEASE, "x.yaml", cwd=tmp_path)
    assert proc.code == code, proc.out + proc.err
    lines = [line for line in (proc.out + proc.err).splitlines() if words[0] in line]
    assert lines, proc.out + proc.err
    assert all(any(w in line for line in lines) for w in words[1:]), lines
    assert "Traceback" not in proc.err


# -- through gen bundle ------------------------------------------------------------------------------------------

NCP_PATCH = "apiVersion: mellanox.com/v1alpha1\nkind: NicClusterPolicy\nmetadata:\n  name: nic-cluster-policy\n"


def test_gen_bundle_refuses_what_the_api_server_refuses(gitops_repo: Path):
    write_spec(gitops_repo)
    write_user_overlay(gitops_repo, {"finalizer.yaml": NCP_PATCH + "  finalizers: [cleanup please]\n"})
    proc = run_gen("bundle", "--all", repo=gitops_repo)
    assert proc.code == 1, proc.err
    assert "overlays/prod/finalizer.yaml:5:16: error object-meta:" in proc.err, proc.err
    assert not (gitops_repo / "output").exists() or not any((gitops_repo / "output").rglob("*.yaml"))


def test_gen_bundle_accepts_what_the_api_server_accepts_and_warns(gitops_repo: Path):
    write_spec(gitops_repo)
    write_user_overlay(gitops_repo, {"status.yaml": NCP_PATCH + "status:\n  state: bogus\n"})
    proc = run_gen("bundle", "--all", repo=gitops_repo)
    assert proc.code == 0, proc.err
    assert "overlays/prod/status.yaml:6:3: warning apiserver-changes:" in proc.err, proc.err
    assert "drops the status written with the object on create" in proc.err
