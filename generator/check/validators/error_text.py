"""jsonschema_rs errors -> readable messages with structured paths (the raw Quantity regex becomes "not a
Kubernetes quantity", an int-or-string anyOf "must be an integer or a string", and so on)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NamedTuple

import jsonschema_rs

from generator.check.validators.crd import (
    DNS1123_LABEL,
    DNS1123_SUBDOMAIN,
    INT32,
    INT64,
    LABEL_VALUE,
    QUALIFIED_NAME,
    QUANTITY_PATTERN,
)
from generator.core.finding import JsonPath

_MAX_VALUE_CHARS = 60

_PATTERN_NAMES = {
    QUANTITY_PATTERN: "not a Kubernetes quantity (e.g. 500m, 4Gi)",
    DNS1123_SUBDOMAIN: "not a valid DNS-1123 subdomain (lowercase letters, digits, '-' and '.'; "
    "starts and ends with a letter or digit)",
    DNS1123_LABEL: "not a valid DNS-1123 label (lowercase letters, digits and '-'; "
    "starts and ends with a letter or digit)",
    QUALIFIED_NAME: "not a valid label/annotation key ([prefix/]name; name: letters, digits, '-', '_', '.')",
    LABEL_VALUE: "not a valid label value (letters, digits, '-', '_', '.'; at most 63 characters)",
}


def _show(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 3] + "..."


def _is_int_or_string(kind: Any) -> bool:
    """An anyOf/oneOf whose branches are exactly 'integer' and 'string' type checks."""
    types: set[str] = set()
    for branch in getattr(kind, "context", None) or []:
        if len(branch) != 1 or not isinstance(branch[0].kind, jsonschema_rs.ValidationErrorKind.Type):
            return False
        types.update(branch[0].kind.types)
    return types == {"integer", "string"}


class Problem(NamedTuple):
    path: JsonPath
    message: str
    missing: bool = False  # a required field is absent (a kustomize patch may leave it out)


def _unknown_fields(error: Any, kind: Any, path: JsonPath) -> list[Problem]:
    return [Problem((*path, name), f"unknown field '{name}' (strict field validation rejects it)")
            for name in kind.unexpected]


def _missing_field(error: Any, kind: Any, path: JsonPath) -> list[Problem]:
    return [Problem((*path, kind.property), f"missing required field '{kind.property}'", missing=True)]


def _pattern(error: Any, kind: Any, path: JsonPath) -> list[Problem]:
    described = _PATTERN_NAMES.get(kind.pattern)
    if described:
        return [Problem(path, f"{_show(error.instance)} is {described}")]
    return [Problem(path, f"{_show(error.instance)} does not match the pattern {kind.pattern}")]


def _alternatives(error: Any, kind: Any, path: JsonPath) -> list[Problem]:
    """An anyOf or oneOf no branch of which matches."""
    kinds = jsonschema_rs.ValidationErrorKind
    if _is_int_or_string(kind):
        return [Problem(path, f"must be an integer or a string, got {_show(error.instance)}")]
    context = getattr(kind, "context", None) or []
    if context and all(len(b) == 1 and isinstance(b[0].kind, kinds.Required) for b in context):
        fields = ", ".join(sorted({b[0].kind.property for b in context}))
        return [Problem(path, f"needs at least one of the fields: {fields}")]
    # If exactly one branch has the right type, its errors are the useful ones.
    branches = [b for b in context if not (len(b) == 1 and isinstance(b[0].kind, kinds.Type))]
    if len(branches) == 1:
        return [problem for sub in branches[0] for problem in error_messages(sub)]
    return [Problem(path, f"{_show(error.instance)} matches none of the allowed forms")]


def _enum(error: Any, kind: Any, path: JsonPath) -> list[Problem]:
    allowed = ", ".join(_show(v) for v in kind.options)
    return [Problem(path, f"{_show(error.instance)} is not an allowed value (allowed: {allowed})")]


def _constant(error: Any, kind: Any, path: JsonPath) -> list[Problem]:
    return [Problem(path, f"must be {_show(kind.expected_value)}, got {_show(error.instance)}")]


def _type(error: Any, kind: Any, path: JsonPath) -> list[Problem]:
    wanted = " or ".join(kind.types)
    return [Problem(path, f"{_show(error.instance)} is not of type {wanted}")]


def _key_name(error: Any, kind: Any, path: JsonPath) -> list[Problem]:
    """A mapping key the schema's propertyNames rejects."""
    inner = kind.error
    inner_kind = inner.kind
    if isinstance(inner_kind, jsonschema_rs.ValidationErrorKind.Pattern) and inner_kind.pattern in _PATTERN_NAMES:
        return [Problem(path, f"key {_show(inner.instance)} is {_PATTERN_NAMES[inner_kind.pattern]}")]
    return [Problem(path, f"key {_show(inner.instance)}: {inner.message}")]


_KINDS = jsonschema_rs.ValidationErrorKind


def out_of_range(kind: Any) -> str:
    """The Go integer type whose range a Minimum/Maximum error's limit is ("int64", "int32"), or ""."""
    if isinstance(kind, (_KINDS.Minimum, _KINDS.Maximum)):
        for name, limits in (("int64", INT64), ("int32", INT32)):
            if kind.limit in limits:
                return name
    return ""


def _bound(error: Any, kind: Any, path: JsonPath) -> list[Problem]:
    """A number beyond a minimum or maximum: the schema's own, or the range of the integer it is decoded into."""
    go_type = out_of_range(kind)
    if go_type == "int64":
        return [Problem(path, f"{_show(error.instance)} does not fit a 64-bit integer: the API server decodes it as a "
                              "floating-point number and refuses it (must be of type integer)")]
    if go_type == "int32":
        return [Problem(path, f"{_show(error.instance)} does not fit the 32-bit integer (int32) this field is decoded "
                              "into: the API server refuses it")]
    return [Problem(path, str(error.message))]


_Describe = Callable[[Any, Any, JsonPath], list[Problem]]
# (error kind, what says it), tried in order; any other kind keeps jsonschema_rs's own message
_DESCRIBE: tuple[tuple[type | tuple[type, ...], _Describe], ...] = (
    (_KINDS.AdditionalProperties, _unknown_fields),
    (_KINDS.Required, _missing_field),
    (_KINDS.Pattern, _pattern),
    ((_KINDS.AnyOf, _KINDS.OneOfNotValid), _alternatives),
    (_KINDS.Enum, _enum),
    (_KINDS.Constant, _constant),
    (_KINDS.Type, _type),
    (_KINDS.PropertyNames, _key_name),
    ((_KINDS.Minimum, _KINDS.Maximum), _bound),
)


def error_messages(error: Any) -> list[Problem]:
    """The readable problems of one jsonschema_rs error."""
    kind = error.kind
    path: JsonPath = tuple(error.instance_path)
    for kinds, describe in _DESCRIBE:
        if isinstance(kind, kinds):
            return describe(error, kind, path)
    message = str(error.message)
    if len(message) > 300:
        message = message[:297] + "..."
    return [Problem(path, message)]


def non_json_path(value: Any, path: JsonPath = ()) -> tuple[JsonPath, str] | None:
    """Where the first value JSON cannot represent is, and its type name."""
    if isinstance(value, dict):
        for key, sub in value.items():
            if not isinstance(key, str):
                return (*path, str(key)), f"{type(key).__name__} mapping key"
            found = non_json_path(sub, (*path, key))
            if found:
                return found
        return None
    if isinstance(value, list):
        for index, sub in enumerate(value):
            found = non_json_path(sub, (*path, index))
            if found:
                return found
        return None
    if value is None or isinstance(value, (str, bool, int, float)):
        return None
    return path, type(value).__name__
