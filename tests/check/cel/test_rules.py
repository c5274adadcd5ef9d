"""Every CEL rule of every release's CRDs, from the locked CRD store: objects that pass it and objects that fail it
(with the rule's own message at the rule's path), through the ``cel`` lint rule; plus the lint summary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from generator import catalog
from generator.check.cel.rule import check_cel, validator_for
from generator.check.cel.validations import collect_rules
from generator.check.cel.values import MISSING
from generator.check.validators.kinds import Schemas, schemas_for
from generator.sources.schema_store import open_store
from tests.check.cel import cases
from tests.conftest import UPSTREAM

RELEASES = catalog.load().release_tags


@dataclass(frozen=True)
class InventoryRule:
    release: str
    api_version: str
    kind: str
    schema_path: str  # ".spec.perNodeExclusions[*]"
    index: int  # which rule of its node
    rule: str
    message: str
    transition: bool

    @property
    def id(self) -> str:
        return f"{self.release}-{self.kind}{self.schema_path}-{self.index}"


def _schemas(release: str) -> Schemas:
    return schemas_for(release, store=open_store(UPSTREAM))


def _inventory() -> list[InventoryRule]:
    found = []
    for release in RELEASES:
        schemas = _schemas(release)
        for api_version, kind in schemas.custom_kinds():
            custom = schemas.custom(api_version, kind)
            assert custom is not None
            seen: dict[str, int] = {}
            for path, rule in collect_rules(custom.openapi):
                shown = "".join(step if step == "[*]" else f".{step}" for step in path)
                seen[shown] = seen.get(shown, -1) + 1
                found.append(InventoryRule(release, api_version, kind, shown, seen[shown], rule.rule,
                                           (rule.message or "").strip(), rule.transition))
    return found


INVENTORY = _inventory()


def test_inventory_per_release() -> None:
    """52 rule occurrences (23 distinct) in the pinned network-operator releases, plus the default GPU Operator
    release's 5 (NVIDIADriver, GPUCluster, ComputeDomain) in every release's schemas; Argo CD's CRDs have none."""
    per_release: dict[str, int] = {}
    for rule in INVENTORY:
        per_release[rule.release] = per_release.get(rule.release, 0) + 1
    gpu = 5
    assert per_release == {"v25.1.0": gpu, "v25.4.0": 2 + gpu, "v25.7.0": 3 + gpu, "v25.10.0": 10 + gpu,
                           "v26.1.2": 19 + gpu, "v26.4.1": 18 + gpu}
    assert len({(r.kind, r.schema_path, r.rule, r.message) for r in INVENTORY}) == 23 + gpu
    assert not [r for r in INVENTORY if r.api_version.startswith("argoproj.io/")]
    assert {r.rule for r in INVENTORY if r.transition} == {"self == oldSelf"}


def _failures(schemas: Schemas, variant: cases.Variant) -> list[Any]:
    validator = validator_for(schemas, variant.obj["apiVersion"], variant.obj["kind"])
    assert validator is not None
    return validator.validate(variant.obj, variant.old if variant.old is not None else MISSING)  # type: ignore[no-any-return]


@pytest.mark.parametrize("r", INVENTORY, ids=[r.id for r in INVENTORY])
def test_rule_passes_and_fails(r: InventoryRule) -> None:
    case = cases.case_for(r.kind, r.schema_path, r.rule, r.message, r.release)
    assert case is not None, "no pass/fail objects for this rule: add them to tests/check/cel/cases.py"
    assert case.passing and case.failing
    schemas = _schemas(r.release)
    for variant in case.passing:
        assert [f for f in _failures(schemas, variant) if not f.warning] == [], variant.name
    for variant in case.failing:
        if r.transition:
            assert variant.old is not None, "a transition rule fails only on update"
        failures = _failures(schemas, variant)
        expected = (variant.message or "{message}").format(message=r.message)
        hits = [f for f in failures if f.rule == r.rule and f.path == variant.path]
        assert hits, f"{variant.name}: the rule did not fail at {variant.path}; got {failures}"
        assert (hits[0].message, hits[0].reason, hits[0].warning) == (expected, "FieldValueInvalid", False)
        # and as a lint finding: rule id cel, the rule's message, the path
        findings = [f for f in check_cel(variant.obj, schemas, 0, variant.old)
                    if f.path == variant.path and f.message.startswith(expected)]
        assert [(f.rule, f.severity) for f in findings] == [("cel", "error")]


def test_transition_failure_says_the_update_is_refused() -> None:
    schemas = _schemas("v25.4.0")
    [variant, _] = cases.case_ncp_available_size("v25.4.0").failing
    [finding] = check_cel(variant.obj, schemas, 0, variant.old)
    assert finding.dotted_path == "spec.nicConfigurationOperator.nicFirmwareStorage.availableStorageSize"
    assert finding.message == (
        "availableStorageSize is immutable once set. nicFirmwareStorage should be deleted and created again with a "
        "new value. (the API server refuses this update: rule 'self == oldSelf' fails against the previous version)")
    assert check_cel(variant.obj, schemas, 0) == []  # a create: transition rules do not run


def test_unchanged_failing_value_is_a_warning_on_update() -> None:
    """Ratcheting: an IPPool whose reversed exclusion was already stored updates with a warning, not an error."""
    schemas = _schemas("v26.4.1")
    [variant] = cases.case_pool_exclusions("v26.4.1", "IPPool").failing
    [created] = check_cel(variant.obj, schemas, 0)
    assert created.severity == "error"
    old = {**variant.obj, "metadata": {**variant.obj["metadata"], "labels": {"a": "b"}}}
    [updated] = check_cel(variant.obj, schemas, 0, old)
    assert updated.severity == "warning" and "lets through on update" in updated.message
    changed = cases.ippool([{"startIndex": 0, "endIndex": 9}, {"startIndex": 31, "endIndex": 20}])
    assert [f.severity for f in check_cel(changed, schemas, 0, variant.obj)] == ["error"]


def test_upstream_examples_pass_as_create_and_as_unchanged_update() -> None:
    import yaml

    for release in ("v25.4.0", "v25.10.0", "v26.4.1"):
        schemas = _schemas(release)
        for path in sorted((UPSTREAM / "network-operator" / release / "examples").glob("*.yaml")):
            for obj in yaml.safe_load_all(path.read_text()):
                if isinstance(obj, dict):
                    assert check_cel(obj, schemas, 0) == [], path.name
                    assert check_cel(obj, schemas, 0, obj) == [], path.name


def test_kinds_without_rules_compile_nothing() -> None:
    schemas = _schemas("v25.1.0")
    assert validator_for(schemas, "mellanox.com/v1alpha1", "NicClusterPolicy") is None
    assert validator_for(schemas, "v1", "Pod") is None
    assert validator_for(_schemas("v26.4.1"), "mellanox.com/v1alpha1", "NicClusterPolicy") is \
        validator_for(_schemas("v26.4.1"), "mellanox.com/v1alpha1", "NicClusterPolicy")  # compiled once


def test_no_rule_runs_on_an_object_with_a_blocking_schema_error() -> None:
    """As the API server: a type (required, enum, size) error stops CEL; a pattern error does not."""
    from generator.check.engine import Item, checker_for

    checker = checker_for("v26.4.1", store=open_store(UPSTREAM))
    [variant] = cases.case_pool_exclusions("v26.4.1", "IPPool").failing

    def rules(obj: dict[str, Any]) -> set[str]:
        return {f.rule for f in checker.run([Item(obj, "pool.yaml")], [([0], [0])])}

    assert "cel" in rules(variant.obj)
    wrong_type = {**variant.obj, "spec": {**variant.obj["spec"], "perNodeBlockSize": "many"}}
    assert "schema" in rules(wrong_type) and "cel" not in rules(wrong_type)
    bad_name = {**variant.obj, "metadata": {**variant.obj["metadata"], "name": "Pool_A"}}
    assert {"schema", "cel"} <= rules(bad_name)
