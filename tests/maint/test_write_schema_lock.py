"""maint/write_schema_lock.py: the committed schema lock is what it writes from ../shared/upstream, with upstream's
URLs."""

from __future__ import annotations

from generator.sources import schema_store as store
from maint import write_schema_lock as lock
from tests.conftest import UPSTREAM


def test_lock_is_what_lock_from_dir_generates() -> None:
    assert store.LOCK_PATH.read_text(encoding="utf-8") == lock.lock_from_dir(UPSTREAM), (
        "lock.yaml is stale: python -m maint.write_schema_lock ../shared/upstream"
    )


def test_lock_urls_follow_upstream_layout() -> None:
    url, ok = lock.upstream_url("network-operator/v25.4.0/crds/nfd-api-crds.yaml")
    assert ok and url.endswith(
        "/v25.4.0/deployment/network-operator/charts/node-feature-discovery/crds/nfd-api-crds.yaml"
    )
    url, ok = lock.upstream_url("argo-cd/v3.5.1/crds/application-crd.yaml")
    assert ok and url == "https://raw.githubusercontent.com/argoproj/argo-cd/v3.5.1/manifests/crds/application-crd.yaml"
    url, ok = lock.upstream_url("network-operator/v26.4.1/operand-crds/005-nv-ipam.nvidia.com_ippools.yaml")
    assert ok and "/manifests/state-nv-ipam-cni/" in url
