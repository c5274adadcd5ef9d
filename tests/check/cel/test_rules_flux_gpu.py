"""Every CEL rule of every locked Flux release's CRDs and every locked GPU Operator release's CRDs, enumerated from the
CRD store: objects that pass it and objects that fail it (transition rules on an update, with the old object), each
schema-valid as the API server decodes it, through the ``cel`` lint rule with the rule's own message at the rule's
path. A new locked release whose CRDs add a rule fails here until tests/check/cel/cases.py has a case for it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from generator import catalog
from generator.check.cel.rule import check_cel, validator_for
from generator.check.cel.validations import collect_rules
from generator.check.cel.values import MISSING
from generator.check.schema import check_object
from generator.check.validators.crd import convert_crd
from generator.check.validators.kinds import FLUX_GROUP_SUFFIX, GPU_GROUPS, Schemas, schemas_for
from generator.sources.schema_store import FLUX, GPU_OPERATOR, default_lock, open_store
from generator.yamlio import cached as cached_yaml
from tests.check.cel import cases
from tests.conftest import UPSTREAM

FAMILIES = (FLUX, GPU_OPERATOR)


@dataclass(frozen=True)
class CrdRule:
    family: str  # flux | gpu-operator
    release: str
    api_version: str
    kind: str
    schema_path: str  # ".spec.kubeConfig", "" for the root
    index: int  # which rule of its node
    rule: str
    message: str
    transition: bool

    @property
    def id(self) -> str:
        return f"{self.family}-{self.release}-{self.kind}{self.schema_path}-{self.index}"


def _crds(family: str, release: str) -> Iterator[dict[str, Any]]:
    store = open_store(UPSTREAM)
    for entry in store.files(family, release, "crds"):
        for doc in cached_yaml.load_all(store.read(entry.path).decode("utf-8")):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                yield doc


def _raw_rule_count(node: Any) -> int:
    """Every x-kubernetes-validations entry anywhere in a schema (whatever keyword it sits under)."""
    if isinstance(node, dict):
        own = node.get("x-kubernetes-validations")
        return (len(own) if isinstance(own, list) else 0) + sum(_raw_rule_count(v) for v in node.values())
    if isinstance(node, list):
        return sum(_raw_rule_count(v) for v in node)
    return 0


def _inventory() -> list[CrdRule]:
    found = []
    lock = default_lock()
    for family in FAMILIES:
        for release in lock.tags(family):
            for crd in _crds(family, release):
                for custom in convert_crd(crd):
                    seen: dict[str, int] = {}
                    for path, rule in collect_rules(custom.openapi):
                        shown = "".join(step if step == "[*]" else f".{step}" for step in path)
                        seen[shown] = seen.get(shown, -1) + 1
                        found.append(CrdRule(family, release, custom.api_version, custom.kind, shown, seen[shown],
                                             rule.rule, (rule.message or "").strip(), rule.transition))
    return found


INVENTORY = _inventory()


def _schemas(r: CrdRule) -> Schemas:
    """gen's schemas with the rule's release: the Flux release, or the GPU Operator release."""
    store = open_store(UPSTREAM)
    release = catalog.load().default_release
    if r.family == FLUX:
        return schemas_for(release, store=store, flux=r.release)
    return schemas_for(release, store=store, gpu_release=r.release)


def test_inventory() -> None:
    """Flux v2.9.4: 16 rules in 8 lists (HelmRelease 5, Kustomization 2, Bucket 7, GitRepository 1, HelmChart 1).
    GPU Operator: the NVIDIADriver's two immutable fields in every release; v26.7.0 adds the default NVIDIADriver's
    nodeSelector rule, the GPUCluster singleton and the immutable ComputeDomain spec."""
    lock = default_lock()
    per_release: dict[tuple[str, str], dict[str, int]] = {}
    for r in INVENTORY:
        kinds = per_release.setdefault((r.family, r.release), {})
        kinds[r.kind] = kinds.get(r.kind, 0) + 1
    assert per_release == {
        (FLUX, "v2.9.4"): {"HelmRelease": 5, "Kustomization": 2, "Bucket": 7, "GitRepository": 1, "HelmChart": 1},
        (GPU_OPERATOR, "v25.3.4"): {"NVIDIADriver": 2},
        (GPU_OPERATOR, "v25.10.1"): {"NVIDIADriver": 2},
        (GPU_OPERATOR, "v26.3.3"): {"NVIDIADriver": 2},
        (GPU_OPERATOR, "v26.7.0"): {"NVIDIADriver": 3, "GPUCluster": 1, "ComputeDomain": 1},
    }
    assert {(f, t) for f in FAMILIES for t in lock.tags(f)} == set(per_release), "every locked release is counted"
    assert {r.rule for r in INVENTORY if r.transition} == {"self == oldSelf"}


@pytest.mark.parametrize("family", FAMILIES)
def test_inventory_misses_no_rule(family: str) -> None:
    """Every x-kubernetes-validations entry of every served version is in the inventory: none hides where the
    validator's walk (properties, items, additionalProperties, allOf) does not go."""
    for release in default_lock().tags(family):
        raw = sum(_raw_rule_count(v.get("schema")) for crd in _crds(family, release)
                  for v in crd["spec"]["versions"] if v.get("served"))
        listed = [r for r in INVENTORY if (r.family, r.release) == (family, release)]
        assert raw == len(listed), release


def test_every_crd_group_reaches_gen() -> None:
    """gen loads the Flux and GPU Operator CRDs when one of their groups is first asked for: every group of every
    locked release is one it loads on (a ComputeDomain alone must not be an unknown kind)."""
    for family in FAMILIES:
        for release in default_lock().tags(family):
            for crd in _crds(family, release):
                group = crd["spec"]["group"]
                assert group.endswith(FLUX_GROUP_SUFFIX) if family == FLUX else group in GPU_GROUPS, group
    for r in INVENTORY:  # a fresh Schemas per kind: no other kind loaded before
        fresh = Schemas(catalog.load().default_release, catalog.load().default_argocd, open_store(UPSTREAM),
                        catalog.load().lint_kubernetes, r.release if r.family == FLUX else "",
                        r.release if r.family == GPU_OPERATOR else "")
        assert validator_for(fresh, r.api_version, r.kind) is not None, r.id


def _failures(schemas: Schemas, variant: cases.Variant) -> list[Any]:
    validator = validator_for(schemas, variant.obj["apiVersion"], variant.obj["kind"])
    assert validator is not None
    return validator.validate(variant.obj, variant.old if variant.old is not None else MISSING)  # type: ignore[no-any-return]


def _schema_errors(obj: Any, schemas: Schemas) -> list[Any]:
    return [f for f in check_object(obj, schemas, 0).findings if f.severity == "error"]


@pytest.mark.parametrize("r", INVENTORY, ids=[r.id for r in INVENTORY])
def test_rule_passes_and_fails(r: CrdRule) -> None:
    case = cases.flux_case(r.kind, r.schema_path, r.rule) if r.family == FLUX else \
        cases.gpu_case(r.kind, r.schema_path, r.rule)
    assert case is not None, "no pass/fail objects for this rule: add them to tests/check/cel/cases.py"
    assert case.passing and case.failing
    schemas = _schemas(r)
    for variant in [*case.passing, *case.failing]:  # realistic: schema-valid, as the API server decodes them
        for obj in (variant.obj, variant.old):
            if obj is not None:
                assert _schema_errors(obj, schemas) == [], variant.name
    for variant in case.passing:
        assert [f for f in _failures(schemas, variant) if f.rule == r.rule and not f.warning] == [], variant.name
        assert [f for f in check_cel(variant.obj, schemas, 0, variant.old) if f.path == variant.path] == [] \
            if variant.path is not None else True
    for variant in case.failing:
        assert variant.path is not None
        if r.transition:
            assert variant.old is not None, "a transition rule fails only on update"
            created = cases.Variant(variant.name, variant.obj)
            assert [f for f in _failures(schemas, created) if f.rule == r.rule] == [], "transition rules skip creates"
        failures = _failures(schemas, variant)
        hits = [f for f in failures if f.rule == r.rule and f.path == variant.path]
        assert hits, f"{variant.name}: the rule did not fail at {variant.path}; got {failures}"
        assert (hits[0].message, hits[0].reason, hits[0].warning) == (r.message, "FieldValueInvalid", False)
        findings = [f for f in check_cel(variant.obj, schemas, 0, variant.old)
                    if f.path == variant.path and f.message.startswith(r.message)]
        assert [(f.rule, f.severity) for f in findings] == [("cel", "error")], variant.name


def test_gen_lint_evaluates_flux_and_gpu_rules(tmp_path: Any) -> None:
    """Through gen lint: a ComputeDomain alone is a known kind (its group loads the GPU Operator's CRDs); an
    NVIDIADriver leaving its required, defaulted fields out is valid (decoding defaults them); a HelmRelease with
    chart and chartRef and a singleton GPUCluster of another name fail their rules, at the rule's path."""
    import json

    import yaml

    from tests.helpers import run_gen

    docs = {"domain.yaml": cases.compute_domain(4), "driver.yaml": cases.nvidia_driver(),
            "release.yaml": cases.helm_release(chartRef=cases.CHART_REF), "cluster.yaml": cases.gpu_cluster("gpus")}
    for name, obj in docs.items():
        (tmp_path / name).write_text(yaml.safe_dump(obj))
    proc = run_gen("lint", "--format", "json", *docs, cwd=tmp_path)
    found = {(f["file"], f["rule"], f["path"], f["message"]) for f in json.loads(proc.out)["findings"]}
    assert found == {("release.yaml", "cel", "spec", "either chart or chartRef must be set"),
                     ("cluster.yaml", "cel", "", "GPUCluster is a singleton, metadata.name must be 'gpu-cluster'")}, \
        proc.out + proc.err
    assert proc.code == 1
