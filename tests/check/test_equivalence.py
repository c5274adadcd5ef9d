"""The chart-equivalence rule: what it reports when the chart's render and the overlay's build differ."""

from __future__ import annotations

import copy
from typing import Any

from generator.check.equivalence import check_equivalence, differences
from generator.render.bundle_objects import synced_objects
from tests.helpers import make_cluster


def _objects() -> list[dict[str, Any]]:
    return synced_objects(make_cluster(mode="ipoib", version="v26.4.1"))


def test_the_same_objects_in_any_order_are_equivalent() -> None:
    objects = _objects()
    assert differences(objects, list(reversed(copy.deepcopy(objects)))) == []
    assert check_equivalence("v.yaml", "output/prod/overlays/ipoib", objects, objects) == []


def test_missing_extra_and_changed_objects_are_named() -> None:
    overlay = _objects()
    chart = copy.deepcopy(overlay[1:])  # no Namespace
    chart.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "network-operator"}})
    network = next(o for o in chart if o["kind"] == "IPoIBNetwork")
    network["spec"]["ipam"] = network["spec"]["ipam"].replace("aks-infiniband", "other")
    found = differences(overlay, chart)
    assert found == ["Namespace network-operator: only in the overlay",
                     "ConfigMap network-operator/x: only in the chart",
                     "IPoIBNetwork aks-infiniband differs at spec.ipam(json).poolName: overlay 'aks-infiniband', "
                     "chart 'other'"]


def test_findings_point_at_the_values_file() -> None:
    overlay = _objects()
    [finding] = check_equivalence("output/prod/helm/rdma-infiniband-values.yaml", "output/prod/overlays/ipoib",
                                  overlay, overlay[:-1])
    assert finding.rule == "chart-equivalence" and finding.severity == "error"
    assert finding.file == "output/prod/helm/rdma-infiniband-values.yaml"
    assert "does not give output/prod/overlays/ipoib: IPPool network-operator/aks-infiniband: only in the overlay" \
        in finding.message
    [failed] = check_equivalence("v.yaml", "o", overlay, [], error="Error: values don't meet the specifications")
    assert "helm template of the rdma-infiniband chart with these values failed: Error: values" in failed.message
