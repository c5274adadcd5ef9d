"""``CrdValidator``: every CEL rule of one CRD version's ``openAPIV3Schema`` evaluated against an object, and on
update against its old version, as kube-apiserver's ``cel.Validator`` does.

The object is walked along the schema (properties, every array item, every additionalProperties value). At each
node with rules ``self`` is the value there and ``oldSelf`` the correlated old value: maps correlate by key, lists
with ``x-kubernetes-list-type: map`` by their keys, other lists not at all. A transition rule (one that names
``oldSelf``) runs only when an old value exists, unless it sets ``optionalOldSelf``. On update, a failing rule
that is not a transition rule, on a value that did not change, is ratcheted: the API server lets the update through
(``Failure.warning``).

Not reproduced: the CEL cost budget, compile-time type checking against the schema (rules are compiled with
``self``/``oldSelf`` as ``dyn``: what a typed check would refuse at CRD creation fails at evaluation here), and
order-insensitive ``==`` for ``x-kubernetes-list-type: set`` and ``map`` lists.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from generator.check.cel.runtime import CelError, Engine, default_engine
from generator.check.cel.validations import (
    DEFAULT_REASON,
    Failure,
    JsonPath,
    Rule,
    Schema,
    collect_rules,
    parse_field_path,
)
from generator.check.cel.values import MISSING, Converter

_MAX_MESSAGE = 5 * 1024


@dataclass(frozen=True)
class _Compiled:
    rule: Rule
    program: Any  # None: it did not compile (``error`` says why)
    message_program: Any
    field_steps: tuple[str, ...]
    transition: bool
    error: str = ""


class _Node:
    """A schema node on the way to rules, with its compiled rules."""

    __slots__ = ("additional", "all_of", "default", "items", "list_map_keys", "needs_old", "nullable", "props",
                 "resource_root", "rules", "schema")

    def __init__(self, schema: Schema, resource_root: bool) -> None:
        self.schema = schema
        self.resource_root = resource_root
        self.rules: list[_Compiled] = []
        self.props: dict[str, _Node] = {}
        self.items: _Node | None = None
        self.additional: _Node | None = None
        self.all_of: list[_Node] = []
        keys = schema.get("x-kubernetes-list-map-keys") if schema.get("x-kubernetes-list-type") == "map" else None
        self.list_map_keys: tuple[str, ...] | None = tuple(keys) if isinstance(keys, list) and keys else None
        self.needs_old = False  # every rule below is a transition rule without optionalOldSelf: skip on create
        self.default: Any = schema.get("default", MISSING)
        self.nullable = bool(schema.get("nullable"))


def _embedded(schema: Any) -> bool:
    return isinstance(schema, Mapping) and bool(schema.get("x-kubernetes-embedded-resource"))


class CrdValidator:
    """Evaluates every CEL rule of one CRD version's ``openAPIV3Schema`` (the raw one, with its ``x-kubernetes-*``
    markers and defaults) against objects."""

    def __init__(self, schema: Schema, *, engine: Engine | None = None, apply_defaults: bool = True) -> None:
        self.schema = schema
        self.engine: Engine = engine if engine is not None else default_engine()
        self.apply_defaults = apply_defaults
        self._convert = Converter(apply_defaults)
        self.rules = collect_rules(schema)
        self._root = self._build(schema, schema, resource_root=True)

    # -- building ----------------------------------------------------------------------------------------------------
    def _compile(self, raw: Mapping[str, Any]) -> _Compiled:
        rule = Rule.from_schema(raw)
        steps = parse_field_path(rule.field_path) if rule.field_path else ()
        try:
            program = self.engine.compile(rule.rule, optional_old_self=rule.optional_old_self)
        except CelError as exc:
            return _Compiled(rule, None, None, steps, rule.transition, str(exc))
        try:
            message = self.engine.compile(rule.message_expression) if rule.message_expression else None
        except CelError:
            message = None  # the message falls back to ``message`` (or the rule)
        return _Compiled(rule, program, message, steps, rule.transition)

    def _build(self, rules_schema: Schema, schema: Schema, resource_root: bool) -> _Node | None:
        """The validator node for ``schema`` holding the rules of ``rules_schema`` (itself, or one of its allOf);
        None when there is no rule at or below it."""
        node = _Node(schema, resource_root)
        node.rules = [self._compile(raw) for raw in rules_schema.get("x-kubernetes-validations") or []
                      if isinstance(raw, Mapping)]
        node.props = self._build_props(rules_schema, schema)
        node.items = self._build_under(rules_schema, schema, "items")
        node.additional = self._build_under(rules_schema, schema, "additionalProperties")
        node.all_of = self._build_all_of(rules_schema, schema, resource_root)
        children = [*node.props.values(), *node.all_of, *(c for c in (node.items, node.additional) if c is not None)]
        if not node.rules and not children:
            return None
        node.needs_old = all(r.transition and not r.rule.optional_old_self for r in node.rules) and all(
            c.needs_old for c in children)
        return node

    def _build_props(self, rules_schema: Schema, schema: Schema) -> dict[str, _Node]:
        """The nodes of the properties with rules at or below them."""
        props = schema.get("properties")
        props = props if isinstance(props, Mapping) else {}
        rules_props = rules_schema.get("properties")
        out: dict[str, _Node] = {}
        for name, sub in (rules_props.items() if isinstance(rules_props, Mapping) else ()):
            if name in props and isinstance(sub, Mapping):  # value validations apply on the structural spine only
                child = self._build(sub, props[name], _embedded(props[name]))
                if child is not None:
                    out[name] = child
        return out

    def _build_under(self, rules_schema: Schema, schema: Schema, key: str) -> _Node | None:
        """The node of the ``items`` or ``additionalProperties`` schema, when both schemas have one."""
        sub, rules_sub = schema.get(key), rules_schema.get(key)
        if isinstance(sub, Mapping) and isinstance(rules_sub, Mapping):
            return self._build(rules_sub, sub, _embedded(sub))
        return None

    def _build_all_of(self, rules_schema: Schema, schema: Schema, resource_root: bool) -> list[_Node]:
        """The nodes of the ``allOf`` branches with rules: each holds its branch's rules on the same ``schema``."""
        out: list[_Node] = []
        for sub in rules_schema.get("allOf") or []:
            if isinstance(sub, Mapping) and (child := self._build(sub, schema, resource_root)) is not None:
                out.append(child)
        return out

    # -- validating --------------------------------------------------------------------------------------------------
    def validate(self, obj: Any, old: Any = MISSING) -> list[Failure]:
        """Every failure of ``obj``; give ``old`` (the stored object) for an update: transition rules and ratcheting."""
        out: list[Failure] = []
        if self._root is not None:
            update = old is not MISSING and old is not None
            self._walk(self._root, obj, old if update else MISSING, (), out, (obj, old) if update else None)
        return out

    def wants_old(self, obj: Any) -> bool:
        """Whether checking ``obj`` as an update could differ from checking it as a create: it has a value a
        transition rule sits on, or it fails a rule (which an unchanged old value would ratchet)."""
        return self._root is not None and (self._reaches_transition(self._root, obj) or bool(self.validate(obj)))

    def _reaches_transition(self, node: _Node, value: Any) -> bool:
        if value is None or value is MISSING:
            return False
        if any(r.transition for r in node.rules) or any(self._reaches_transition(s, value) for s in node.all_of):
            return True
        if isinstance(value, dict):
            props = node.props.items()
            if any(self._reaches_transition(child, self._child(value, key, child)) for key, child in props):
                return True
            return node.additional is not None and any(self._reaches_transition(node.additional, v)
                                                       for v in value.values())
        return isinstance(value, list) and node.items is not None and any(
            self._reaches_transition(node.items, item) for item in value)

    def _child(self, container: Mapping[str, Any], key: str, child: _Node) -> Any:
        """A property's value, defaulted as the API server does; MISSING when absent (or null: not validated)."""
        value = container.get(key)
        if value is not None:
            return value
        if not self.apply_defaults or child.default is MISSING or (child.nullable and key in container):
            return MISSING
        return copy.deepcopy(child.default)

    def _walk(self, node: _Node, value: Any, old: Any, path: JsonPath, out: list[Failure],
              anc: tuple[Any, Any] | None) -> None:
        if value is None or value is MISSING or (old is MISSING and node.needs_old):
            return  # nulls are not validated; transition rules need an old value
        if old is not MISSING:
            anc = (value, old)  # the nearest node with a correlated old value (ratcheting)
        if node.rules:
            self._evaluate(node, value, old, path, out, anc)
        for sub in node.all_of:
            self._walk(sub, value, old, path, out, anc)
        if isinstance(value, dict):
            old_map = old if isinstance(old, dict) else None
            for key, child in node.props.items():
                v = self._child(value, key, child)
                if v is not MISSING:
                    o = self._child(old_map, key, child) if old_map is not None else MISSING
                    self._walk(child, v, o, (*path, key), out, anc)
            if node.additional is not None:
                for key, v in value.items():
                    o = old_map.get(key, MISSING) if old_map is not None else MISSING
                    self._walk(node.additional, v, o, (*path, key), out, anc)
        elif isinstance(value, list) and node.items is not None:
            old_of = self._correlate(node, old)
            for i, item in enumerate(value):
                self._walk(node.items, item, old_of(item) if old_of is not None else MISSING, (*path, i), out, anc)

    @staticmethod
    def _correlate(node: _Node, old: Any) -> Callable[[Any], Any] | None:
        keys = node.list_map_keys
        if keys is None or not isinstance(old, list):
            return None  # only x-kubernetes-list-type: map lists correlate their items with the old list

        def key_of(item: Any) -> Any:
            return tuple(repr(item.get(k)) for k in keys) if isinstance(item, dict) else None

        by_key = {key_of(o): o for o in old if isinstance(o, dict)}
        return lambda item: by_key.get(key_of(item), MISSING)

    def _evaluate(self, node: _Node, value: Any, old: Any, path: JsonPath, out: list[Failure],
                  anc: tuple[Any, Any] | None) -> None:
        has_old = old is not MISSING and old is not None
        self_value = self._convert.convert(value, node.schema, node.resource_root)
        old_value = self._convert.convert(old, node.schema, node.resource_root) if has_old else None
        activation: dict[str, Any] = {"self": self_value}
        if has_old:
            activation["oldSelf"] = old_value
        for compiled in node.rules:
            rule = compiled.rule
            if compiled.transition and not has_old and not rule.optional_old_self:
                continue  # transition rules need an old value
            if compiled.program is None:
                out.append(Failure(path, f"the rule does not compile ({compiled.error}); not checked: "
                                         f"{rule.error_string()}", DEFAULT_REASON, rule.rule, compiled.transition,
                                   warning=True))
                continue
            act = activation
            if rule.optional_old_self:
                act = {"self": self_value, "__hasOldSelf": has_old, "__oldSelfValue": old_value}
            result, error = self.engine.evaluate(compiled.program, act)
            if error is not None:
                if error.startswith("no such overload"):
                    message = (f"'{error}': call arguments did not match a supported operator, function or macro "
                               f"signature for rule: {rule.error_string()}")
                else:
                    message = f"{error} evaluating rule: {rule.error_string()}"
                out.append(Failure(path, message, DEFAULT_REASON, rule.rule, compiled.transition))
                continue
            if result is True:
                continue
            message = self._message(compiled, activation) or rule.default_message()
            ratcheted = not compiled.transition and anc is not None and _deep_equal(*anc)
            out.append(Failure((*path, *compiled.field_steps), message, rule.reason or DEFAULT_REASON, rule.rule,
                               compiled.transition, ratcheted))

    def _message(self, compiled: _Compiled, activation: Mapping[str, Any]) -> str | None:
        if compiled.message_program is None:
            return None
        result, error = self.engine.evaluate(compiled.message_program, activation)
        if error is not None or not isinstance(result, str):
            return None
        text = result.strip()
        return text if text and "\n" not in text and len(text) <= _MAX_MESSAGE else None


def _deep_equal(a: Any, b: Any) -> bool:
    """reflect.DeepEqual on unstructured JSON values (a bool is not an int)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_deep_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_deep_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b

