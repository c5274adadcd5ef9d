"""The ``cel`` lint rule: the ``x-kubernetes-validations`` rules of an object's CRD, evaluated as the API server
evaluates them on create, and on update (``gen lint --against``, ``gen check``) against the object's previous
version, so that transition rules (``self == oldSelf``: an immutable field) run too.

Validators are compiled once per CRD version per process, on first use, from the raw ``openAPIV3Schema`` of the
locked CRD files (``generator.check.validators.kinds``); kinds without rules cost one dictionary lookup.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from generator.check.cel.validations import Failure
from generator.check.validators.kinds import Schemas
from generator.core.finding import Finding
from generator.core.rules import define

if TYPE_CHECKING:
    from generator.check.cel.validator import CrdValidator

CEL = define("cel", "error", "an x-kubernetes-validations (CEL) rule of the object's CRD fails as the API server "
             "evaluates it: on create, and on update against the object's version at a git ref (gen lint --against, "
             "gen check) for transition rules such as immutable fields; an unchanged failing value is a warning",
             "schema")

# reason -> how the API server's field error says it (k8s.io/apimachinery/pkg/util/validation/field)
_REASONS = {"FieldValueForbidden": "Forbidden", "FieldValueRequired": "Required value",
            "FieldValueDuplicate": "Duplicate value"}

_VALIDATORS: dict[int, tuple[Mapping[str, Any], CrdValidator]] = {}  # id(raw schema) -> (it, its validator)


def validator_for(schemas: Schemas, api_version: Any, kind: Any) -> CrdValidator | None:
    """The compiled ``CrdValidator`` of a custom kind with CEL rules; None for every other kind."""
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return None
    custom = schemas.custom(api_version, kind)
    if custom is None or not custom.cel_rules_dropped:
        return None
    found = _VALIDATORS.get(id(custom.openapi))
    if found is None:
        from generator.check.cel.validator import CrdValidator  # imports the CEL engine: only when a rule is due

        found = _VALIDATORS[id(custom.openapi)] = (custom.openapi, CrdValidator(custom.openapi))
    return found[1]


def needs_previous(obj: Any, schemas: Schemas) -> bool:
    """Whether the object's previous version could change its findings (so it is worth looking up): it has a value
    a transition rule sits on, or it fails a CEL rule (an unchanged value would be ratcheted)."""
    if not isinstance(obj, dict):
        return False
    validator = validator_for(schemas, obj.get("apiVersion"), obj.get("kind"))
    return validator is not None and validator.wants_old(obj)


def message_of(failure: Failure) -> str:
    """The rule's message as the API server words the field error, and what an update changes about it."""
    text = failure.message
    if failure.reason in _REASONS:
        text = f"{_REASONS[failure.reason]}: {text}"
    if failure.warning:
        return (f"{text} (unchanged from the previous version, which the API server lets through on update; it "
                "refuses the object on create)")
    if failure.transition:
        return f"{text} (the API server refuses this update: rule '{failure.rule.strip()}' fails against the " \
               "previous version)"
    return text


def check_cel(obj: Any, schemas: Schemas, index: int = -1, old: Any = None) -> list[Finding]:
    """Findings of the object's CEL rules; ``old``: its previous version (an update), None for a create."""
    validator = validator_for(schemas, obj.get("apiVersion"), obj.get("kind")) if isinstance(obj, dict) else None
    if validator is None:
        return []
    from generator.check.cel.values import MISSING

    failures = validator.validate(obj, old if isinstance(old, dict) else MISSING)
    return [CEL.at(f.path, message_of(f), index, "warning" if f.warning else None) for f in failures]
