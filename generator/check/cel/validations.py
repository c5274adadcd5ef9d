"""The ``x-kubernetes-validations`` rules of an ``openAPIV3Schema``, and what a failed rule reports."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

JsonPath = tuple[str | int, ...]
SchemaPath = tuple[str, ...]
Schema = Mapping[str, Any]

DEFAULT_REASON = "FieldValueInvalid"

_CEL_STRING = re.compile(r"'''.*?'''|\"\"\".*?\"\"\"|'(?:\\.|[^'\\])*'|\"(?:\\.|[^\"\\])*\"", re.S)
_OLD_SELF = re.compile(r"\boldSelf\b")
_FIELD_STEP = re.compile(r"\.([^.\[\]]+)|\['((?:\\.|[^'\\])*)'\]")


def references_old_self(expr: str) -> bool:
    """True if the CEL expression mentions the ``oldSelf`` variable (outside string literals): a transition rule."""
    return bool(_OLD_SELF.search(_CEL_STRING.sub("''", expr)))


@dataclass(frozen=True)
class Rule:
    """One entry of an ``x-kubernetes-validations`` list."""

    rule: str
    message: str | None = None
    message_expression: str | None = None
    reason: str | None = None
    field_path: str | None = None
    optional_old_self: bool = False

    @classmethod
    def from_schema(cls, raw: Mapping[str, Any]) -> Rule:
        def text(key: str) -> str | None:
            value = raw.get(key)
            return value if isinstance(value, str) else None

        return cls(str(raw.get("rule", "")), text("message"), text("messageExpression"), text("reason"),
                   text("fieldPath"), raw.get("optionalOldSelf") is True)

    @property
    def transition(self) -> bool:
        return references_old_self(self.rule)

    def error_string(self) -> str:
        """What the API server calls ``ruleErrorString``: the message, else the rule."""
        return self.message.strip() if self.message and self.message.strip() else self.rule.strip()

    def default_message(self) -> str:
        if self.message and self.message.strip():
            return self.message.strip()
        return f"failed rule: {self.rule.strip()}"


@dataclass(frozen=True)
class Failure:
    """A rule that did not hold (or could not be evaluated) at ``path`` of the object."""

    path: JsonPath
    message: str
    reason: str
    rule: str
    transition: bool = False  # a rule on oldSelf: the update, not the object, is refused
    warning: bool = False  # ratcheted: the value did not change, so the API server lets the update through


def _iter_schema(schema: Schema, path: SchemaPath) -> Iterator[tuple[SchemaPath, Schema]]:
    yield path, schema
    props = schema.get("properties")
    for name, sub in (props.items() if isinstance(props, Mapping) else ()):
        if isinstance(sub, Mapping):
            yield from _iter_schema(sub, (*path, name))
    if isinstance(schema.get("items"), Mapping):
        yield from _iter_schema(schema["items"], (*path, "[*]"))
    if isinstance(schema.get("additionalProperties"), Mapping):
        yield from _iter_schema(schema["additionalProperties"], (*path, "{*}"))
    for sub in schema.get("allOf") or []:
        if isinstance(sub, Mapping):
            yield from _iter_schema(sub, path)


def collect_rules(schema: Schema) -> list[tuple[SchemaPath, Rule]]:
    """Every rule of an ``openAPIV3Schema`` with the schema path of its node.

    A path step is a property name, ``[*]`` (every array item) or ``{*}`` (every additionalProperties value).
    """
    return [(path, Rule.from_schema(raw))
            for path, node in _iter_schema(schema, ())
            for raw in node.get("x-kubernetes-validations") or []
            if isinstance(raw, Mapping)]


def parse_field_path(field_path: str) -> tuple[str, ...]:
    """Split a rule's ``fieldPath`` (``.a.b``, ``.a['x.y']``) into steps."""
    steps: list[str] = []
    for match in _FIELD_STEP.finditer(field_path):
        if match.group(1) is not None:
            steps.append(match.group(1))
        else:
            steps.append(re.sub(r"\\(.)", r"\1", match.group(2)))
    return tuple(steps)
