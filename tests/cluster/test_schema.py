"""The cluster JSON Schema is the one place of every default (tests/maint checks it restates the catalog)."""

from __future__ import annotations

from generator.cluster import spec_schema as schema
from generator.pipeline.clusters import checked_cluster
from tests.conftest import spec_text


def test_defaults_come_from_the_schema() -> None:
    filled = schema.with_defaults({"name": "a", "mode": "base", "vmSize": "x", "argocd": {"repoURL": "https://g"}})
    # the newest supported release (the guide's v25.4.0 is end of life)
    assert filled["networkOperator"] == {"version": "v26.4.1", "namespace": "network-operator"}
    assert filled["shared"] == {"rdmaHcaMax": 63}
    assert filled["ipoib"] == {"networkName": "aks-infiniband", "namespace": "default", "range": "192.168.0.0/16",
                               "perNodeBlockSize": 64}
    assert filled["argocd"] == {"repoURL": "https://g", "targetRevision": "HEAD", "delivery": "helm",
                                "source": "overlay", "namespace": "argocd", "destination": {"server": "https://kubernetes.default.svc"},
                                "automated": True}
    assert filled["verify"]["enabled"] is False and "@sha256:" in filled["verify"]["image"]
    assert "nic" not in filled  # nothing inside it has a default


def test_given_values_are_kept_and_the_input_is_not_mutated() -> None:
    given = {"name": "a", "ipoib": {"range": "10.0.0.0/8"}}
    filled = schema.with_defaults(given)
    assert filled["ipoib"]["range"] == "10.0.0.0/8" and filled["ipoib"]["networkName"] == "aks-infiniband"
    assert given == {"name": "a", "ipoib": {"range": "10.0.0.0/8"}}


def test_model_defaults_equal_schema_defaults() -> None:
    cluster = checked_cluster(spec_text().replace("  targetRevision: main\n", "").encode(), "clusters/prod.yaml")
    props = schema.cluster_schema()["properties"]
    assert cluster.argocd.target_revision == props["argocd"]["properties"]["targetRevision"]["default"]
    assert cluster.verify.image == props["verify"]["properties"]["image"]["default"]
    assert cluster.rdma_hca_max == props["shared"]["properties"]["rdmaHcaMax"]["default"]
    assert str(cluster.ipoib.gateway) == "192.168.0.1"  # derived from the range, not a schema default
