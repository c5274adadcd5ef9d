"""Schema and chart-value changes between releases, on small hand-made schemas and on the real catalog."""

from __future__ import annotations

from typing import Any

from generator.catalog.charts import chart_facts
from generator.upgrade.schema_changes import ADDED, ENUM, REMOVED, REQUIRED, TYPE, _walk
from generator.upgrade.values_changes import DEFAULT, NEW, RETIRED, set_keys, value_changes


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required or [], "additionalProperties": False}


OLD_SCHEMA = _obj({"a": {"type": "string"}, "b": {"type": "integer"}, "mode": {"type": "string", "enum": ["x", "y"]},
            "list": {"type": "array", "items": _obj({"n": {"type": "string"}})}})
NEW_SCHEMA = _obj({"b": {"anyOf": [{"type": "integer"}, {"type": "string"}]}, "mode": {"type": "string", "enum": ["x"]},
            "list": {"type": "array", "items": _obj({"n": {"type": "integer"}})}, "c": {"type": "string"}},
           required=["c"])


def test_each_kind_of_change_and_whether_it_breaks() -> None:
    value = {"a": "1", "b": 2, "mode": "y", "list": [{"n": "z"}]}
    walked = _walk(value, OLD_SCHEMA, NEW_SCHEMA, ())
    found = {(".".join(map(str, p)), change): breaking for p, change, _, breaking in walked}
    assert found[("a", REMOVED)] is True
    assert found[("b", TYPE)] is False  # widened: 2 is still accepted
    assert found[("mode", ENUM)] is True  # "y" is no longer accepted
    assert found[("c", REQUIRED)] is True and found[("c", ADDED)] is False
    assert found[("list.0.n", TYPE)] is True


def test_an_unchanged_schema_has_no_change() -> None:
    assert list(_walk({"a": "1", "list": [{"n": "x"}]}, OLD_SCHEMA, OLD_SCHEMA, ())) == []


def test_values_renamed_retired_new_and_defaults_from_the_chart_facts() -> None:
    old, new = chart_facts("v25.4.0"), chart_facts("v25.7.0")
    values = {"node-feature-discovery": {"worker": {"healthPort": 8082}}, "operator": {"tag": "v1"}}
    keys = set_keys(values, old)
    assert keys == ["node-feature-discovery.worker.healthPort", "operator.tag"]
    [renamed] = [c for c in value_changes(keys, old, new) if c.change == RETIRED]
    assert renamed.key == "node-feature-discovery.worker.healthPort"
    assert renamed.replacement == "node-feature-discovery.worker.port"
    changes = value_changes(["node-feature-discovery.image.repository", "node-feature-discovery.worker.port"], old,
                            new)
    assert {(c.key, c.change) for c in changes} >= {("node-feature-discovery.image.repository", DEFAULT)}
    assert all(c.change in (RETIRED, NEW, DEFAULT) for c in changes)
