"""What changes between two sets of Kubernetes objects, object by object and field by field: pure functions.

An object is known by its identity (API group, kind, namespace, name), so a new ``apiVersion`` of the same kind is a
changed field, not an object removed and another added. Fields are compared as data, never as text:

- maps key by key (in the new object's order, then the keys only the old one has);
- lists of named items (every item a map with a distinct string ``name``, else ``key``: containers, env, volumes,
  tolerations, match expressions) item by item by that name, and a new order of the same items is a change of its
  own; lists of scalars as one value; other lists by index, once aligned on their equal items (an item inserted is
  one change, not a shift of every item after it);
- a string that holds a JSON object or array (the device plugins' ``config``, the IPoIBNetwork's ``ipam``) as the
  data it holds, so one changed value in it is one field (``spec.rdmaSharedDevicePlugin.config → configList[0].
  rdmaHcaMax``); the same data formatted differently is still reported, as one change of the string;
- scalars by type and value (``1``, ``1.0``, ``true`` and ``"1"`` all differ, as they do to the API server).

Nothing is ignored: every difference in what would be applied is reported, in a deterministic order.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from generator.core.formats import json_value

Obj = dict[str, Any]


class _Absent:
    """A field that one side does not have."""

    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "(absent)"


ABSENT: Any = _Absent()


@dataclass(frozen=True, order=True)
class ObjectKey:
    """What Argo CD (and the API server) know an object by."""

    group: str
    kind: str
    namespace: str
    name: str
    occurrence: int = 0  # the n-th object of one identity in one set (a set should hold each once)

    @property
    def kind_group(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind

    def label(self) -> str:
        """``Kind.group namespace/name`` (``Kind name`` for a cluster-scoped core object)."""
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        extra = f" (#{self.occurrence + 1})" if self.occurrence else ""
        return f"{self.kind_group} {where}{extra}"


def object_key(obj: Obj, occurrence: int = 0) -> ObjectKey:
    api = obj.get("apiVersion")
    group = api.rpartition("/")[0] if isinstance(api, str) else ""
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    return ObjectKey(group, _text(obj.get("kind")), _text(meta.get("namespace")), _text(meta.get("name")), occurrence)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


@dataclass(frozen=True)
class Item:
    """A list item matched by the value of one of its fields (``containers[name=nfd-worker]``)."""

    field: str
    value: str


class _Json:
    """Into the JSON data a string holds."""

    def __repr__(self) -> str:
        return "JSON"


JSON: Any = _Json()
Segment = str | int | Item | _Json

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_PLAIN_VALUE = re.compile(r"^[A-Za-z0-9_.:/-]+$")
DESCENT = " → "  # between a string's path and the path inside the JSON it holds


def show_path(path: Sequence[Segment]) -> str:
    """``spec.containers[name=a].env[0]``; a key that is not an identifier in brackets (``metadata.annotations[
    "argocd.argoproj.io/sync-wave"]``); ``→`` where the path goes into a string's JSON data."""
    out = ""
    for segment in path:
        if isinstance(segment, _Json):
            out += DESCENT
        elif isinstance(segment, int):
            out += f"[{segment}]"
        elif isinstance(segment, Item):
            value = segment.value if _PLAIN_VALUE.match(segment.value) else json.dumps(segment.value)
            out += f"[{segment.field}={value}]"
        elif _PLAIN_KEY.match(segment):
            out += f".{segment}" if out and not out.endswith(DESCENT) else segment
        else:
            out += f"[{json.dumps(segment, ensure_ascii=False)}]"
    return out


@dataclass(frozen=True)
class FieldChange:
    """One field that differs: ``old`` or ``new`` is ``ABSENT`` where a side does not have it."""

    path: tuple[Segment, ...]
    old: Any
    new: Any
    note: str = ""  # "order" (the same named items, in a new order), or why a string with equal data changed

    @property
    def shown(self) -> str:
        return show_path(self.path)


ORDER_NOTE = "order"
FORMAT_NOTE = "same JSON data, formatted differently"


@dataclass(frozen=True)
class ObjectChange:
    key: ObjectKey
    change: Literal["added", "removed", "changed"]
    old: Obj | None
    new: Obj | None
    fields: tuple[FieldChange, ...] = field(default=())


def diff_objects(old: Iterable[Obj], new: Iterable[Obj]) -> list[ObjectChange]:
    """Every object added, removed or changed from ``old`` to ``new``, by identity, sorted by identity."""
    before, after = _keyed(old), _keyed(new)
    changes = []
    for key in sorted(before.keys() | after.keys()):
        if key not in after:
            changes.append(ObjectChange(key, "removed", before[key], None))
        elif key not in before:
            changes.append(ObjectChange(key, "added", None, after[key]))
        else:
            fields = tuple(diff_values(before[key], after[key]))
            if fields:
                changes.append(ObjectChange(key, "changed", before[key], after[key], fields))
    return changes


def _keyed(objects: Iterable[Obj]) -> dict[ObjectKey, Obj]:
    out: dict[ObjectKey, Obj] = {}
    for obj in objects:
        key = object_key(obj)
        while key in out:
            key = object_key(obj, key.occurrence + 1)
        out[key] = obj
    return out


def diff_values(old: Any, new: Any, path: tuple[Segment, ...] = ()) -> list[FieldChange]:
    """The fields that differ between two values (JSON-like data), in a deterministic order."""
    return list(_diff(old, new, path))


def same(old: Any, new: Any) -> bool:
    """Equal as data: of one type and value (``1`` is not ``1.0`` nor ``True``), NaN equal to NaN."""
    if type(old) is not type(new):
        return False
    if isinstance(old, dict):
        return old.keys() == new.keys() and all(same(old[k], new[k]) for k in old)
    if isinstance(old, list):
        return len(old) == len(new) and all(same(a, b) for a, b in zip(old, new, strict=True))
    if isinstance(old, float) and math.isnan(old):
        return math.isnan(new)
    return bool(old == new)


def _diff(old: Any, new: Any, path: tuple[Segment, ...]) -> Iterator[FieldChange]:
    if same(old, new):
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*new, *(k for k in old if k not in new)]:
            yield from _diff(old.get(key, ABSENT), new.get(key, ABSENT), (*path, key))
        return
    if isinstance(old, list) and isinstance(new, list):
        yield from _diff_lists(old, new, path)
        return
    if isinstance(old, str) and isinstance(new, str):
        old_data, new_data = json_data(old), json_data(new)
        if old_data is not None and new_data is not None:
            if same(old_data, new_data):
                yield FieldChange(path, old, new, FORMAT_NOTE)
            else:
                yield from _diff(old_data, new_data, (*path, JSON))
            return
    yield FieldChange(path, old, new)


def json_data(text: str) -> Any:
    """The JSON object or array a string holds, else None."""
    if not text.lstrip().startswith(("{", "[")):
        return None
    try:
        data = json_value(text)
    except ValueError:
        return None
    return data if isinstance(data, dict | list) else None


def _scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def identity_field(old: list[Any], new: list[Any]) -> str | None:
    """The field that names every item of both lists (each a map, each name a distinct string), if any."""
    for name in ("name", "key"):
        if all(_names(items, name) is not None for items in (old, new)):
            return name
    return None


def _names(items: list[Any], name: str) -> list[str] | None:
    names = [item.get(name) if isinstance(item, dict) else None for item in items]
    found = [n for n in names if isinstance(n, str)]
    return found if len(found) == len(names) == len(set(found)) else None


def _diff_lists(old: list[Any], new: list[Any], path: tuple[Segment, ...]) -> Iterator[FieldChange]:
    if all(_scalar(v) for v in [*old, *new]):
        yield FieldChange(path, old, new)  # a list of scalars is one value (args, vendors, sourceRepos)
        return
    name = identity_field(old, new)
    if name is None:
        yield from _aligned(old, new, path)
        return
    before = {item[name]: item for item in old}
    after = {item[name]: item for item in new}
    common_old = [n for n in before if n in after]
    common_new = [n for n in after if n in before]
    if common_old != common_new:
        yield FieldChange(path, common_old, common_new, ORDER_NOTE)
    for key in [*after, *(n for n in before if n not in after)]:
        yield from _diff(before.get(key, ABSENT), after.get(key, ABSENT), (*path, Item(name, key)))


def _aligned(old: list[Any], new: list[Any], path: tuple[Segment, ...]) -> Iterator[FieldChange]:
    """Unnamed items, by index once the lists are aligned on their equal items: an item inserted or removed is one
    change (at its index in the new list, or the old one), not a shift of every item after it."""
    matcher = difflib.SequenceMatcher(None, [_canonical(v) for v in old], [_canonical(v) for v in new],
                                      autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        paired = min(i2 - i1, j2 - j1)
        for k in range(paired):
            yield from _diff(old[i1 + k], new[j1 + k], (*path, j1 + k))
        for i in range(i1 + paired, i2):
            yield FieldChange((*path, i), old[i], ABSENT)
        for j in range(j1 + paired, j2):
            yield FieldChange((*path, j), ABSENT, new[j])


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr)


def count(changes: Sequence[ObjectChange]) -> dict[str, int]:
    """How many objects were added, removed and changed."""
    return {kind: sum(1 for c in changes if c.change == kind) for kind in ("added", "removed", "changed")}
