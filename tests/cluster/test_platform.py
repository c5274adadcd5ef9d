"""kubernetes.version and node: the Kubernetes version a cluster runs and its nodes' platform, as the loader
resolves them, against an oracle written from the catalog (tests/cluster/strategies.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import catalog
from generator.cluster.model import Cluster
from generator.cluster.parse import SpecError, parse_cluster
from tests.cluster.strategies import fits
from tests.conftest import spec_text

CAT = catalog.load()


def _parse(extra: str = "", version: str = "v26.4.1", vm_size: str = "Standard_ND96isr_H100_v5") -> Cluster:
    return parse_cluster(spec_text(version=version, vm_size=vm_size, extra=extra).encode(), "clusters/prod.yaml",
                         "prod")


@pytest.mark.parametrize(("version", "kube", "platform"), [
    ("v25.1.0", "1.31", "ubuntu22.04-amd64"), ("v25.4.0", "1.32", "ubuntu22.04-amd64"),
    ("v25.10.0", "1.34", "ubuntu22.04-amd64"), ("v26.1.2", "1.35", "ubuntu24.04-amd64"),
    ("v26.4.1", "1.35", "ubuntu24.04-amd64"),
])
def test_without_a_version_the_releases_newest_is_assumed(version: str, kube: str, platform: str) -> None:
    cluster = _parse(version=version)
    assert (cluster.kubernetes.version, cluster.kubernetes.given) == (kube, False)
    assert cluster.node.platform.name == platform and cluster.node.assumed


def test_a_versioned_os_sku_or_a_given_version_is_not_assumed() -> None:
    pinned = _parse('node:\n  osSku: Ubuntu2204\n')
    assert pinned.node.platform.name == "ubuntu22.04-amd64" and not pinned.node.assumed
    given_ = _parse('kubernetes:\n  version: "1.34"\n')
    assert given_.kubernetes.given and given_.node.platform.name == "ubuntu22.04-amd64"
    assert not given_.node.assumed


KUBES = st.one_of(st.none(), st.sampled_from(list(CAT.aks.versions)))
SKUS = st.one_of(st.none(), st.sampled_from(list(CAT.aks.os_skus)))


@settings(max_examples=300, deadline=None)
@given(tag=st.sampled_from(list(CAT.releases)), kube=KUBES, sku=SKUS, size=st.sampled_from(list(CAT.vm_sizes)))
def test_the_loader_takes_exactly_what_the_catalog_allows(tag: str, kube: str | None, sku: str | None,
                                                          size: str) -> None:
    extra = (f'kubernetes:\n  version: "{kube}"\n' if kube else "") + (f"node:\n  osSku: {sku}\n" if sku else "")
    expected = fits(CAT.release(tag), CAT.vm_sizes[size], kube, sku)
    try:
        cluster = _parse(extra, version=tag, vm_size=size)
    except SpecError as exc:
        assert not expected, exc
        assert exc.field in ("kubernetes.version", "node.osSku", "networkOperator.version", "vmSize"), exc
        return
    assert expected
    assert cluster.node.platform.arch == CAT.vm_sizes[size].arch
    assert CAT.runs_driver(CAT.release(tag), cluster.node.platform)
