"""The cluster spec's JSON Schema (``schemas/cluster.schema.json``): what validates a spec, what fills its
defaults, and what editors complete from.

The schema is the one place a spec field's default is written. The parts that restate the catalog (the
release enum and default, the known VM sizes) are generated from it by a maintainer tool
(``python -m maint.regenerate_cluster_schema``), and a test fails when the committed file is stale.
"""

from __future__ import annotations

import copy
import functools
import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema_rs

from generator.core.finding import JsonPath
from generator.core.suggest import did_you_mean

REPO_SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "cluster.schema.json"


def schema_text() -> str:
    """The schema file's text (``gen init`` writes it into a new repo, for editors)."""
    packaged = resources.files("generator.cluster") / "cluster.schema.json"  # in a wheel (pyproject)
    return packaged.read_text("utf-8") if packaged.is_file() else REPO_SCHEMA.read_text("utf-8")


@functools.cache
def cluster_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_text())
    return schema


@functools.cache
def _validator() -> Any:
    return jsonschema_rs.Draft7Validator(cluster_schema(), validate_formats=False)


def node(path: JsonPath) -> dict[str, Any]:
    """The schema node that describes the value at ``path`` ({} where the schema says nothing)."""
    current: Any = cluster_schema()
    for part in path:
        if isinstance(part, int):
            current = current.get("items", {})
            continue
        extra = current.get("additionalProperties")  # a map's values (imageRegistry, imageDigests)
        current = current.get("properties", {}).get(part, extra if isinstance(extra, dict) else {})
    return dict(current)


def _hint(path: JsonPath) -> str:
    described = node(path)
    if "enum" in described:
        return "; accepted values: " + ", ".join(map(str, described["enum"]))
    if described.get("description"):
        return f" ({described['description']})"
    return ""


def _fractional(schema: dict[str, Any], value: Any, path: JsonPath) -> JsonPath | None:
    """The first number where the schema wants an integer and the value is not one (JSON Schema takes 63.0 as an
    integer; the Go programs that read these values do not)."""
    if schema.get("type") == "integer" and isinstance(value, float):
        return path
    if isinstance(value, dict):
        for key, sub in value.items():
            found = _fractional(schema.get("properties", {}).get(key, {}), sub, (*path, key))
            if found is not None:
                return found
    if isinstance(value, list):
        for index, sub in enumerate(value):
            found = _fractional(schema.get("items", {}), sub, (*path, index))
            if found is not None:
                return found
    return None


def _order(err: Any) -> tuple[list[str], int]:
    """Errors by path; at one path, an unknown field before the rest (a misspelled ``vmsize`` is the cause of the
    missing ``vmSize``)."""
    unknown = isinstance(err.kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties)
    return [str(p) for p in err.instance_path], 0 if unknown else 1


def first_error(value: Any) -> tuple[JsonPath, str, bool] | None:
    """The first schema violation of a spec (by path): where, a message that says the fix, and whether it is about a
    mapping key (an unknown field: pointed at the key, not its value)."""
    errors = sorted(_validator().iter_errors(value), key=_order)
    if not errors:
        fractional = _fractional(cluster_schema(), value, ())
        if fractional is not None:
            return fractional, "must be a whole number (the programs that read it take an integer); drop the '.0'", \
                False
        return None
    err = errors[0]
    path: JsonPath = tuple(err.instance_path)
    kind = err.kind
    kinds = jsonschema_rs.ValidationErrorKind
    if isinstance(kind, kinds.AdditionalProperties):
        unknown = sorted(kind.unexpected)[0]
        fields = node(path).get("properties", {})
        hint = did_you_mean(unknown, fields)
        known = ", ".join(sorted(fields))
        return (*path, unknown), f"unknown field '{unknown}'{hint or ';'} known fields here: {known}", True
    if isinstance(kind, kinds.Required):
        return (*path, kind.property), f"required field '{kind.property}' is missing", False
    if isinstance(kind, kinds.Enum):
        return path, f"{json.dumps(err.instance)} is not accepted{_hint(path)}", False
    if isinstance(kind, kinds.Pattern):
        value = err.instance
        odd = isinstance(value, str) and any(not c.isprintable() or c.isspace() for c in value)
        why = " (it holds a space or a control character)" if odd else ""
        return path, f"{json.dumps(value)} does not match the required form{why}{_hint(path)}", False
    return path, str(err.message) + _hint(path), False


def with_defaults(value: dict[str, Any]) -> dict[str, Any]:
    """A copy of a valid spec with every absent field that has a schema ``default`` filled in.

    An absent object is filled in too when something inside it has a default (no ``ipoib:`` still means the
    guide's network), unless the schema marks it ``"x-fill-when-absent": false`` (an opt-in section: no ``gpu:`` means
    no GPU part). Defaults that depend on other fields (the gateway from the range, the IPAM from the
    release) are not in the schema: the loader derives them.
    """
    return _fill(cluster_schema(), copy.deepcopy(value))


def _fill(schema: dict[str, Any], value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    for name, sub in schema.get("properties", {}).items():
        if name in value:
            value[name] = _fill(sub, value[name])
        elif "default" in sub:
            value[name] = copy.deepcopy(sub["default"])
        elif sub.get("type") == "object" and sub.get("x-fill-when-absent", True) and _has_defaults(sub):
            value[name] = _fill(sub, {})
    return value


def _has_defaults(schema: dict[str, Any]) -> bool:
    return any("default" in sub or (sub.get("type") == "object" and _has_defaults(sub))
               for sub in schema.get("properties", {}).values())
