"""What changes between two releases' CRDs for the fields a cluster's objects use: computed from the real CRDs in the
schema store (the converted, strict JSON Schemas), walking each object and both schemas side by side."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from generator.check.validators.kinds import Schemas
from generator.core.finding import JsonPath, dotted
from generator.core.kube import Obj
from generator.sources.schema_store import NETWORK_OPERATOR, SchemaStore

REMOVED, TYPE, ENUM, REQUIRED, ADDED = "removed", "type changed", "accepted values changed", "now required", "added"


@dataclass(frozen=True, order=True)
class FieldChange:
    """One change of the schema at ``path`` (dotted) of an object the cluster applies."""

    kind: str  # the object's kind
    name: str  # the object's name
    path: str
    change: str  # REMOVED | TYPE | ENUM | REQUIRED | ADDED
    detail: str = ""
    breaking: bool = False  # the API server would prune or refuse what the object holds


def _types(node: dict[str, Any]) -> tuple[str, ...]:
    if "anyOf" in node:
        return tuple(sorted({t for option in node["anyOf"] for t in _types(option)}))
    value = node.get("type")
    if isinstance(value, list):
        return tuple(sorted(value))
    return (value,) if isinstance(value, str) else ()


_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}


def _fits(value: Any, types: tuple[str, ...]) -> bool:
    kind = _JSON_TYPES.get(type(value), "null")
    return kind in types or (kind == "integer" and "number" in types)


def _child(node: dict[str, Any] | None, key: str | int) -> dict[str, Any] | None:
    if node is None:
        return None
    if isinstance(key, int):
        items = node.get("items")
        return items if isinstance(items, dict) else None
    props = node.get("properties")
    if isinstance(props, dict) and key in props:
        return props[key]  # type: ignore[no-any-return]
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        return extra
    if extra is False or isinstance(props, dict):
        return None
    return {}  # x-kubernetes-preserve-unknown-fields: anything goes on both sides


_Change = tuple[JsonPath, str, str, bool]  # (path, change, detail, breaking)


def _walk(value: Any, old: dict[str, Any] | None, new: dict[str, Any] | None, path: JsonPath) -> Iterator[_Change]:
    """The changes from schema ``old`` to ``new`` at ``path`` and below it, where ``value`` (the object's) goes."""
    if old is None:
        return
    if new is None:
        yield path, REMOVED, "", True
        return
    yield from _type_change(value, old, new, path)
    yield from _enum_change(value, old, new, path)
    if isinstance(value, dict):
        yield from _mapping_changes(value, old, new, path)
        for key in sorted(value):
            yield from _walk(value[key], _child(old, key), _child(new, key), (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, _child(old, i), _child(new, i), (*path, i))


def _type_change(value: Any, old: dict[str, Any], new: dict[str, Any], path: JsonPath) -> Iterator[_Change]:
    """The node's types changed (both typed): breaking when ``value`` is none of the new ones."""
    before, after = _types(old), _types(new)
    if before != after and before and after:
        yield path, TYPE, f"{'|'.join(before)} -> {'|'.join(after)}", not _fits(value, after)


def _enum_change(value: Any, old: dict[str, Any], new: dict[str, Any], path: JsonPath) -> Iterator[_Change]:
    """The node's accepted values changed: breaking when ``value`` is one no longer accepted."""
    before, after = old.get("enum"), new.get("enum")
    if before != after and (before or after):
        gone = [v for v in before or [] if v not in (after or [])]
        came = [v for v in after or [] if v not in (before or [])]
        parts = [f"no longer {', '.join(map(json.dumps, gone))}" if gone else "",
                 f"also {', '.join(map(json.dumps, came))}" if came else ""]
        yield path, ENUM, "; ".join(p for p in parts if p), value in gone


def _mapping_changes(value: dict[str, Any], old: dict[str, Any], new: dict[str, Any],
                     path: JsonPath) -> Iterator[_Change]:
    """The fields the new schema requires (breaking when ``value`` lacks one), then those it adds; each sorted."""
    required = set(new.get("required") or []) - set(old.get("required") or [])
    for key in sorted(required):
        yield (*path, key), REQUIRED, "set by the cluster" if key in value else "not set by the cluster", \
            key not in value
    for key in sorted(set(new.get("properties") or {}) - set(old.get("properties") or {})):
        yield (*path, key), ADDED, "", False


def field_changes(objects: Iterable[Obj], old: Schemas, new: Schemas) -> list[FieldChange]:
    """Every schema change at the fields ``objects`` (as built for the old release) use, plus fields the new release
    adds or requires where the objects have a mapping. Core kinds (their schemas follow Kubernetes, not the release)
    are left out. A kind the new release no longer serves is one REMOVED change at the object's root."""
    out: set[FieldChange] = set()
    for obj in objects:
        api, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
        before = old.custom(api, kind)
        if before is None:
            continue
        name = str((obj.get("metadata") or {}).get("name", ""))
        after = new.custom(api, kind)
        if after is None:
            out.add(FieldChange(kind, name, "", REMOVED, f"{api} {kind} is not served by {new.release}", True))
            continue
        for path, change, detail, breaking in _walk(obj, before.schema, after.schema, ()):
            if path and path[0] in ("apiVersion", "kind", "metadata", "status"):
                continue
            out.add(FieldChange(kind, name, dotted(path), change, detail, breaking))
    return sorted(out)


@dataclass(frozen=True, order=True)
class CrdChange:
    name: str  # the CRD file's name, e.g. mellanox.com_nicclusterpolicies.yaml
    change: str  # changed | added | removed
    installed_by: str  # "the chart" (Argo CD applies it) or "the operator"


def crd_changes(store: SchemaStore, old_tag: str, new_tag: str) -> list[CrdChange]:
    """CRD files that differ between two releases (by digest), added or removed, and who installs them."""
    out = []
    for subdir, who in (("crds", "the chart"), ("operand-crds", "the operator")):
        before = {f.path.rsplit("/", 1)[1]: f.sha256 for f in store.lock.release(NETWORK_OPERATOR, old_tag, subdir)}
        after = {f.path.rsplit("/", 1)[1]: f.sha256 for f in store.lock.release(NETWORK_OPERATOR, new_tag, subdir)}
        for name in sorted(set(before) | set(after)):
            if name not in after:
                out.append(CrdChange(name, "removed", who))
            elif name not in before:
                out.append(CrdChange(name, "added", who))
            elif before[name] != after[name]:
                out.append(CrdChange(name, "changed", who))
    return out
