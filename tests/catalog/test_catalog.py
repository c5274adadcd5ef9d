"""Catalog invariants (the way NVIDIA's l8k tests its release catalog)."""

from __future__ import annotations

import json

import pytest
import yaml

from generator import catalog
from generator.cluster.spec_schema import cluster_schema
from tests.conftest import UPSTREAM

CAT = catalog.load()
STAGING = "nvstaging"


def test_every_upstream_release_is_known_and_sorted() -> None:
    upstream = sorted((p.name for p in (UPSTREAM / "network-operator").iterdir()), key=catalog.version_key)
    assert list(CAT.releases) == upstream
    keys = [r.key for r in CAT.releases.values()]
    assert keys == sorted(keys)


def test_default_release_is_the_newest_supported() -> None:
    """A spec without networkOperator.version, the committed example and gen init's first cluster start on the
    release the newest lifecycle notes call latest (the guide's v25.4.0 is end of life): bump `default:` in
    releases.yaml with each new release line."""
    assert CAT.default_release in CAT.releases
    assert CAT.default_release == CAT.latest.tag and CAT.latest.status.status == "latest"
    assert CAT.release("v25.4.0").status.status == "end-of-life"


@pytest.mark.parametrize("tag", list(CAT.releases))
def test_release_has_every_component_and_no_staging_repository(tag: str) -> None:
    release = CAT.release(tag)
    needed = set(catalog.COMPONENTS)
    assert needed <= set(release.images), f"{tag} lacks {needed - set(release.images)}"
    if "whereabouts" in release.ipam:
        assert "whereabouts" in release.images
    for name, image in release.images.items():
        assert STAGING not in image.repository, f"{tag} {name} uses a staging repository"
        assert image.repository and image.image and image.version


@pytest.mark.parametrize("tag", list(CAT.releases))
def test_chart_version_matches_upstream_chart(tag: str) -> None:
    chart = yaml.safe_load((UPSTREAM / "network-operator" / tag / "Chart.yaml").read_text())
    assert CAT.release(tag).chart_version == chart["version"] == tag.lstrip("v")


@pytest.mark.parametrize("tag", list(CAT.releases))
def test_images_match_upstream_release_file(tag: str) -> None:
    """Same image name and version as upstream's release.yaml; repositories published, not staging."""
    upstream = yaml.safe_load((UPSTREAM / "network-operator" / tag / "release.yaml").read_text())
    names = {"docaDriver": "Mofed", "docaTelemetryService": "docaTelemetryService",
             "rdmaSharedDevicePlugin": "RdmaSharedDevicePlugin", "sriovDevicePlugin": "SriovDevicePlugin",
             "cniPlugins": "CniPlugins", "multus": "Multus", "ipoib": "Ipoib", "whereabouts": "IpamPlugin",
             "nvIpam": "nvIpam"}
    for ours, theirs in names.items():
        if ours not in CAT.release(tag).images:
            assert theirs not in upstream, f"{tag}: upstream ships {theirs} but the catalog does not"
            continue
        mine, up = CAT.release(tag).image(ours), upstream[theirs]
        assert (mine.image, mine.version) == (up["image"], up["version"]), f"{tag} {ours}"
        expected_repo = up["repository"].replace("nvcr.io/nvstaging/mellanox", "nvcr.io/nvidia/mellanox")
        assert mine.repository == expected_repo


def test_ipam_follows_the_crds() -> None:
    """whereabouts only where the NicClusterPolicy CRD still has secondaryNetwork.ipamPlugin."""
    for tag, release in CAT.releases.items():
        crd = (UPSTREAM / "network-operator" / tag / "crds" / "mellanox.com_nicclusterpolicies.yaml").read_text()
        assert ("whereabouts" in release.ipam) == ("ipamPlugin:" in crd), tag
        assert "nv-ipam" in release.ipam


def test_unknown_release_is_rejected() -> None:
    with pytest.raises(catalog.UnknownRelease):
        CAT.release("v99.0.0")


@pytest.mark.parametrize("size", ["Standard_ND96asr_v4", "Standard_ND96amsr_A100_v4", "Standard_ND96isr_H100_v5",
                                  "Standard_ND96isr_H200_v5", "Standard_HB120rs_v3", "Standard_HB176rs_v4",
                                  "Standard_HX176rs"])
def test_required_vm_sizes_known(size: str) -> None:
    vm = CAT.vm_sizes[size]
    assert vm.nics >= 1 and vm.device_ids and vm.ipoib_interface
    assert all(len(d) == 4 and int(d, 16) for d in vm.device_ids)


def test_nd96asr_v4_facts() -> None:
    vm = CAT.vm_sizes["Standard_ND96asr_v4"]
    assert (vm.nics, vm.device_ids, vm.ipoib_interface) == (8, ("101c",), "ibP257p0s0")
    assert CAT.vm_sizes["Standard_ND96isr_H100_v5"].device_ids == ("101e",)


def test_cluster_schema_lists_the_catalog() -> None:
    props = cluster_schema()["properties"]
    assert props["networkOperator"]["properties"]["version"]["enum"] == list(CAT.releases)
    assert props["networkOperator"]["properties"]["version"]["default"] == CAT.default_release
    assert json.dumps(cluster_schema())  # serialisable, usable by editors
