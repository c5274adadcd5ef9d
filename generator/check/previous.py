"""Matching objects with their previous versions (``Item.old``), as the API server names them: apiVersion group,
kind, namespace and name. Where the previous versions come from (a git commit) is ``generator.manifests.committed``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from generator.check.engine import Item
from generator.core.kube import Obj
from generator.core.objects import as_str, group_kind, name_of, namespace_of

Key = tuple[str, str, str, str]  # (API group, kind, namespace, name)


def object_key(obj: Any) -> Key | None:
    """How the API server names an object (the version of its apiVersion aside); None for a non-object."""
    if not isinstance(obj, dict) or not as_str(obj.get("kind")):
        return None
    group, kind = group_kind(obj)
    return group, kind, namespace_of(obj), name_of(obj)


class PreviousIndex:
    """Old objects by key and by where they were (a file, or built from a kustomize directory): an object is matched
    with its version in the same place, else with any version of the same key (it moved to another file)."""

    def __init__(self) -> None:
        self.at: dict[tuple[bool, str, Key], Obj] = {}
        self.by_key: dict[Key, list[Obj]] = {}

    def add(self, obj: Any, built: bool = False, scope: str = "") -> None:
        key = object_key(obj)
        if key is not None:
            self.at.setdefault((built, scope, key), obj)
            self.by_key.setdefault(key, []).append(obj)

    def find(self, obj: Any, built: bool = False, scope: str = "") -> Obj | None:
        key = object_key(obj)
        if key is None:
            return None
        found = self.at.get((built, scope, key))
        if found is None and self.by_key.get(key):
            found = self.by_key[key][0]  # moved to another file: still the same object to the API server
        return found


def attach(items: Sequence[Item], previous: Sequence[Obj]) -> None:
    """Give each item its previous version among ``previous`` (same group, kind, namespace and name)."""
    index = PreviousIndex()
    for obj in previous:
        index.add(obj)
    for item in items:
        if isinstance(item.obj, dict):
            item.old = index.find(item.obj)
