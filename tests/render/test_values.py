"""The chart values gen generates are ones each release's chart reads, and staging images are pointed at the
published registry."""

from __future__ import annotations

import pytest

from generator import catalog
from generator.catalog.charts import chart_facts
from generator.check.chart_objects import is_staging
from generator.check.values_keys import values_problems
from generator.cluster.model import MODES
from generator.render.operator_values import generated_values, helm_values, merge
from tests.helpers import make_cluster

RELEASES = catalog.load().release_tags
POOL = "tolerations:\n- {key: sku, operator: Equal, value: gpu, effect: NoSchedule}\n"


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("mode", MODES)
def test_generated_values_are_the_charts(release: str, mode: str) -> None:
    cluster = make_cluster(mode=mode, version=release, extra=POOL)
    facts = chart_facts(release)
    assert values_problems(generated_values(cluster), facts, cluster.kubernetes.version) == []
    assert not [ref for ref in facts.images_with(helm_values(cluster)) if is_staging(ref)]


def test_staging_defaults_are_overridden_where_the_chart_has_them() -> None:
    published = {"repository": "nvcr.io/nvidia/cloud-native"}
    assert generated_values(make_cluster(version="v25.4.0"))["operator"] == published
    assert "operator" not in generated_values(make_cluster(version="v26.4.1"))  # the chart names the published one


def test_user_values_merge_over_the_generated_ones() -> None:
    cluster = make_cluster(version="v26.4.1", extra=POOL)
    assert merge({"a": {"b": 1, "c": [1]}}, {"a": {"c": [2], "d": 3}}) == {"a": {"b": 1, "c": [2], "d": 3}}
    worker = helm_values(cluster)["node-feature-discovery"]["worker"]["tolerations"]
    assert worker[-1] == {"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in worker  # the chart's kept
