"""The strict schema check: an object against the schema of its apiVersion and kind (a release CRD, an Argo CD
CRD or a Kubernetes core kind), unknown fields rejected as the API server's strict field validation does."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import jsonschema_rs

from generator import catalog
from generator.catalog.charts import chart_facts
from generator.check.apiserver import admit, with_defaults
from generator.check.cel.rule import check_cel
from generator.check.validators.error_text import error_messages, non_json_path, out_of_range
from generator.check.validators.kinds import Schemas
from generator.core.finding import Finding, dotted
from generator.core.rules import define

SCHEMA = define("schema", "error", "the object violates the strict schema of its apiVersion/kind (CRD of the release, "
                "Argo CD CRD or Kubernetes core schema): unknown field, type (also an integer beyond int64, or beyond "
                "the Go type of a built-in's field), pattern, enum, required", "schema")
UNKNOWN_KIND = define("unknown-kind", "warning", "no schema for the apiVersion/kind in this release (an error with "
                      "--strict, or for a network-operator kind of other releases: NicNodePolicy before v26.4)",
                      "schema")


# What the API server calls blocking errors: with one of them it does not evaluate the CEL rules (the object does not
# have the shape they were written for). Type, required, enum, maxLength, maxItems/maxProperties; an int-or-string;
# an integer beyond the Go type it is decoded into (a type error there).
_KINDS = jsonschema_rs.ValidationErrorKind
_BLOCKING = tuple(getattr(_KINDS, name) for name in
                  ("Type", "Required", "Enum", "MaxLength", "MaxItems", "MaxProperties", "AnyOf"))
# The errors decoding finds in a status the API server then drops (apiserver.Admission.status): a custom resource's
# unknown fields (strict field validation prunes the whole object first); a built-in's Go types too.
_DECODING = {"custom": (_KINDS.AdditionalProperties,),
             "core": (_KINDS.AdditionalProperties, _KINDS.Type, _KINDS.Format, _KINDS.AnyOf)}


@dataclass
class Checked:
    """One object's schema findings, whether one keeps the API server from evaluating CEL rules, and the object
    as the API server stores it (what every other check looks at)."""

    findings: list[Finding]
    blocking: bool
    stored: Any


def check_schema(obj: Any, schemas: Schemas, index: int = -1, *, partial: bool = False) -> list[Finding]:
    """Findings for one object; [] when it is valid. ``partial``: a kustomize patch, which may leave out
    required fields (only unknown fields, types and values are checked)."""
    return check_object(obj, schemas, index, partial=partial).findings


def schema_findings(obj: Any, schemas: Schemas, index: int = -1, *,
                    partial: bool = False) -> tuple[list[Finding], bool]:
    """``check_schema``'s findings, and whether one of them keeps the API server from evaluating CEL rules."""
    checked = check_object(obj, schemas, index, partial=partial)
    return checked.findings, checked.blocking


def check_created(obj: Any, schemas: Schemas, index: int = -1) -> list[Finding]:
    """What the API server refuses of an object it creates: the strict schema, then, unless a schema error keeps
    it from evaluating them, the CEL rules of the object's CRD (rule ``cel``) on the object as it stores it."""
    checked = check_object(obj, schemas, index)
    if checked.blocking or not isinstance(checked.stored, dict):
        return checked.findings
    return checked.findings + check_cel(checked.stored, schemas, index)


def _unchecked(obj: Any, schemas: Schemas, index: int) -> list[Finding]:
    """Why an object cannot be validated (not a mapping, no apiVersion or kind, no schema), or []."""
    if not isinstance(obj, dict):
        return [SCHEMA.at((), f"a Kubernetes object must be a mapping, got {type(obj).__name__}", index)]
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    missing = [name for name, value in (("apiVersion", api_version), ("kind", kind))
               if not isinstance(value, str) or not value]
    if missing:
        return [SCHEMA.at((name,), f"missing or empty '{name}'", index) for name in missing]
    assert isinstance(api_version, str) and isinstance(kind, str)
    if schemas.validator(api_version, kind) is not None:
        return []
    served = schemas.served(kind)
    if served:
        return [SCHEMA.at(("apiVersion",), f"{kind} is not served as {api_version!r}; use "
                          + " or ".join(repr(v) for v in sorted(set(served))) + f" ({schemas.describe()})", index)]
    elsewhere = _releases_with(api_version.rpartition("/")[0], kind)
    if elsewhere and schemas.release not in elsewhere:  # the operator's own kind, of other releases
        return [UNKNOWN_KIND.at((), f"{kind} is not a kind of network-operator {schemas.release}: its CRD comes "
                                    f"with {_span(elsewhere)}, so the API server has no such kind; upgrade, or "
                                    "remove the object", index, "error")]
    return [UNKNOWN_KIND.at((), f"no schema for {api_version} {kind} ({schemas.describe()}, Kubernetes "
                                f"{schemas.kube_version}); not validated", index)]


def check_object(obj: Any, schemas: Schemas, index: int = -1, *, partial: bool = False) -> Checked:
    """The strict schema check of one object as the API server makes it: on the object it decodes (nulls dropped
    or defaulted, metadata decoded, a cluster-scoped kind's namespace cleared; generator.check.apiserver), with its
    ObjectMeta rules, and a status it drops checked only as far as decoding goes."""
    unchecked = _unchecked(obj, schemas, index)
    if unchecked:
        return Checked(unchecked, True, obj)
    validator = schemas.validator(obj["apiVersion"], obj["kind"])
    admission = admit(obj, schemas, index, patch=partial)
    validated = admission.validated
    custom = None if partial else schemas.custom(obj["apiVersion"], obj["kind"])
    if custom is not None:  # decoding sets the CRD's defaults before validation: a defaulted field is not missing
        validated = with_defaults(validated, custom.openapi)
    try:
        if validator.is_valid(validated):
            return Checked(admission.findings, admission.blocking, admission.stored)
        errors = list(validator.iter_errors(validated))
    except ValueError as exc:
        where = non_json_path(obj)
        what = f"a {where[1]}" if where else "a value"
        return Checked([SCHEMA.at(where[0] if where else (), f"{what} cannot be represented in JSON (quote it in "
                                  f"YAML?): {exc}", index)], True, obj)
    if admission.status:
        errors = [e for e in errors if tuple(e.instance_path)[:1] != ("status",)
                  or isinstance(e.kind, _DECODING[admission.status])
                  or (admission.status == "core" and out_of_range(e.kind))]
    problems = {(p.path, p.message) for error in errors for p in error_messages(error) if not (partial and p.missing)}
    blocking = admission.blocking or any(isinstance(e.kind, _BLOCKING) or out_of_range(e.kind) for e in errors)
    found = [SCHEMA.at(path, message, index) for path, message in sorted(problems, key=lambda p: (dotted(p[0]), p[1]))]
    return Checked(admission.findings + found, blocking, admission.stored)


@functools.cache
def _releases_with(group: str, kind: str) -> tuple[str, ...]:
    """The catalog releases whose chart installs the network operator's own CRD of this kind (mellanox.com)."""
    if group != "mellanox.com":
        return ()
    return tuple(tag for tag in catalog.load().release_tags
                 if any(c.group == group and c.kind == kind for c in chart_facts(tag).crds))


def _span(tags: tuple[str, ...]) -> str:
    everything = catalog.load().release_tags
    if tags[-1] == everything[-1]:
        return f"{tags[0]} and later"
    return tags[0] if len(tags) == 1 else f"{tags[0]} to {tags[-1]}"
