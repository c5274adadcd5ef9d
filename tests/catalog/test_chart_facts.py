"""The chart facts: true of each release's real default render (tests/maint checks they are up to date)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from generator import catalog
from generator.catalog.charts import chart_facts
from generator.check.chart_objects import image_references
from generator.check.project import is_cluster_scoped
from generator.check.validators.kinds import Schemas
from generator.yamlio.load import load_documents
from tests.conftest import UPSTREAM

RELEASES = catalog.load().release_tags


def _rendered(tag: str) -> list[dict[str, Any]]:
    path = UPSTREAM / "network-operator" / tag / "chart-rendered.yaml"
    return [d.value for d in load_documents(path.read_bytes(), str(path)) if isinstance(d.value, dict)]


@pytest.mark.parametrize("tag", RELEASES)
def test_facts_are_true_of_the_default_render(tag: str, validators: dict[str, Schemas]) -> None:
    facts = chart_facts(tag)
    rendered = _rendered(tag)
    assert {(o["kind"], o["metadata"]["name"]) for o in rendered} == {(o.kind, o.name) for o in facts.objects}
    schemas = next(iter(validators.values()))
    by_key = {(o.kind, o.name): o for o in facts.objects}
    for obj in rendered:
        fact = by_key[(obj["kind"], obj["metadata"]["name"])]
        group = obj["apiVersion"].rpartition("/")[0]
        assert fact.namespaced is not is_cluster_scoped(group, obj["kind"], schemas), obj["metadata"]["name"]
        assert (fact.hook is not None) == ("helm.sh/hook" in (obj["metadata"].get("annotations") or {}))
    defaults = yaml.safe_load((UPSTREAM / "network-operator" / tag / "chart-values.yaml").read_text())
    images = {ref for obj in rendered for _, ref in image_references(obj)}
    assert set(facts.images_with(defaults)) == images  # the default values give the default images


def test_key_verdicts() -> None:
    facts = chart_facts("v25.4.0")
    assert facts.verdict("nfd.enabled").ok and facts.verdict("node-feature-discovery.worker").ok
    assert facts.verdict("operator.tag").ok  # read by the templates although not in the defaults
    typo = facts.verdict("nfd.enabeld")
    assert not typo.ok and "did you mean 'nfd.enabled'" in typo.message
    retired = facts.verdict("deployCR")
    assert not retired.ok and "removed in v24.10.0" in retired.message
    assert not facts.verdict("ofedDriver.version").ok  # under a retired key
    assert facts.free_form_type("node-feature-discovery.worker.tolerations") == "io.k8s.api.core.v1.Toleration[]"


def test_toggles_change_what_renders() -> None:
    facts = chart_facts("v25.4.0")
    default = {(o.kind, o.name) for o in facts.rendered_objects({})}
    no_crd_hook = {(o.kind, o.name) for o in facts.rendered_objects({"upgradeCRDs": False})}
    assert ("Job", "network-operator-upgrade-crd") in default - no_crd_hook
    assert ("Job", "network-operator-keep-ncp") in no_crd_hook  # unconditional in this release
    admission = {"operator": {"admissionController": {"enabled": True}}}
    webhook = {(o.kind, o.group) for o in facts.rendered_objects(admission)}
    assert ("ValidatingWebhookConfiguration", "admissionregistration.k8s.io") in webhook
    assert chart_facts("v25.10.0").schema_needs_network and not chart_facts("v26.4.1").schema_needs_network
