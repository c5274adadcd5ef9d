"""The CEL implementation behind the validator: cel-expr-python 0.1.3 (Google's cel-cpp), chosen by measurement
(see README, "CEL rules"). The validator needs only ``compile`` and ``evaluate`` (the ``Engine`` protocol), so
another implementation can stand in.

The environment has the strings and optional-types extensions (as cel-go's in kube-apiserver) and the Kubernetes
libraries; ``self`` and ``oldSelf`` are ``dyn``. Errors come back in cel-go's wording where it differs.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any, Protocol

from generator.check.cel import library


class CelError(Exception):
    """A rule (or messageExpression) that does not compile."""


class Engine(Protocol):
    """What the validator needs from a CEL implementation."""

    def compile(self, expr: str, *, optional_old_self: bool = False) -> Any:
        """A program; CelError when ``expr`` does not compile."""
        ...

    def evaluate(self, program: Any, activation: Mapping[str, Any]) -> tuple[Any, str | None]:
        """(result, None), or (None, the error in cel-go's wording where known)."""
        ...


_STATUS_PREFIX = re.compile(r"^[A-Z_]+: ")
_NO_SUCH_KEY = re.compile(r'Key not found in map ?: ?"?(.*?)"?$')


def normalize_error(text: str) -> str:
    """cel-cpp's error text in the words cel-go (and so kube-apiserver) uses."""
    text = _STATUS_PREFIX.sub("", text.strip())
    text = re.sub(r"\s*\[[A-Z_]+\]$", "", text)  # a Python function's error carries its status again
    if match := _NO_SUCH_KEY.search(text):
        return f"no such key: {match.group(1)}"
    if text.startswith(("No matching overloads", "no matching overload")):
        return "no such overload"
    if text == "divide by zero":
        return "division by zero"
    return text


class CppCelEngine:
    """cel-expr-python (cel-cpp) with the strings and optional-types extensions and the Kubernetes libraries."""

    def __init__(self) -> None:
        from cel_expr_python import cel
        from cel_expr_python.ext import ext_bindings, ext_optional, ext_strings

        self._error_type = cel.Type.ERROR
        dyn = cel.Type.DYN
        # the Kubernetes libraries after the strings extension: list indexOf/lastIndexOf merge with its overloads
        kubernetes = cel.CelExtension("kubernetes", library.function_decls(cel))
        extensions = [ext_strings.ExtStrings(), ext_optional.ExtOptional()]
        self._env = cel.NewEnv(variables={"self": dyn, "oldSelf": dyn}, extensions=[*extensions, kubernetes])
        self._env_optional = cel.NewEnv(  # optionalOldSelf: oldSelf is an optional, bound from two variables
            variables={"self": dyn, "__oldSelfValue": dyn, "__hasOldSelf": cel.Type.BOOL},
            extensions=[*extensions, ext_bindings.ExtBindings(), kubernetes])

    def compile(self, expr: str, *, optional_old_self: bool = False) -> Any:
        try:
            if optional_old_self:
                return self._env_optional.compile(
                    f"cel.bind(oldSelf, __hasOldSelf ? optional.of(__oldSelfValue) : optional.none(), ({expr}))")
            return self._env.compile(expr)
        except RuntimeError as exc:
            raise CelError(_STATUS_PREFIX.sub("", str(exc)).strip()) from None

    def evaluate(self, program: Any, activation: Mapping[str, Any]) -> tuple[Any, str | None]:
        try:
            value = program.eval(data=activation)
        except (RuntimeError, TypeError, ValueError) as exc:
            return None, normalize_error(str(exc))
        result = value.value()
        if result is True or result is False:  # the common case: rules evaluate to a bool
            return result, None
        if value.type() == self._error_type:
            return None, normalize_error(str(result))
        return value.plain_value(), None


@functools.cache
def default_engine() -> CppCelEngine:
    """One engine per process (its environment takes about 1 ms to build; cel_expr_python about 5 ms to import)."""
    return CppCelEngine()
