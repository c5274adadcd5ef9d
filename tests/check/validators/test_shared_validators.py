"""A fleet asks for the same CRDs under many Kubernetes versions and GPU Operator releases: each converted kind's
strict validator is compiled once per process and shared (``kinds._compiled``), and the versions of Kubernetes that
kubernetes-validate does not ship share the nearest one's core schemas. Sharing never changes a verdict."""

from __future__ import annotations

from generator import catalog
from generator.check.validators import kinds, kube_core
from generator.check.validators.kinds import schemas_for
from generator.sources.schema_store import SchemaStore

POLICY = ("mellanox.com/v1alpha1", "NicClusterPolicy")


def test_one_validator_per_kind_whatever_the_kubernetes_version(store: SchemaStore) -> None:
    release = catalog.load().default_release
    shipped = kube_core.shipped_versions()
    one, other = (schemas_for(release, store=store, kube_version=v) for v in (shipped[-1], shipped[-3]))
    assert one is not other and one.core() is not other.core()
    assert one.validator(*POLICY) is other.validator(*POLICY) is not None
    good = {"apiVersion": POLICY[0], "kind": POLICY[1], "metadata": {"name": "nic-cluster-policy"}, "spec": {}}
    bad = {**good, "spec": {"ofedDriver": {"image": 7}}}
    for schemas in (one, other):
        assert schemas.validator(*POLICY).is_valid(good)
        assert not schemas.validator(*POLICY).is_valid(bad)


def test_a_validator_is_never_taken_for_another_kinds() -> None:
    first = kinds.CustomKind("a.example/v1", "A", "Namespaced", {"type": "object", "required": ["a"]}, 0)
    second = kinds.CustomKind("b.example/v1", "B", "Namespaced", {"type": "object", "required": ["b"]}, 0)
    assert kinds._compiled(first).is_valid({"a": 1}) and not kinds._compiled(first).is_valid({"b": 1})
    assert kinds._compiled(second).is_valid({"b": 1}) and not kinds._compiled(second).is_valid({"a": 1})


def test_versions_not_shipped_share_the_nearest_ones_core_schemas() -> None:
    shipped = kube_core.shipped_versions()
    oldest = shipped[0]
    major, minor = (int(part) for part in oldest.split("."))
    older = f"{major}.{minor - 1}"
    assert older not in shipped
    assert kube_core.core_schemas(older) is kube_core.core_schemas(oldest)
    assert kube_core.core_schemas(shipped[-1]) is not kube_core.core_schemas(oldest)
