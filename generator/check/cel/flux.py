"""Flux's health expressions (a Kustomization's or HelmRelease's ``spec.healthCheckExprs``), evaluated the way Flux
evaluates them, with gen's CEL implementation (cel-expr-python, as for the CRDs' rules) in Flux's environment.

What Flux does (fluxcd/pkg runtime/cel: expression.go, status_evaluator.go; cel-go v0.26):

- each expression is *parsed*, not type-checked (a CRD's objects need not have the five usual top-level fields), so
  any name is accepted until it is evaluated;
- the environment: the strings, sets and encoders extensions, optional types, cross-type numeric comparisons; no
  Kubernetes library (no quantity(), url(), isSorted(), ...): a function it lacks is an evaluation error;
- the variables are the object's top-level fields (``status``, ``metadata``, ``spec``, ...): a field the object
  lacks is no variable at all, and naming it is an evaluation error, inside ``has()`` too;
- a status.observedGeneration (an integer) other than metadata.generation is InProgress before any expression runs;
  then inProgress, failed and current, in this order: the first that is true decides; none true is InProgress;
  an error, or a value that is not a bool, is Unknown (kstatus), which Flux waits on like InProgress until the
  Kustomization's timeout.

cel-expr-python's parse-only mode (``disable_check``) resolves names and functions when it evaluates, as cel-go's
does; the sets extension, which it lacks, is implemented here (cel-go ext/sets.go: contains, equivalent,
intersects). tests/check/cel/test_flux.py holds the two to the same verdicts.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

from generator.check.cel.runtime import CelError, normalize_error

CURRENT, IN_PROGRESS, FAILED, UNKNOWN = "current", "inProgress", "failed", "unknown"
ORDER = (IN_PROGRESS, FAILED, CURRENT)  # RFC-0009: the order Flux evaluates the expressions in
EXPRESSIONS = ("current", "inProgress", "failed")  # the fields of a healthCheckExprs entry that hold CEL
MAX_EXPRESSION = 16 * 1024  # characters; a longer expression is refused before it is parsed
_NO_VARIABLE = re.compile(r'No value with name "(.*?)" found in Activation')


def _error(text: str) -> str:
    """cel-cpp's error in cel-go's words (a missing variable is "no such attribute(s)" there)."""
    text = normalize_error(text)
    if match := _NO_VARIABLE.search(text):
        return f"no such attribute(s): {match.group(1)}"
    return text


def _equal(a: Any, b: Any) -> bool:
    """CEL's equality of two list elements: numbers across types (1 == 1.0), but a bool equals only a bool."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _contains(items: Sequence[Any], wanted: Sequence[Any]) -> bool:
    return all(any(_equal(have, want) for have in items) for want in wanted)


class FluxCelEngine:
    """cel-expr-python with the environment of Flux's health expressions."""

    def __init__(self) -> None:
        from cel_expr_python import cel
        from cel_expr_python.ext import ext_encoders, ext_optional, ext_strings

        lists = cel.Type.List(cel.Type.DYN)

        def decl(name: str, overload: str, impl: Any) -> Any:
            return cel.FunctionDecl(name, [cel.Overload(overload, cel.Type.BOOL, [lists, lists], False, impl)])

        sets = cel.CelExtension("sets", [
            decl("sets.contains", "list_sets_contains_list", lambda a, b: _contains(a, b)),
            decl("sets.equivalent", "list_sets_equivalent_list", lambda a, b: _contains(a, b) and _contains(b, a)),
            decl("sets.intersects", "list_sets_intersects_list",
                 lambda a, b: any(_equal(x, y) for x in a for y in b)),
        ])
        self._env = cel.NewEnv(extensions=[ext_strings.ExtStrings(), ext_optional.ExtOptional(),
                                           ext_encoders.ExtEncoders(), sets])
        self._error_type = cel.Type.ERROR

    def compile(self, expr: str) -> Any:
        """A program; CelError when ``expr`` does not parse (what Flux refuses when it builds the status reader)."""
        if len(expr) > MAX_EXPRESSION:
            raise CelError(f"longer than {MAX_EXPRESSION} characters")
        try:
            return self._env.compile(expr, disable_check=True)
        except RuntimeError as exc:
            raise CelError(normalize_error(str(exc))) from None

    def evaluate(self, program: Any, obj: Mapping[str, Any]) -> tuple[Any, str | None]:
        """(result, None), or (None, the error): the object's top-level fields are the variables."""
        try:
            value = program.eval(data=dict(obj))
        except (RuntimeError, TypeError, ValueError) as exc:
            return None, _error(str(exc))
        if value.type() == self._error_type:
            return None, _error(str(value.value()))
        return value.plain_value(), None


@functools.cache
def flux_engine() -> FluxCelEngine:
    return FluxCelEngine()


def _generation_pending(obj: Mapping[str, Any]) -> bool:
    """status.observedGeneration, an integer, other than metadata.generation (an integer): InProgress."""
    status, meta = obj.get("status"), obj.get("metadata")
    if not isinstance(status, Mapping) or not isinstance(meta, Mapping):
        return False
    observed, generation = status.get("observedGeneration"), meta.get("generation")
    integers = all(isinstance(v, int) and not isinstance(v, bool) for v in (observed, generation))
    return integers and observed != generation


def verdict(check: Mapping[str, Any], obj: Mapping[str, Any], engine: FluxCelEngine | None = None) -> tuple[str, str]:
    """What Flux concludes about ``obj`` with one healthCheckExprs entry: (current | inProgress | failed | unknown,
    why). An expression that does not parse is ``CelError`` (Flux refuses the whole Kustomization)."""
    engine = engine or flux_engine()
    if not check.get("current"):
        raise CelError("the expression current is required")
    programs = {key: engine.compile(str(check[key])) for key in EXPRESSIONS if check.get(key)}
    if _generation_pending(obj):
        return IN_PROGRESS, "status.observedGeneration differs from metadata.generation"
    for key in ORDER:
        if key not in programs:
            continue
        result, error = engine.evaluate(programs[key], obj)
        if error is not None:
            return UNKNOWN, f"{key}: {error}"
        if not isinstance(result, bool):
            return UNKNOWN, f"{key} gave {type(result).__name__}, not a bool"
        if result:
            return key, f"{key} is true"
    return IN_PROGRESS, "no expression is true"
