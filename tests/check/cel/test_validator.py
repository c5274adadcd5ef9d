"""How ``CrdValidator`` evaluates rules, on small schemas: transition rules and optionalOldSelf, messageExpression,
fieldPath and reason, runtime errors, ratcheting, list-map and map correlation, defaults, escaping, nulls."""

from __future__ import annotations

from typing import Any

from generator.check.cel.validations import Failure, parse_field_path, references_old_self
from generator.check.cel.validator import CrdValidator
from generator.check.cel.values import MISSING, escape_name

S: dict[str, Any] = {"type": "string"}
INT: dict[str, Any] = {"type": "integer"}


def obj_schema(props: dict[str, Any], rules: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props, **extra}
    if rules:
        out["x-kubernetes-validations"] = rules
    return out


def root(spec: dict[str, Any]) -> dict[str, Any]:
    return obj_schema({"apiVersion": S, "kind": S, "metadata": {"type": "object"}, "spec": spec})


def check(spec: dict[str, Any], obj_spec: Any, old_spec: Any = MISSING) -> list[Failure]:
    old = MISSING if old_spec is MISSING else {"spec": old_spec}
    return CrdValidator(root(spec)).validate({"spec": obj_spec}, old)


def test_transition_rule_runs_only_with_an_old_value() -> None:
    spec = obj_schema({"a": {**S, "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "immutable"}]}})
    assert check(spec, {"a": "x"}) == []
    assert check(spec, {"a": "x"}, {}) == []  # no old value at that path: the field is set for the first time
    [failure] = check(spec, {"a": "x"}, {"a": "y"})
    assert (failure.message, failure.path, failure.transition, failure.warning) == ("immutable", ("spec", "a"), True,
                                                                                    False)


def test_optional_old_self() -> None:
    rule = {"rule": "oldSelf.hasValue() ? self >= oldSelf.value() : self == 1", "optionalOldSelf": True}
    spec = obj_schema({"n": {**INT, "x-kubernetes-validations": [rule]}})
    assert check(spec, {"n": 1}) == []
    assert [f.path for f in check(spec, {"n": 2})] == [("spec", "n")]
    assert check(spec, {"n": 5}, {"n": 4}) == []
    assert len(check(spec, {"n": 3}, {"n": 4})) == 1


def test_message_expression_field_path_and_reason() -> None:
    rules = [
        {"rule": "self.min <= self.max", "fieldPath": ".min", "reason": "FieldValueForbidden",
         "messageExpression": "'min ' + string(self.min) + ' > max ' + string(self.max)"},
        {"rule": "self.max < 100", "messageExpression": "self.nope", "message": "fallback"},
        {"rule": "self.max < 100"},
    ]
    [a, b, c] = check(obj_schema({"min": INT, "max": INT}, rules), {"min": 200, "max": 150})
    assert (a.path, a.message, a.reason) == (("spec", "min"), "min 200 > max 150", "FieldValueForbidden")
    assert (b.path, b.message) == (("spec",), "fallback")
    assert c.message == "failed rule: self.max < 100"


def test_field_path_with_a_quoted_key() -> None:
    rules = [{"rule": "false", "fieldPath": ".labels['a.b/c']", "message": "m"}]
    spec = obj_schema({"labels": {"type": "object", "additionalProperties": S}}, rules)
    assert check(spec, {"labels": {}})[0].path == ("spec", "labels", "a.b/c")
    assert parse_field_path(".a.b['x\\'y']") == ("a", "b", "x'y")


def test_runtime_errors_in_cel_go_words() -> None:
    spec = obj_schema({"a": S}, [{"rule": "self.a == 'x'", "message": "m"}])
    assert check(spec, {})[0].message == "no such key: a evaluating rule: m"
    spec = obj_schema({"n": {"x-kubernetes-int-or-string": True}}, [{"rule": "self.n > 1"}])
    assert check(spec, {"n": 5}) == []
    assert check(spec, {"n": "5"})[0].message.startswith("'no such overload': call arguments did not match")


def test_a_rule_that_does_not_compile_is_a_warning() -> None:
    spec = obj_schema({"a": S}, [{"rule": "self.a ==", "message": "m"}])
    [failure] = check(spec, {"a": "x"})
    assert failure.warning and "does not compile" in failure.message


def test_ratcheting_on_update() -> None:
    spec = obj_schema({"items": {"type": "array", "items": S,
                                 "x-kubernetes-validations": [{"rule": "size(self) < 2"}]}})
    bad = {"items": ["a", "b"]}
    [created] = check(spec, bad)
    assert not created.warning
    [unchanged] = check(spec, bad, {"items": ["a", "b"]})
    assert unchanged.warning  # the API server lets it through: the value did not change
    [changed] = check(spec, {"items": ["a", "c"]}, {"items": ["a", "b"]})
    assert not changed.warning


def test_list_map_items_and_map_values_correlate_by_key() -> None:
    immutable = [{"rule": "self == oldSelf", "message": "immutable"}]
    item = obj_schema({"name": S, "size": {**INT, "x-kubernetes-validations": immutable}}, required=["name"])
    spec = obj_schema({
        "byName": {"type": "array", "items": item, "x-kubernetes-list-type": "map",
                   "x-kubernetes-list-map-keys": ["name"]},
        "atomic": {"type": "array", "items": item},
        "map": {"type": "object", "additionalProperties": {**INT, "x-kubernetes-validations": immutable}},
    })
    old = {"byName": [{"name": "a", "size": 1}, {"name": "b", "size": 2}], "atomic": [{"name": "a", "size": 1}],
           "map": {"k": 1}}
    new = {"byName": [{"name": "b", "size": 2}, {"name": "a", "size": 9}], "atomic": [{"name": "a", "size": 9}],
           "map": {"k": 2, "j": 5}}
    # list-map items correlate by key (a moved to index 1); atomic list items have no oldSelf; maps by key
    assert sorted(f.path for f in check(spec, new, old)) == [("spec", "byName", 1, "size"), ("spec", "map", "k")]


def test_defaults_are_applied_before_evaluation() -> None:
    spec = obj_schema({"mode": {**S, "default": "none"}, "planes": {**INT, "default": 1}},
                      [{"rule": "self.mode == 'none' || self.planes != 1", "message": "planes"}])
    assert [f.message for f in check(spec, {"mode": "swplb"})] == ["planes"]
    undefaulted = CrdValidator(root(spec), apply_defaults=False)
    assert undefaulted.validate({"spec": {"mode": "swplb"}})[0].message.startswith("no such key: planes")


def test_escaping_types_and_root_metadata() -> None:
    props = {"x-y": S, "namespace": S, "ratio": {"type": "number"}, "q": {"x-kubernetes-int-or-string": True},
             "raw": {"type": "string", "format": "byte"}, "nothing": {"type": "string", "nullable": True}}
    rules = [{"rule": "self.x__dash__y == 'a' && self.__namespace__ == 'b' && self.ratio == 2.0 && self.q == 'x'"},
             {"rule": "self.raw == b'hi' && !has(self.nothing) || self.nothing == null"}]
    assert check(obj_schema(props, rules), {"x-y": "a", "namespace": "b", "ratio": 2, "q": "x", "raw": "aGk="}) == []
    schema = root(obj_schema({}))
    schema["x-kubernetes-validations"] = [
        {"rule": "self.metadata.name == 'n' && !has(self.metadata.labels) && self.kind == 'K'", "message": "meta"}]
    obj = {"apiVersion": "g/v1", "kind": "K", "metadata": {"name": "n", "labels": {"a": "b"}}, "spec": {}}
    assert CrdValidator(schema).validate(obj) == []


def test_null_values_are_not_validated() -> None:
    spec = obj_schema({"a": {**S, "nullable": True, "x-kubernetes-validations": [{"rule": "self.size() > 3"}]}})
    assert check(spec, {"a": None}) == []
    assert len(check(spec, {"a": "ab"})) == 1


def test_escape_name() -> None:
    assert escape_name("namespace") == "__namespace__"
    assert escape_name("a-b.c/d") == "a__dash__b__dot__c__slash__d"
    assert escape_name("a__b") == "a__underscores__b"
    assert escape_name("plain_name") == "plain_name"
    assert escape_name("1abc") is None
    assert escape_name("a b") is None


def test_transition_rules_are_found_outside_string_literals_only() -> None:
    assert references_old_self("self == oldSelf")
    assert not references_old_self("self.a == 'oldSelf'")
    assert not references_old_self("self.oldSelfish == 1")
