"""The node-platform facts of the catalog: AKS's Kubernetes calendar and OS SKUs, the DOCA driver's platforms per
release, the VM sizes' architectures and the GB200/GB300 sizes; each checked against the others, against the schema
that restates them, and against the sources the data files name."""

from __future__ import annotations

import re

import pytest

from generator import catalog
from generator.catalog import DATA_DIR
from generator.cluster.spec_schema import cluster_schema
from tests.conftest import SHARED

CAT = catalog.load()
GB = ("Standard_ND128isr_NDR_GB200_v6", "Standard_ND128isr_GB300_v6", "Standard_ND128isrG5_GB300_v6")


def test_platforms_are_named_as_the_operator_names_their_driver_image() -> None:
    for name, platform in CAT.platforms.items():
        assert name == platform.name == f"{platform.os}{platform.os_version}-{platform.arch}"
        assert platform.driver_suffix == f"-{name}" and platform.arch in ("amd64", "arm64")
    assert CAT.lint_platform.name == "ubuntu22.04-amd64"


@pytest.mark.parametrize("tag", list(CAT.releases))
def test_each_release_publishes_its_driver_for_known_platforms(tag: str) -> None:
    release = CAT.release(tag)
    assert set(release.driver_platforms) <= set(CAT.platforms)
    assert {"ubuntu22.04-amd64", "ubuntu24.04-amd64"} <= set(release.driver_platforms)
    assert not [p for p in release.driver_platforms if p.startswith("azurelinux")]


def test_each_releases_driver_platforms_cite_the_manifest_of_its_driver_line() -> None:
    """The comment above each release's driverPlatforms names Mellanox/doca-driver-build's manifest of the line its
    DOCA driver belongs to (25.04 for 25.04-0.6.1.0-2, 26.04 for doca3.4.1-26.04-1.1.0.0-1)."""
    text = (DATA_DIR / "releases.yaml").read_text()
    for tag, release in CAT.releases.items():
        block = text.split(f"\n  {tag}:\n", 1)[1].split("\n    images:", 1)[0]
        line = re.search(r"(\d\d\.\d\d)-\d", release.doca_driver)
        assert line and f"release_manifests/{line.group(1)}.yaml at " in block, tag


def test_the_arm64_driver_runs_on_aks_from_v26_1_2_and_azure_linux_nowhere() -> None:
    arm = CAT.platforms["ubuntu24.04-arm64"]
    assert [r.tag for r in CAT.releases.values() if CAT.runs_driver(r, arm)] == ["v26.1.2", "v26.4.1"]
    for name in ("azurelinux3.0-amd64", "azurelinux3.0-arm64"):
        assert not any(CAT.runs_driver(r, CAT.platforms[name]) for r in CAT.releases.values())
    for name in ("ubuntu22.04-amd64", "ubuntu24.04-amd64", "ubuntu22.04-arm64"):
        assert all(CAT.runs_driver(r, CAT.platforms[name]) for r in CAT.releases.values())
    assert "v26.1.2 and later releases do" in CAT.driver_refusal(CAT.release("v25.10.0"), arm)
    assert CAT.driver_refusal(CAT.release("v26.1.2"), arm) == ""


def test_aks_gives_ubuntu_24_04_by_default_from_kubernetes_1_35() -> None:
    ubuntu = CAT.aks.os_skus["Ubuntu"]
    assert CAT.aks.default_os_sku == "Ubuntu"
    assert {v: ubuntu.image(v).os_version for v in ("1.33", "1.34", "1.35", "1.37")} == {  # type: ignore[union-attr]
        "1.33": "22.04", "1.34": "22.04", "1.35": "24.04", "1.37": "24.04"}
    assert CAT.aks.os_skus["Ubuntu2404"].image("1.31") is None
    assert CAT.aks.os_skus["Ubuntu2404"].kubernetes_range == "1.32 to 1.38"
    assert CAT.aks.os_skus["Ubuntu2204"].image("1.37") is None
    assert CAT.aks.os_skus["AzureLinux"].image("1.35").os == "azurelinux"  # type: ignore[union-attr]


def test_the_calendar_holds_every_version_a_release_supports_and_its_statuses() -> None:
    versions = list(CAT.aks.versions)
    assert versions == sorted(versions, key=catalog.minor_key)
    for release in CAT.releases.values():
        low, high = (catalog.minor_key(v) for v in release.lifecycle.kubernetes)
        wanted = [v for v in versions if low <= catalog.minor_key(v) <= high]
        assert wanted[0] == catalog.minor(release.lifecycle.kubernetes[0])
        assert wanted[-1] == release.newest_kubernetes
    as_of = CAT.aks.status_as_of
    assert {v: CAT.aks.versions[v].status(as_of) for v in ("1.31", "1.33", "1.34", "1.35", "1.37")} == {
        "1.31": "end-of-life", "1.33": "lts", "1.34": "lts", "1.35": "supported", "1.37": "supported"}
    assert CAT.aks.versions["1.35"].status("2026-02-28") == "preview"
    assert CAT.aks.versions["1.30"].status("2025-08-22") == "supported"  # an exact end date: through that day
    assert CAT.aks.versions["1.30"].status("2025-08-23") == "lts"


def test_the_grace_sizes() -> None:
    for name in GB:
        size = CAT.vm_sizes[name]
        assert (size.gpus, size.nics, size.arch, size.os_versions, size.device_ids) == (4, 4, "arm64", ("24.04",),
                                                                                       ("101e",))
        assert size.ipoib_interface_guess
    assert CAT.vm_sizes[GB[0]].link == "NDR 400 Gb/s" and CAT.vm_sizes[GB[0]].nic_family == "ConnectX-7"
    assert CAT.vm_sizes[GB[1]].link == "XDR 800 Gb/s" and CAT.vm_sizes[GB[1]].nic_family == "ConnectX-8"
    hbv5 = CAT.vm_sizes["Standard_HB368rs_v5"]
    assert (hbv5.gpus, hbv5.nics, hbv5.arch, hbv5.device_ids) == (0, 4, "amd64", ("101e",))


def test_the_sizes_add_no_device_id_the_rule_does_not_match() -> None:
    """Every VF since ConnectX-6 Dx is 101e: the NodeFeatureRule every bundle writes stays the same."""
    assert set().union(*(s.device_ids for s in CAT.vm_sizes.values())) == {"101c", "101e"}
    assert all(s.arch in ("amd64", "arm64") for s in CAT.vm_sizes.values())


def test_each_size_beyond_the_shared_table_cites_its_source() -> None:
    """The sizes ../shared/README.md tables come from Azure's size pages (the file's header); every other size's block
    carries a comment naming where its facts come from."""
    shared = (SHARED / "README.md").read_text()
    text = (DATA_DIR / "vm-sizes.yaml").read_text()
    for name in CAT.vm_sizes:
        if f"| {name} " in shared:
            continue
        block = text.split(f"\n  {name}:\n", 1)[1].split("\n  Standard_", 1)[0]
        assert re.search(r"^\s+# .*(azure-compute-docs|learn\.microsoft\.com|same page)", block, re.M), name


def test_the_schema_restates_the_platform_facts() -> None:
    props = cluster_schema()["properties"]
    assert props["kubernetes"]["properties"]["version"]["enum"] == list(CAT.aks.versions)
    sku = props["node"]["properties"]["osSku"]
    assert sku["enum"] == list(CAT.aks.os_skus) and sku["default"] == CAT.aks.default_os_sku
    assert props["node"]["properties"]["arch"]["enum"] == ["amd64", "arm64"]
    assert "default" not in props["kubernetes"]["properties"]["version"]  # derived: the release's newest
