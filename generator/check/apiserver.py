"""What the API server does to an object between decoding it and storing it, and the ObjectMeta rules it applies
that no schema states, so that gen's verdict on an object is the API server's (create and update alike):

- nulls. A custom resource's null in a field that is not nullable is dropped, or replaced by the field's default
  (apiextensions-apiserver pkg/apiserver/schema/defaulting: prunenulls.go PruneNonNullableNullsWithoutDefaults, run
  by customresource_handler.go's unstructuredSchemaCoercer.apply on every request, then algorithm.go Default); a
  null list item is left (and fails its type) unless the items have a default; a null where the schema says nothing
  (an unknown field, preserve-unknown-fields) is left. A built-in is decoded into Go types (encoding/json): a null
  leaves the field's zero value, so it is unset, or '' as a value of a map of strings.
- metadata is decoded into metav1.ObjectMeta (objectmeta/coerce.go GetObjectMeta, not dropping malformed fields on
  a request): a null field is unset, a null label or annotation value is '', any other type is an error (the
  strict ObjectMeta schema of generator.check.validators.crd says which).
- a namespace on a cluster-scoped kind is cleared (k8s.io/apiserver pkg/registry/rest/meta.go
  EnsureObjectNamespaceMatchesRequestNamespace, from rest.BeforeCreate and BeforeUpdate); an empty one is unset.
- the status written with an object whose kind has a status subresource is dropped on create and replaced by the
  stored one on update (customresource/strategy.go PrepareForCreate and PrepareForUpdate when the CRD version
  declares subresources.status; the built-ins' strategies, catalog kube-kinds.yaml statusResetOnCreate). Only
  decoding ever sees it: unknown fields (strict field validation prunes before the status is dropped), and for a
  built-in the Go types.
- ObjectMeta validation (k8s.io/apimachinery pkg/api/validation/objectmeta.go ValidateObjectMetaAccessor, called by
  customresource/validator.go Validate with NameIsDNSSubdomain): a name or a generateName, finalizer names
  (ValidateFinalizers: qualified names; a built-in's must also be fully qualified or standard: kubernetes
  pkg/apis/core/validation ValidateObjectMeta, validateKubeFinalizerName), annotations of at most 256 KiB in all
  (ValidateAnnotationsSize). managedFields the field manager cannot decode are replaced by its own (apimachinery
  pkg/util/managedfields/internal/fieldmanager.go Update, managedfields.go decodeManagedFields).

Where the API server silently changes the object a warning names the field and what it does (``apiserver-changes``):
the object committed is not the object that lands. The ObjectMeta rules are errors (``object-meta``).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from generator.check.cel.named_formats import dns1123_subdomain, qualified_name
from generator.check.validators.kinds import Schemas
from generator.core.finding import Finding, JsonPath
from generator.core.rules import define

CHANGES = define(
    "apiserver-changes", "warning",
    "the API server stores something else than the object says: it drops a null (or sets the field's default), "
    "stores a null label or annotation value as '', clears the namespace of a cluster-scoped kind, ignores the "
    "status written with a kind that has a status subresource, or discards managedFields it cannot decode",
    "schema")
OBJECT_META = define(
    "object-meta", "error",
    "metadata the API server's ObjectMeta validation refuses: neither name nor generateName, a generateName that "
    "is no DNS subdomain prefix, a finalizer name that is not a qualified name (a built-in's: neither standard nor "
    "fully qualified), annotations over 256 KiB in total",
    "schema")

# apimachinery pkg/api/validation/objectmeta.go TotalAnnotationSizeLimitB
ANNOTATIONS_LIMIT = 256 * 1024
# kubernetes pkg/apis/core/validation validateKubeFinalizerName: the finalizers a built-in may name without a '/'
STANDARD_FINALIZERS = ("kubernetes", "orphan", "foregroundDeletion")
# apimachinery pkg/apis/meta/v1 FinalizerOrphanDependents, FinalizerDeleteDependents: never both (ValidateFinalizers)
_EXCLUSIVE_FINALIZERS = ("orphan", "foregroundDeletion")
_SHOWN = 60
_MANAGED_STRINGS = ("manager", "operation", "apiVersion", "fieldsType", "subresource")
# apimachinery's validation.RegexError appends examples and the regex: long, and said by the sentence before it
_REGEX_EXAMPLES = re.compile(r" \(e\.g\. '.*?regex used for validation is '[^']*'\)")


@dataclass
class Admission:
    """An object as the API server validates it (``validated``: status kept, as only decoding sees it) and stores
    it (``stored``), with what gen says about the difference and about its metadata."""

    validated: Any
    stored: Any
    findings: list[Finding] = field(default_factory=list)
    blocking: bool = False  # an ObjectMeta error of a kind that keeps the API server from running CEL rules
    status: str = ""  # the written status only decoding sees: "custom" (unknown fields) or "core" (Go types too)


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = repr(text) if isinstance(value, str) else text
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _has_null(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, dict):
        return any(_has_null(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_null(v) for v in value)
    return False


class _Changes:
    """The warnings of one object, made as its copy is changed."""

    def __init__(self, kind: str, index: int):
        self.kind, self.index = kind, index
        self.found: list[Finding] = []

    def add(self, path: JsonPath, message: str) -> None:
        self.found.append(CHANGES.at(path, message, self.index))


# -- nulls -------------------------------------------------------------------------------------------------------


def _custom_child(node: Any, key: str) -> Any:
    """defaulting/prunenulls.go getSchemaForField: the property's schema, else additionalProperties', else None."""
    if not isinstance(node, Mapping):
        return None
    props = node.get("properties")
    if isinstance(props, Mapping) and isinstance(props.get(key), Mapping):
        return props[key]
    extra = node.get("additionalProperties")
    return extra if isinstance(extra, Mapping) else None


def _custom_nulls(value: Any, node: Any, path: JsonPath, changes: _Changes) -> None:
    """PruneNonNullableNullsWithoutDefaults, then Default for the nulls it left, on ``value`` in place."""
    if isinstance(value, dict):
        for key in list(value):
            if not path and key == "metadata":
                continue  # decoded as ObjectMeta: _metadata
            sub = _custom_child(node, key)
            if value[key] is None and sub is not None and not sub.get("nullable"):
                if sub.get("default") is not None:  # a null default is none (Default.Object == nil)
                    value[key] = copy.deepcopy(sub["default"])
                    changes.add((*path, key), f"null in a field that is not nullable: the API server replaces it with "
                                              f"the field's default {_show(sub['default'])}; write the default, or "
                                              "remove the line")
                else:
                    del value[key]
                    changes.add((*path, key), f"null in a field that is not nullable: the API server drops it, so the "
                                              f"stored {changes.kind} has no '{key}'; remove the line, or set a value")
            else:
                _custom_nulls(value[key], sub, (*path, key), changes)
    elif isinstance(value, list):
        items = node.get("items") if isinstance(node, Mapping) else None
        items = items if isinstance(items, Mapping) else None
        for i, item in enumerate(value):
            if item is None and items is not None and not items.get("nullable") and items.get("default") is not None:
                value[i] = copy.deepcopy(items["default"])
                changes.add((*path, i), f"null list item: the API server replaces it with the items' default "
                                        f"{_show(items['default'])}")
            else:
                _custom_nulls(item, items, (*path, i), changes)


def _core_nulls(value: Any, node: Any, schemas: Schemas, path: JsonPath, changes: _Changes) -> None:
    """A built-in's nulls as encoding/json decodes them into its Go types, on ``value`` in place."""
    core = schemas.core()
    node = core.resolve(node)
    node = node if isinstance(node, Mapping) else {}
    if isinstance(value, dict):
        props = node.get("properties") if isinstance(node.get("properties"), Mapping) else {}
        extra = node.get("additionalProperties")
        for key in list(value):
            if not path and key == "metadata":
                continue
            in_map = key not in props and isinstance(extra, Mapping)
            sub = props.get(key) if key in props else extra if in_map else None
            if value[key] is None and sub is not None:
                _core_null(value, key, core.resolve(sub), in_map, path, changes)
            else:
                _core_nulls(value[key], sub, schemas, (*path, key), changes)
    elif isinstance(value, list):
        items = core.resolve(node.get("items"))
        zero = _ZEROS.get(_scalar_type(items)) if isinstance(items, Mapping) else None
        for i, item in enumerate(value):
            if item is None and zero is not None:  # the Go zero value of the item type ({} validated as such)
                value[i] = copy.deepcopy(zero)
                changes.add((*path, i), f"null list item: the API server decodes it as {_show(zero)}, the item "
                                        "type's zero value; remove it, or write the item")
            else:
                _core_nulls(item, items, schemas, (*path, i), changes)


_ZEROS: dict[str, Any] = {"object": {}, "string": "", "integer": 0, "number": 0, "boolean": False}


def _scalar_type(node: Mapping[str, Any]) -> str:
    """The JSON type of a schema node other than null ("" when it has none, or several)."""
    kind = node.get("type")
    kinds = [kind] if isinstance(kind, str) else [k for k in kind if k != "null"] if isinstance(kind, list) else []
    if not kinds and "properties" in node:
        return "object"
    return kinds[0] if len(kinds) == 1 else ""


def _core_null(value: dict[str, Any], key: str, sub: Any, in_map: bool, path: JsonPath, changes: _Changes) -> None:
    kind = sub.get("type") if isinstance(sub, Mapping) else None
    if in_map and (kind == "string" or (isinstance(kind, list) and "string" in kind)):
        value[key] = ""
        changes.add((*path, key), "null value: the API server stores it as the empty string ''; write '' (or remove "
                                  "the entry)")
        return
    del value[key]
    what = "a zero value" if in_map else "unset (or its default)"
    changes.add((*path, key), f"null: the API server decodes it as {what}, so the stored {changes.kind} has no "
                              f"'{key}' as written; remove the line, or set a value")


def _strip_nulls(value: Any) -> None:
    """A kustomize patch's nulls: deletions, not values (strategic merge)."""
    if isinstance(value, dict):
        for key in [k for k, v in value.items() if v is None]:
            del value[key]
        for v in value.values():
            _strip_nulls(v)
    elif isinstance(value, list):
        for v in value:
            _strip_nulls(v)


# -- metadata ----------------------------------------------------------------------------------------------------


def _metadata(meta: dict[str, Any], cluster_scoped: bool | None, changes: _Changes) -> None:
    """metav1.ObjectMeta as the API server decodes it, and the namespace rest.BeforeCreate leaves; in place."""
    for key in [k for k, v in meta.items() if v is None]:
        del meta[key]
        if key != "creationTimestamp":  # kubectl writes `creationTimestamp: null` itself
            changes.add(("metadata", key), f"null: the API server decodes metadata.{key} as unset; remove the line")
    for key, what in (("labels", "label"), ("annotations", "annotation")):
        entries = meta.get(key)
        if not isinstance(entries, dict):
            continue
        for name in [n for n, v in entries.items() if v is None]:
            entries[name] = ""
            changes.add(("metadata", key, name), f"null {what} value: the API server stores it as the empty "
                                                 "string ''; write '' (or remove the entry)")
    finalizers = meta.get("finalizers")
    if isinstance(finalizers, list):
        meta["finalizers"] = ["" if f is None else f for f in finalizers]
    for key in ("name", "generateName"):
        if meta.get(key) == "":
            del meta[key]  # unset, as Go decodes it: "name or generateName is required" says the rest
    namespace = meta.get("namespace")
    if namespace == "":
        del meta["namespace"]  # unset: the request's namespace (kubectl's, Argo CD's destination)
    elif cluster_scoped and isinstance(namespace, str):
        del meta["namespace"]
        changes.add(("metadata", "namespace"), f"namespace {_show(namespace)} on {changes.kind}, a cluster-scoped "
                                               "kind: the API server clears it and stores the object without a "
                                               "namespace; remove the line")


def _managed_fields_problem(entries: Any) -> str:
    """Why the field manager cannot decode these entries (managedfields.go decodeManagedFields), or "" (also when
    one is of the wrong type: the strict schema's error, which the API server refuses the object with)."""
    entries = entries if isinstance(entries, list) else []
    if not all(isinstance(e, dict) and all(isinstance(e.get(k, ""), str) for k in _MANAGED_STRINGS) for e in entries):
        return ""
    for i, entry in enumerate(entries):
        if entry.get("operation") not in ("Apply", "Update"):
            return f"entry {i}: operation must be Apply or Update"
        if not entry.get("apiVersion"):
            return f"entry {i}: apiVersion must not be empty"
        if entry.get("fieldsType") != "FieldsV1":
            return f"entry {i}: fieldsType must be FieldsV1"
    return ""


def _meta_errors(meta: dict[str, Any], custom: bool, index: int) -> tuple[list[Finding], bool]:
    """ValidateObjectMetaAccessor's errors about a decoded ObjectMeta, and whether one keeps CEL rules from running
    (strategy.go hasBlockingErr: Required, TooLong)."""
    found: list[Finding] = []
    blocking = False
    name, generate = meta.get("name", ""), meta.get("generateName", "")
    if name == "" and generate == "":
        found.append(OBJECT_META.at(("metadata", "name"), "name or generateName is required: the API server refuses "
                                                          "an object with neither", index))
        blocking = True
    if custom and isinstance(generate, str) and generate:  # NameIsDNSSubdomain(generateName, prefix=true)
        masked = generate[:-2] + "a" if len(generate) > 1 and generate.endswith("-") else generate
        if problems := dns1123_subdomain(masked):
            found.append(OBJECT_META.at(("metadata", "generateName"), f"{_show(generate)} is not a valid name prefix: "
                                                                      + _reasons(problems), index))
    found += _finalizer_errors(meta.get("finalizers"), custom, index)
    annotations = meta.get("annotations")
    if isinstance(annotations, dict):
        size = sum(len(k.encode("utf-8", "surrogatepass")) + len(v.encode("utf-8", "surrogatepass"))
                   for k, v in annotations.items() if isinstance(k, str) and isinstance(v, str))
        if size > ANNOTATIONS_LIMIT:
            found.append(OBJECT_META.at(("metadata", "annotations"), f"annotations total {size} bytes (keys and "
                                        f"values): more than the {ANNOTATIONS_LIMIT} (256 KiB) the API server allows; "
                                        "it refuses the object", index))
            blocking = True
    return found, blocking


def _reasons(problems: list[str]) -> str:
    return "; ".join(_REGEX_EXAMPLES.sub("", p) for p in problems)


def _finalizer_errors(finalizers: Any, custom: bool, index: int) -> list[Finding]:
    found: list[Finding] = []
    names = finalizers if isinstance(finalizers, list) else []
    for i, name in enumerate(names):
        if not isinstance(name, str):
            continue  # a type error: the strict schema's
        if problems := qualified_name(name):
            found.append(OBJECT_META.at(("metadata", "finalizers", i), f"finalizer {_show(name)} is not a qualified "
                                        "name (e.g. example.com/cleanup): " + _reasons(problems), index))
        elif not custom and "/" not in name and name not in STANDARD_FINALIZERS:
            found.append(OBJECT_META.at(("metadata", "finalizers", i), f"finalizer {_show(name)} is neither a standard "
                                        "finalizer name (" + ", ".join(STANDARD_FINALIZERS) + ") nor fully qualified "
                                        "(e.g. example.com/cleanup): the API server refuses it on a built-in kind",
                                        index))
    if all(f in names for f in _EXCLUSIVE_FINALIZERS):
        found.append(OBJECT_META.at(("metadata", "finalizers"), "finalizers orphan and foregroundDeletion cannot "
                                                                "both be set", index))
    return found


# -- the object --------------------------------------------------------------------------------------------------


def _own(obj: dict[str, Any], validated: dict[str, Any]) -> dict[str, Any]:
    """``validated``, a copy of ``obj`` down to its metadata (so both may change without touching ``obj``)."""
    if validated is not obj:
        return validated
    out = dict(obj)
    if isinstance(obj.get("metadata"), dict):
        out["metadata"] = dict(obj["metadata"])
    return out


def admit(obj: dict[str, Any], schemas: Schemas, index: int = -1, *, patch: bool = False) -> Admission:
    """What the API server makes of an object of a kind ``schemas`` knows (``patch``: a kustomize patch, whose
    nulls are deletions). ``obj`` itself is never changed."""
    if patch:
        if not _has_null(obj):
            return Admission(obj, obj)
        stripped = copy.deepcopy(obj)
        _strip_nulls(stripped)
        return Admission(stripped, stripped)
    api_version, kind = str(obj.get("apiVersion")), str(obj.get("kind"))
    custom = schemas.custom(api_version, kind)
    changes = _Changes(kind, index)
    validated = obj
    if _has_null(obj):
        validated = copy.deepcopy(obj)
        if custom is not None:
            _custom_nulls(validated, custom.openapi, (), changes)
        else:
            _core_nulls(validated, schemas.core().raw(api_version, kind), schemas, (), changes)
    meta = obj.get("metadata")
    findings: list[Finding] = []
    blocking = False
    if isinstance(meta, dict):
        validated = _own(obj, validated)
        _metadata(validated["metadata"], schemas.cluster_scoped(api_version, kind), changes)
        findings, blocking = _meta_errors(validated["metadata"], custom is not None, index)
        if problem := _managed_fields_problem(validated["metadata"].get("managedFields")):
            changes.add(("metadata", "managedFields"), f"the API server cannot use these managedFields ({problem}): "
                                                       "its field manager discards them and writes its own; remove "
                                                       "them")
    stored, status = validated, ""
    if schemas.status_reset(api_version, kind) and "status" in validated:
        status = "custom" if custom is not None else "core"
        changes.found = [f for f in changes.found if f.path[:1] != ("status",)]  # said once, below
        if validated["status"] not in ({}, None):
            changes.add(("status",), f"{kind} has a status subresource: the API server drops the status written with "
                                     "the object on create and keeps the stored one on update (its controller sets "
                                     "it); remove status")
        stored = {k: v for k, v in validated.items() if k != "status"}
    return Admission(validated, stored, changes.found + findings, blocking, status)


_DEFAULTS_BELOW: dict[int, tuple[Mapping[str, Any], bool]] = {}  # id(schema node) -> (the node, any default below)


def _defaults_below(node: Mapping[str, Any]) -> bool:
    """Whether a schema node has a default anywhere below it (a property's, or deeper through properties,
    additionalProperties and items): where none has, defaulting leaves the value as it is and need not walk it. Kept
    per node (CRD schemas live as long as the process; the node is held so that its id is not reused)."""
    kept = _DEFAULTS_BELOW.get(id(node))
    if kept is not None and kept[0] is node:
        return kept[1]
    props = node.get("properties")
    subs = [sub for sub in (props.values() if isinstance(props, Mapping) else ()) if isinstance(sub, Mapping)]
    found = any(sub.get("default") is not None for sub in subs)
    subs += [child for child in (node.get("additionalProperties"), node.get("items")) if isinstance(child, Mapping)]
    found = found or any(_defaults_below(sub) for sub in subs)
    _DEFAULTS_BELOW[id(node)] = (node, found)
    return found


def _defaulted(value: Any, node: Any) -> Any:
    """defaulting/algorithm.go Default: an object's absent properties get their schema's default, then every
    property, additionalProperties value and list item is defaulted the same way. A new value sharing every part that
    no default reaches (``value`` itself when none does): nothing is copied that stays as it is."""
    if not isinstance(node, Mapping) or not _defaults_below(node):
        return value
    if isinstance(value, dict):
        out: dict[str, Any] | None = None
        props = node.get("properties")
        for key, sub in (props.items() if isinstance(props, Mapping) else ()):
            if key not in value and isinstance(sub, Mapping) and sub.get("default") is not None:
                out = dict(value) if out is None else out
                out[key] = copy.deepcopy(sub["default"])
        for key, item in value.items():
            child = _custom_child(node, key)
            if child is None or not (isinstance(item, (dict, list)) and _defaults_below(child)):
                continue  # no default below: nothing to set in it (a scalar has no absent property to set)
            new = _defaulted(item, child)
            if new is not item:
                out = dict(value) if out is None else out
                out[key] = new
        if out is None:
            return value
        # a default set above is defaulted below too (Default recurses into what it set)
        for key in out.keys() - value.keys():
            out[key] = _defaulted(out[key], _custom_child(node, key))
        return out
    if isinstance(value, list):
        items = node.get("items")
        changed = [_defaulted(item, items) for item in value]
        return changed if any(a is not b for a, b in zip(changed, value, strict=True)) else value
    return value


def with_defaults(obj: Any, schema: Mapping[str, Any]) -> Any:
    """A custom resource as the API server validates it: decoding sets every absent field that has a default in its
    CRD's schema (KEP-575, defaulting for custom resources: "during deserialization", so before validation; a field
    both required and defaulted is never missing). A new object when a default is due, sharing what no default
    reaches; ``obj`` itself is never changed."""
    if not isinstance(obj, dict):
        return obj
    spine = {k: v for k, v in obj.items() if k != "metadata"}  # ObjectMeta has no schema defaults
    out = _defaulted(spine, schema)
    if out is spine:
        return obj
    if "metadata" in obj:
        out["metadata"] = obj["metadata"]
    return out


def stored_form(obj: Any, schemas: Schemas) -> Any:
    """The object as the API server stores it (for a previous version, an update's old object); anything that is
    not an object of a known kind as it is."""
    if not isinstance(obj, dict) or schemas.validator(str(obj.get("apiVersion")), str(obj.get("kind"))) is None:
        return obj
    return admit(obj, schemas).stored
