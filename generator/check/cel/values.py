"""Unstructured JSON -> the values a CEL rule sees, following the schema (k8s.io/apiserver/pkg/cel/common).

- properties are escaped (``x-y`` -> ``x__dash__y``, ``namespace`` -> ``__namespace__``); a name CEL cannot
  spell is left out;
- schema defaults are applied (the API server defaults an object before it validates it);
- ``number`` becomes a double, ``x-kubernetes-int-or-string`` stays as it is, ``format: byte`` becomes bytes;
- null values of non-nullable fields are dropped (the API server prunes them);
- ``metadata`` at a resource root (or an embedded resource) shows only ``name`` and ``generateName``.

``date``, ``date-time`` and ``duration`` strings stay strings: cel-expr-python takes timestamps and durations
only as protobuf messages, and no rule of the pinned CRDs compares them.
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from generator.check.cel.validations import Schema

MISSING: Any = object()  # no value (absent field, no old object); distinct from null

_RESERVED = frozenset({
    "true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function", "if", "import",
    "let", "loop", "package", "namespace", "return", "var", "void", "while",
})
_SIMPLE_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ESCAPABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-/]*")
_EXPAND = re.compile(r"__|[-./]")
_EXPANSIONS = {"__": "__underscores__", ".": "__dot__", "-": "__dash__", "/": "__slash__"}


def escape_name(name: str) -> str | None:
    """The CEL field name of a property, or None when the property cannot be accessed from CEL."""
    if name in _RESERVED:
        return f"__{name}__"
    if _SIMPLE_IDENT.fullmatch(name) and "__" not in name:
        return name
    if not _ESCAPABLE.fullmatch(name):
        return None
    return _EXPAND.sub(lambda m: _EXPANSIONS[m.group(0)], name)


def default_of(schema: Schema) -> Any:
    return copy.deepcopy(schema["default"]) if "default" in schema else MISSING


@dataclass
class _Plan:
    """How to convert the values of one schema node (computed once per node)."""

    kind: str  # scalar | number | bytes | object | map | array | empty
    schema: Schema
    fields: dict[str, tuple[str, Schema]] = field(default_factory=dict)  # property -> (CEL name, schema)
    defaults: list[tuple[str, str, Schema]] = field(default_factory=list)  # (property, CEL name, schema)
    nullable: frozenset[str] = frozenset()  # properties that may hold null
    root: bool = False  # resource root or embedded resource: metadata limited to name/generateName
    preserve: bool = False  # x-kubernetes-preserve-unknown-fields: unknown fields kept
    element: Schema | None = None  # array items / map values


def _plan(schema: Schema, root: bool) -> _Plan:
    typ = schema.get("type")
    if schema.get("x-kubernetes-int-or-string"):
        return _Plan("scalar", schema)
    if typ == "object" or (typ is None and ("properties" in schema or "additionalProperties" in schema)):
        props = schema.get("properties")
        root = root or bool(schema.get("x-kubernetes-embedded-resource"))
        if isinstance(props, Mapping) or root:
            props = props if isinstance(props, Mapping) else {}
            fields = {key: (name, sub) for key, sub in props.items()
                      if isinstance(sub, Mapping) and (name := escape_name(key)) is not None}
            defaults = [(key, name, sub) for key, (name, sub) in fields.items() if "default" in sub]
            nullable = frozenset(key for key, (_, sub) in fields.items() if sub.get("nullable"))
            return _Plan("object", schema, fields, defaults, nullable, root=root,
                         preserve=bool(schema.get("x-kubernetes-preserve-unknown-fields")))
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping):
            return _Plan("map", schema, element=extra)
        return _Plan("scalar" if schema.get("x-kubernetes-preserve-unknown-fields") else "empty", schema)
    if typ == "array":
        items = schema.get("items")
        return _Plan("array", schema, element=items) if isinstance(items, Mapping) else _Plan("scalar", schema)
    if typ == "string" and schema.get("format") == "byte":
        return _Plan("bytes", schema)
    if typ == "number":
        return _Plan("number", schema)
    return _Plan("scalar", schema)


class Converter:
    """Turns unstructured JSON values into the Python values the CEL engine receives, following the schema."""

    def __init__(self, apply_defaults: bool = True) -> None:
        self.apply_defaults = apply_defaults
        self._plans: dict[tuple[int, bool], tuple[Schema, _Plan]] = {}

    def plan(self, schema: Schema, resource_root: bool = False) -> _Plan:
        key = (id(schema), resource_root)
        found = self._plans.get(key)
        if found is None:  # the schema is kept with its plan: its id stays its own
            found = self._plans[key] = (schema, _plan(schema, resource_root))
        return found[1]

    def convert(self, value: Any, schema: Schema, resource_root: bool = False) -> Any:
        if value is None:
            return None
        plan = self.plan(schema, resource_root)
        kind = plan.kind
        if kind == "scalar":
            return value
        if kind == "object":
            return self._object(value, plan) if isinstance(value, dict) else value
        if kind == "array":
            assert plan.element is not None
            return [self.convert(v, plan.element) for v in value] if isinstance(value, list) else value
        if kind == "map":
            if not isinstance(value, dict):
                return value
            assert plan.element is not None
            keep_null = bool(plan.element.get("nullable"))
            return {k: self.convert(v, plan.element) for k, v in value.items() if v is not None or keep_null}
        if kind == "number":
            return float(value) if isinstance(value, int) and not isinstance(value, bool) else value
        if kind == "bytes":
            return _bytes(value)
        return {}  # an object without properties: nothing of it is visible to CEL

    def _object(self, value: dict[str, Any], plan: _Plan) -> dict[str, Any]:
        out: dict[str, Any] = {}
        fields = plan.fields
        for key, v in value.items():
            known = fields.get(key)
            if known is None:
                props = plan.schema.get("properties")
                if plan.preserve and v is not None and not (isinstance(props, Mapping) and key in props) \
                        and (name := escape_name(key)) is not None:
                    out[name] = v
                continue
            if v is None and key not in plan.nullable:
                continue  # the API server drops null values of non-nullable fields (and may default them)
            name, sub = known
            if plan.root and key == "metadata" and isinstance(v, dict):
                out[name] = {k: v[k] for k in ("name", "generateName") if isinstance(v.get(k), str)}
            else:
                out[name] = self.convert(v, sub)
        if self.apply_defaults:
            for key, name, sub in plan.defaults:
                if name not in out and value.get(key) is None:
                    out[name] = self.convert(default_of(sub), sub)
        if plan.root:
            for key in ("apiVersion", "kind"):
                if key not in out and isinstance(value.get(key), str):
                    out[key] = value[key]
        return out


def _bytes(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return value
