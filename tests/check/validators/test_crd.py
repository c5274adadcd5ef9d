"""CRD openAPIV3Schema -> strict JSON Schema conversion."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml

from generator.check.validators.crd import DRAFT, convert_crd, object_meta_schema, strict_schema


def crd(
    openapi: dict[str, Any],
    *,
    served: bool = True,
    extra_versions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    versions = [{"name": "v1", "served": served, "storage": True, "schema": {"openAPIV3Schema": openapi}}]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"kind": "Widget"},
            "scope": "Namespaced",
            "versions": versions + (extra_versions or []),
        },
    }


SPEC = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "description": "the spec",
            "required": ["size"],
            "properties": {
                "size": {
                    "x-kubernetes-int-or-string": True,
                    "anyOf": [{"type": "integer"}, {"type": "string"}],
                    "pattern": "^[0-9]+Gi$",
                },
                "port": {"x-kubernetes-int-or-string": True},
                "mode": {"type": "string", "nullable": True, "enum": ["a", "b"]},
                "count": {"type": "integer", "nullable": True},
                "values": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": True,
                    "properties": {"known": {"type": "string"}},
                },
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "template": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "properties": {"spec": {"type": "object", "properties": {"x": {"type": "string"}}}},
                },
                # a field literally called "description" / "properties" must survive as a field
                "description": {"type": "string"},
                "properties": {"type": "object", "properties": {"p": {"type": "string"}}},
                "immutable": {
                    "type": "string",
                    "x-kubernetes-validations": [{"rule": "self == oldSelf"}, {"rule": "true"}],
                },
            },
        },
    },
}


def compiled(schema: dict[str, Any]) -> Any:
    return jsonschema_rs.Draft202012Validator(schema, validate_formats=True)


def widget(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"size": 1, **spec},
    }


@pytest.fixture(scope="module")
def converted() -> Any:
    [result] = convert_crd(crd(SPEC))
    return result


def test_pure_function_does_not_mutate_input() -> None:
    source = crd(SPEC)
    before = copy.deepcopy(source)
    convert_crd(source)
    assert source == before


def test_root_is_closed_and_pinned(converted: Any) -> None:
    schema = converted.schema
    assert schema["$schema"] == DRAFT
    assert schema["additionalProperties"] is False
    assert schema["required"][:3] == ["apiVersion", "kind", "metadata"]
    assert schema["properties"]["apiVersion"]["const"] == "example.com/v1"
    assert schema["properties"]["kind"]["const"] == "Widget"
    assert schema["properties"]["metadata"] == object_meta_schema()
    v = compiled(schema)
    assert v.is_valid(widget())
    assert not v.is_valid({**widget(), "specs": {}})
    assert not v.is_valid({**widget(), "apiVersion": "example.com/v2"})
    assert not v.is_valid({**widget(), "kind": "Gadget"})
    assert not v.is_valid({k: val for k, val in widget().items() if k != "metadata"})


def test_nested_objects_closed_unless_preserved(converted: Any) -> None:
    v = compiled(converted.schema)
    assert not v.is_valid(widget(sise=1))
    assert v.is_valid(widget(values={"anything": {"goes": [1]}}))  # preserve-unknown-fields
    assert v.is_valid(widget(labels={"a": "b"}))  # existing additionalProperties kept
    assert not v.is_valid(widget(labels={"a": 1}))
    assert v.is_valid(widget(description="d", properties={"p": "q"}))
    assert not v.is_valid(widget(properties={"r": "q"}))
    assert converted.closed_objects >= 4


def test_int_or_string(converted: Any) -> None:
    v = compiled(converted.schema)
    port = converted.schema["properties"]["spec"]["properties"]["port"]
    int64 = {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}
    assert port["anyOf"] == [int64, {"type": "string"}] and "type" not in port
    assert v.is_valid(widget(port=80)) and v.is_valid(widget(port="http"))
    assert not v.is_valid(widget(port=True)) and not v.is_valid(widget(port=1.5))
    assert v.is_valid(widget(port=2**63 - 1)) and not v.is_valid(widget(port=2**63))
    assert v.is_valid(widget(size="4Gi")) and not v.is_valid(widget(size="4 GiB"))


def test_nullable(converted: Any) -> None:
    v = compiled(converted.schema)
    assert v.is_valid(widget(mode=None, count=None))
    assert v.is_valid(widget(mode="a", count=3))
    assert not v.is_valid(widget(mode="c"))


def test_embedded_resource(converted: Any) -> None:
    v = compiled(converted.schema)
    embedded = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "labels": {"a": "b"}},
        "spec": {"x": "y"},
    }
    assert v.is_valid(widget(template=embedded))
    assert not v.is_valid(widget(template={**embedded, "metadata": {"label": {}}}))
    assert not v.is_valid(widget(template={**embedded, "status": {}}))


def test_cel_rules_dropped_and_counted(converted: Any) -> None:
    assert converted.cel_rules_dropped == 2
    assert "x-kubernetes-validations" not in str(converted.schema)
    assert "description" not in converted.schema["properties"]["spec"]


def test_strict_metadata(converted: Any) -> None:
    v = compiled(converted.schema)
    ok = {
        "name": "a.b-c",
        "namespace": "ns",
        "labels": {"app.kubernetes.io/name": "x"},
        "annotations": {"argocd.argoproj.io/sync-wave": "-1"},
        "finalizers": ["f"],
        "creationTimestamp": None,
    }
    assert v.is_valid({**widget(), "metadata": ok})
    for bad in (
        {"name": "Upper"},
        {"name": "w", "label": {}},
        {"name": "w", "labels": {"a": 1}},
        {"name": "w", "annotations": {"a": True}},
        {"name": "w", "namespace": "a.b"},
        {"name": "w", "labels": {"bad key!": "x"}},
    ):
        assert not v.is_valid({**widget(), "metadata": bad}), bad


def test_unserved_versions_skipped_and_every_served_one_kept() -> None:
    v2 = {"name": "v2", "served": True, "storage": False, "schema": {"openAPIV3Schema": SPEC}}
    results = convert_crd(crd(SPEC, served=False, extra_versions=[v2]))
    assert [r.api_version for r in results] == ["example.com/v2"]


def test_not_a_crd() -> None:
    with pytest.raises(ValueError, match="not a CustomResourceDefinition"):
        convert_crd({"kind": "Pod"})


def test_core_group_api_version() -> None:
    assert strict_schema({"type": "object"}, "", "v1", "Thing").api_version == "v1"


EXPECTED_KINDS = {
    "NicClusterPolicy",
    "NicNodePolicy",
    "IPoIBNetwork",
    "HostDeviceNetwork",
    "MacvlanNetwork",
    "NetworkAttachmentDefinition",
    "NodeFeature",
    "NodeFeatureGroup",
    "NodeFeatureRule",
    "IPPool",
    "CIDRPool",
    "NicConfigurationTemplate",
    "NicDevice",
    "NicFirmwareSource",
    "NicFirmwareTemplate",
    "Application",
    "ApplicationSet",
    "AppProject",
}


def _crd_files(mirror: Path) -> list[Path]:
    return sorted([*mirror.glob("*/*/crds/*.yaml"), *mirror.glob("*/*/operand-crds/*.yaml")])


def test_every_crd_in_the_mirror_converts_and_compiles(mirror: Path) -> None:
    kinds: set[str] = set()
    count = 0
    for file in _crd_files(mirror):
        for doc in yaml.load_all(file.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader):
            if not isinstance(doc, dict):
                continue
            served = [v["name"] for v in doc["spec"]["versions"] if v.get("served", True)]
            results = convert_crd(doc)
            assert [r.version for r in results] == served, file
            for result in results:
                compiled(result.schema)  # raises on an invalid schema
                kinds.add(result.kind)
                count += 1
    assert kinds >= EXPECTED_KINDS
    assert count >= 90  # 98 served CRD versions across the pinned releases
