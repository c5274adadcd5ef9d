"""Objects matched with their previous versions as the API server names them: group, kind, namespace, name."""

from __future__ import annotations

from generator.check.engine import Item
from generator.check.previous import PreviousIndex, attach, object_key


def obj(kind: str, name: str, api: str = "mellanox.com/v1alpha1", namespace: str = "", **spec: object) -> dict:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": api, "kind": kind, "metadata": meta, "spec": spec}


def test_key_is_group_kind_namespace_name_not_version() -> None:
    assert object_key(obj("NicClusterPolicy", "p")) == ("mellanox.com", "NicClusterPolicy", "", "p")
    assert object_key(obj("NicClusterPolicy", "p", api="mellanox.com/v1beta1")) == object_key(obj("NicClusterPolicy",
                                                                                                    "p"))
    assert object_key(obj("ConfigMap", "c", api="v1", namespace="x")) == ("", "ConfigMap", "x", "c")
    assert object_key("text") is None and object_key({"metadata": {}}) is None


def test_same_place_first_then_any_place() -> None:
    index = PreviousIndex()
    index.add(obj("IPPool", "a", namespace="n", v=1), built=False, scope="a.yaml")
    index.add(obj("IPPool", "a", namespace="n", v=2), built=True, scope="overlay/kustomization.yaml")
    assert index.find(obj("IPPool", "a", namespace="n"), True, "overlay/kustomization.yaml")["spec"] == {"v": 2}
    assert index.find(obj("IPPool", "a", namespace="n"), False, "b.yaml")["spec"] == {"v": 1}  # moved file
    assert index.find(obj("IPPool", "a", namespace="other")) is None


def test_attach_sets_old_on_matching_items_only() -> None:
    items = [Item(obj("NicClusterPolicy", "p", v=2), "f"), Item(obj("NicClusterPolicy", "q"), "f"), Item([], "f")]
    attach(items, [obj("NicClusterPolicy", "p", v=1)])
    assert [item.old and item.old["spec"] for item in items] == [{"v": 1}, None, None]
