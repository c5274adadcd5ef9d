"""The object/field diff behind `gen diff`: identities, fields as data (JSON in strings, named lists), and its
properties (a value against itself is no change; the reported changes turn one map into the other)."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from generator.report.object_diff import (
    ABSENT,
    FORMAT_NOTE,
    JSON,
    ORDER_NOTE,
    FieldChange,
    Item,
    ObjectKey,
    diff_objects,
    diff_values,
    object_key,
    same,
    show_path,
)


def policy(hca_max: int = 63, **spec: Any) -> dict[str, Any]:
    config = {"configList": [{"resourceName": "shared_ib", "rdmaHcaMax": hca_max,
                              "selectors": {"vendors": ["15b3"], "linkTypes": ["infiniband"]}}]}
    return {"apiVersion": "mellanox.com/v1alpha1", "kind": "NicClusterPolicy",
            "metadata": {"name": "nic-cluster-policy"},
            "spec": {"rdmaSharedDevicePlugin": {"image": "k8s-rdma-shared-dev-plugin", "version": "v1.5.3",
                                                "config": json.dumps(config, indent=2) + "\n"}, **spec}}


def test_rdma_hca_max_is_one_field_inside_the_json_config() -> None:
    [change] = diff_objects([policy(63)], [policy(32)])
    assert change.change == "changed"
    assert change.key == ObjectKey("mellanox.com", "NicClusterPolicy", "", "nic-cluster-policy")
    [field] = change.fields
    assert field.shown == "spec.rdmaSharedDevicePlugin.config → configList[0].rdmaHcaMax"
    assert (field.old, field.new) == (63, 32)
    assert field.path == ("spec", "rdmaSharedDevicePlugin", "config", JSON, "configList", 0, "rdmaHcaMax")


def test_the_same_json_formatted_differently_is_still_reported() -> None:
    old = policy()
    new = copy.deepcopy(old)
    new["spec"]["rdmaSharedDevicePlugin"]["config"] = json.dumps(json.loads(old["spec"]["rdmaSharedDevicePlugin"]
                                                                            ["config"]))
    [field] = diff_objects([old], [new])[0].fields
    assert field.note == FORMAT_NOTE and field.shown == "spec.rdmaSharedDevicePlugin.config"


def test_identity_is_group_kind_namespace_name_not_version() -> None:
    old = {"apiVersion": "nv-ipam.nvidia.com/v1alpha1", "kind": "IPPool",
           "metadata": {"name": "a", "namespace": "network-operator"}}
    new = {**old, "apiVersion": "nv-ipam.nvidia.com/v1beta1"}
    [change] = diff_objects([old], [new])
    assert change.change == "changed"
    assert [(f.shown, f.old, f.new) for f in change.fields] == [
        ("apiVersion", "nv-ipam.nvidia.com/v1alpha1", "nv-ipam.nvidia.com/v1beta1")]
    other_namespace = {**old, "metadata": {"name": "a", "namespace": "default"}}
    assert sorted(c.change for c in diff_objects([old], [other_namespace])) == ["added", "removed"]
    assert object_key({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}).label() == "Namespace x"
    assert object_key(old).label() == "IPPool.nv-ipam.nvidia.com network-operator/a"


def test_added_removed_and_unchanged_objects_in_identity_order() -> None:
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "network-operator"}}
    changes = diff_objects([ns, policy()], [policy(), {**ns, "metadata": {"name": "other"}}])
    assert [(c.change, c.key.name) for c in changes] == [("removed", "network-operator"), ("added", "other")]
    assert diff_objects([policy(), ns], [ns, policy()]) == []


def test_objects_of_one_identity_twice_are_told_apart() -> None:
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}
    [change] = diff_objects([ns], [ns, ns])
    assert change.change == "added" and change.key.occurrence == 1 and change.key.label() == "Namespace x (#2)"


def test_containers_and_env_by_name_and_a_new_order_is_a_change() -> None:
    def pod(*containers: dict[str, Any]) -> dict[str, Any]:
        return {"spec": {"containers": list(containers)}}

    a = {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]}
    b = {"name": "b", "image": "b:1"}
    changes = diff_values(pod(a, b), pod({**b, "image": "b:2"}, {**a, "env": [{"name": "Y", "value": "2"},
                                                                               {"name": "X", "value": "3"}]}))
    assert [(c.shown, c.old, c.new, c.note) for c in changes] == [
        ("spec.containers", ["a", "b"], ["b", "a"], ORDER_NOTE),
        ("spec.containers[name=b].image", "b:1", "b:2", ""),
        ("spec.containers[name=a].env", ["X", "Y"], ["Y", "X"], ORDER_NOTE),
        ("spec.containers[name=a].env[name=X].value", "1", "3", ""),
    ]
    removed = diff_values(pod(a, b), pod(b))
    assert [(c.shown, c.new) for c in removed] == [("spec.containers[name=a]", ABSENT)]


def test_tolerations_by_key_lists_of_scalars_as_one_value_and_other_lists_aligned() -> None:
    old = {"tolerations": [{"key": "sku", "value": "gpu"}, {"key": "b", "value": "1"}],
           "vendors": ["15b3"], "whitelist": [{"group": "", "kind": "Namespace"}, {"group": "x", "kind": "B"}]}
    new = {"tolerations": [{"key": "sku", "value": "cpu"}, {"key": "b", "value": "1"}],
           "vendors": ["15b3", "abcd"],
           "whitelist": [{"group": "", "kind": "Namespace"}, {"group": "x", "kind": "A"}, {"group": "x", "kind": "B"}]}
    assert [(c.shown, c.old, c.new) for c in diff_values(old, new)] == [
        ("tolerations[key=sku].value", "gpu", "cpu"),
        ("vendors", ["15b3"], ["15b3", "abcd"]),
        ("whitelist[1]", ABSENT, {"group": "x", "kind": "A"}),
    ]


def test_scalars_differ_by_type() -> None:
    assert len(diff_values({"a": 1}, {"a": 1.0})) == 1
    assert len(diff_values({"a": 1}, {"a": True})) == 1
    assert len(diff_values({"a": "1"}, {"a": 1})) == 1
    assert diff_values({"a": float("nan")}, {"a": float("nan")}) == []


def test_paths_quote_keys_that_are_not_identifiers() -> None:
    assert show_path(("metadata", "annotations", "argocd.argoproj.io/sync-wave")) == \
        'metadata.annotations["argocd.argoproj.io/sync-wave"]'
    assert show_path(("spec", "containers", Item("name", "a b"), "image")) == 'spec.containers[name="a b"].image'
    assert show_path(("data", "x", JSON, 0, "y")) == "data.x → [0].y"


# -- properties

_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="{["), max_size=8)
_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _text
_json_like = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner,
                                                                                                 max_size=4),
                          max_leaves=20)
_maps = st.recursive(_scalars, lambda inner: st.dictionaries(st.sampled_from("abcde"), inner, max_size=4),
                     max_leaves=20).filter(lambda v: isinstance(v, dict))


def _apply(value: Any, changes: list[FieldChange]) -> Any:
    """Apply the reported changes of maps to the old map."""
    value = copy.deepcopy(value)
    for change in changes:
        if not change.path:
            value = change.new
            continue
        *parents, last = change.path
        here = value
        for key in parents:
            here = here[key]
        if change.new is ABSENT:
            del here[last]
        else:
            here[last] = copy.deepcopy(change.new)
    return value


@given(_json_like)
@settings(max_examples=300)
def test_a_value_against_itself_is_no_change(value: Any) -> None:
    assert diff_values(value, copy.deepcopy(value)) == []


@given(_maps, _maps)
@settings(max_examples=300)
def test_applying_the_changes_of_maps_gives_the_new_map(old: Any, new: Any) -> None:
    changes = diff_values(old, new)
    assert same(_apply(old, changes), new)
    assert (changes == []) == same(old, new)
    assert diff_values(old, new) == changes  # deterministic


@given(st.lists(_json_like, max_size=5), st.lists(_json_like, max_size=5))
@settings(max_examples=200)
def test_object_sets_every_identity_once(old: list[Any], new: list[Any]) -> None:
    def objects(values: list[Any], kind: str) -> list[dict[str, Any]]:
        return [{"apiVersion": "v1", "kind": kind, "metadata": {"name": str(i)}, "data": v}
                for i, v in enumerate(values)]

    changes = diff_objects(objects(old, "ConfigMap"), objects(new, "ConfigMap"))
    names = [c.key.name for c in changes]
    assert names == sorted(set(names), key=names.index) and len(names) == len(set(names))
    for change in changes:
        assert change.change == "changed" or (change.change == "added") == (int(change.key.name) >= len(old))
