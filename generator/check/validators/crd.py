"""CRD ``openAPIV3Schema`` -> strict JSON Schema (Draft 2020-12).

The API server checks custom resources against the CRD's structural schema and, under strict
field validation (what Argo CD and ``kubectl apply --validate=strict`` use), rejects unknown
fields. A raw ``openAPIV3Schema`` used as JSON Schema accepts them, so this module closes it:

- ``additionalProperties: false`` on every object node with ``properties``, unless the node
  says ``x-kubernetes-preserve-unknown-fields: true`` or already sets ``additionalProperties``;
- the root is closed too, with ``apiVersion``/``kind`` pinned by ``const`` and
  ``required: [apiVersion, kind, metadata]``; ``metadata`` (a bare ``type: object`` in a CRD) is
  replaced by a strict ObjectMeta schema;
- ``x-kubernetes-int-or-string`` -> ``anyOf: [integer, string]``; ``nullable`` -> null allowed;
- an ``integer`` is bounded to int64: the API server decodes a JSON integer beyond it as a float64, which its
  type check refuses (k8s.io/apimachinery/pkg/util/json convertNumber; kube-openapi validate/type.go: a float is an
  integer only up to 2^53);
- ``x-kubernetes-embedded-resource`` -> ``apiVersion``/``kind``/``metadata`` allowed;
- ``x-kubernetes-validations`` (CEL) are dropped and counted: ``generator.check.cel`` evaluates them, on the raw
  ``openAPIV3Schema`` that ``ConvertedSchema.openapi`` keeps;
- descriptions are dropped (smaller schemas, faster compiles).

Everything here is a pure function of its input; the input is never mutated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DRAFT = "https://json-schema.org/draft/2020-12/schema"

QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|"
    r"([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
DNS1123_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DNS1123_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
# Label / annotation keys: optional DNS-subdomain prefix + "/" + name (Kubernetes "qualified name").
QUALIFIED_NAME = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$"
)
LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
INT64 = (-(2**63), 2**63 - 1)
INT32 = (-(2**31), 2**31 - 1)

_SCHEMA_MAP_KEYS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_LIST_KEYS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_KEYS = ("additionalProperties", "items", "not", "additionalItems", "contains", "propertyNames")
_DROP_KEYS = frozenset({"description", "x-kubernetes-validations", "nullable"})


def _owner_reference() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "name": {"type": "string"},
            "uid": {"type": "string"},
            "controller": {"type": "boolean"},
            "blockOwnerDeletion": {"type": "boolean"},
        },
        "required": ["apiVersion", "kind", "name", "uid"],
        "additionalProperties": False,
    }


def bounded(node: dict[str, Any], limits: tuple[int, int] = INT64) -> dict[str, Any]:
    """An integer schema node bounded to what the API server decodes it into (keeping tighter bounds of its own)."""
    low, high = limits
    if not (isinstance(node.get("minimum"), (int, float)) and node["minimum"] >= low):
        node["minimum"] = low
    if not (isinstance(node.get("maximum"), (int, float)) and node["maximum"] <= high):
        node["maximum"] = high
    return node


def _managed_fields_entry() -> dict[str, Any]:
    """metav1.ManagedFieldsEntry as JSON decodes it: a value of another type is an error the API server refuses
    the object with (apiextensions-apiserver pkg/apiserver/schema/objectmeta/coerce.go GetObjectMeta, without
    dropping malformed fields on a request)."""
    string: dict[str, Any] = {"type": "string"}
    return {
        "type": "object",
        "properties": {"manager": string, "operation": string, "apiVersion": string,
                       "time": {"type": "string", "format": "date-time"}, "fieldsType": string,
                       "fieldsV1": {"type": "object"}, "subresource": string},
        "additionalProperties": False,
    }


def object_meta_schema() -> dict[str, Any]:
    """A strict ObjectMeta: what the API server accepts in ``metadata`` (unknown fields rejected), each field of
    the type metav1.ObjectMeta decodes it into. Nulls are the API server's to drop (generator.check.apiserver)."""
    nullable_time: dict[str, Any] = {"type": ["string", "null"], "format": "date-time"}
    return {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 253, "pattern": DNS1123_SUBDOMAIN},
            "generateName": {"type": "string"},
            "namespace": {"type": "string", "maxLength": 63, "pattern": DNS1123_LABEL},
            "labels": {
                "type": "object",
                "propertyNames": {"maxLength": 316, "pattern": QUALIFIED_NAME},
                "additionalProperties": {"type": "string", "maxLength": 63, "pattern": LABEL_VALUE},
            },
            "annotations": {
                "type": "object",
                "propertyNames": {"maxLength": 316, "pattern": QUALIFIED_NAME},
                "additionalProperties": {"type": "string"},
            },
            "finalizers": {"type": "array", "items": {"type": "string"}},
            "ownerReferences": {"type": "array", "items": _owner_reference()},
            "uid": {"type": "string"},
            "resourceVersion": {"type": "string"},
            "generation": bounded({"type": "integer"}),
            "selfLink": {"type": "string"},
            # kubectl/kustomize emit `creationTimestamp: null`; the API server accepts it.
            "creationTimestamp": nullable_time,
            "deletionTimestamp": nullable_time,
            "deletionGracePeriodSeconds": bounded({"type": ["integer", "null"]}),
            "managedFields": {"type": "array", "items": _managed_fields_entry()},
        },
        "additionalProperties": False,
    }


@dataclass(frozen=True)
class ConvertedSchema:
    """One served version of one CRD, converted."""

    group: str
    version: str
    kind: str
    schema: dict[str, Any]
    cel_rules_dropped: int
    closed_objects: int  # nodes that got additionalProperties: false
    openapi: Mapping[str, Any] = field(default_factory=dict, compare=False)  # the raw schema (CEL rules, defaults)
    status_subresource: bool = False  # the version declares subresources.status: status is not written with it

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


@dataclass
class _Stats:
    cel: int = 0
    closed: int = 0


def _convert_node(node: Any, stats: _Stats) -> Any:
    """Convert one schema node (recursively); returns a new object."""
    if not isinstance(node, Mapping):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "x-kubernetes-validations":
            stats.cel += len(value) if isinstance(value, list) else 1
            continue
        if key in _DROP_KEYS:
            continue
        if key in _SCHEMA_MAP_KEYS and isinstance(value, Mapping):
            out[key] = {name: _convert_node(sub, stats) for name, sub in value.items()}
        elif key in _SCHEMA_LIST_KEYS and isinstance(value, list):
            out[key] = [_convert_node(sub, stats) for sub in value]
        elif key in _SCHEMA_KEYS and isinstance(value, (Mapping, list)):
            if isinstance(value, list):  # legacy tuple-form items
                out[key] = [_convert_node(sub, stats) for sub in value]
            else:
                out[key] = _convert_node(value, stats)
        else:
            out[key] = value  # data (enum, default, example, ...) or a scalar keyword
    _apply_markers(node, out, stats)
    return out


def _apply_markers(node: Mapping[str, Any], out: dict[str, Any], stats: _Stats) -> None:
    """The node's x-kubernetes-* markers and ``nullable`` in JSON Schema terms on ``out``; its integers bounded;
    its object closed."""
    preserve = node.get("x-kubernetes-preserve-unknown-fields") is True

    if node.get("x-kubernetes-embedded-resource") is True:
        props = dict(out.get("properties", {}))
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
        props.setdefault("metadata", object_meta_schema())
        out["properties"] = props

    if node.get("x-kubernetes-int-or-string") is True:
        out.pop("type", None)
        if "anyOf" not in out:
            out["anyOf"] = [bounded({"type": "integer"}), {"type": "string"}]

    if node.get("nullable") is True:
        _allow_null(out)

    kind = out.get("type")
    if kind == "integer" or (isinstance(kind, list) and "integer" in kind):
        bounded(out)

    if "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
        stats.closed += 1


def _allow_null(out: dict[str, Any]) -> None:
    kind = out.get("type")
    if isinstance(kind, str):
        out["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        out["type"] = [*kind, "null"]
    if isinstance(out.get("enum"), list) and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    if "type" not in out and isinstance(out.get("anyOf"), list):
        out["anyOf"] = [*out["anyOf"], {"type": "null"}]


def strict_schema(openapi: Mapping[str, Any], group: str, version: str, kind: str,
                  status_subresource: bool = False) -> ConvertedSchema:
    """Convert one ``openAPIV3Schema`` into a closed Draft 2020-12 JSON Schema for ``kind``."""
    stats = _Stats()
    root = _convert_node(openapi, stats)
    props = dict(root.get("properties", {}))
    api_version = f"{group}/{version}" if group else version
    props["apiVersion"] = {"type": "string", "const": api_version}
    props["kind"] = {"type": "string", "const": kind}
    props["metadata"] = object_meta_schema()
    root["properties"] = props
    root["type"] = "object"
    if root.get("additionalProperties") is not False:
        if "additionalProperties" not in root:
            stats.closed += 1
        root["additionalProperties"] = False
    required = [name for name in root.get("required", []) if name not in ("apiVersion", "kind", "metadata")]
    root["required"] = ["apiVersion", "kind", "metadata", *required]
    root.pop("x-kubernetes-preserve-unknown-fields", None)
    schema = {"$schema": DRAFT, **root}
    return ConvertedSchema(group, version, kind, schema, stats.cel, stats.closed, openapi, status_subresource)


def convert_crd(crd: Mapping[str, Any]) -> list[ConvertedSchema]:
    """Every served version of a CRD (``apiextensions.k8s.io/v1``), converted.

    Raises ``ValueError`` if the document is not a CRD or a served version has no schema.
    """
    if crd.get("kind") != "CustomResourceDefinition":
        raise ValueError(f"not a CustomResourceDefinition: kind={crd.get('kind')!r}")
    spec = crd.get("spec") or {}
    group = str(spec.get("group", ""))
    kind = str((spec.get("names") or {}).get("kind", ""))
    if not kind:
        raise ValueError("CRD has no spec.names.kind")
    result: list[ConvertedSchema] = []
    shared = (spec.get("validation") or {}).get("openAPIV3Schema")  # v1beta1 form
    shared_subresources = spec.get("subresources")  # v1beta1 form
    for entry in spec.get("versions") or []:
        if entry.get("served") is False:
            continue
        openapi = (entry.get("schema") or {}).get("openAPIV3Schema") or shared
        if openapi is None:
            raise ValueError(f"CRD {kind} version {entry.get('name')} has no openAPIV3Schema")
        subresources = entry.get("subresources") or shared_subresources
        status = isinstance(subresources, Mapping) and isinstance(subresources.get("status"), Mapping)
        result.append(strict_schema(openapi, group, str(entry["name"]), kind, status))
    return result
