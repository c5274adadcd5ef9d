"""Today's AKS nodes through the real CLI: an Ubuntu 24.04 amd64 cluster and an Arm64 GB200 cluster bundle and check
clean, a DOCA driver digest pin is per platform (written for the one cluster that pins it), and what a release cannot
run on (a node platform, a Kubernetes version) exits 2 naming what can."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import snapshot, write_spec
from tests.helpers import run_gen

KUBE_1_33 = 'kubernetes:\n  version: "1.33"\n'
KUBE_1_35 = 'kubernetes:\n  version: "1.35"\n'
GB200 = "Standard_ND128isr_NDR_GB200_v6"
DRIVER = "nvcr.io/nvidia/mellanox/doca-driver"
PIN = "sha256:" + "24" * 32


def _policy(repo: Path, name: str) -> dict[str, object]:
    return yaml.safe_load((repo / "output" / name / "base" / "nicclusterpolicy.yaml").read_text())


@pytest.mark.kustomize
def test_an_ubuntu_24_04_cluster_and_a_gb200_cluster_bundle_and_check_clean(gitops_repo: Path) -> None:
    write_spec(gitops_repo, name="noble", mode="sriov", version="v26.4.1", vm_size="Standard_ND96isr_H100_v5",
               extra=KUBE_1_35)
    write_spec(gitops_repo, name="grace", mode="shared", version="v26.4.1", vm_size=GB200, extra=KUBE_1_35)
    proc = run_gen("bundle", "--all", repo=gitops_repo)
    assert proc.code == 0 and "warning" not in proc.err, proc.err
    assert run_gen("check", repo=gitops_repo).code == 0
    images = run_gen("images", "--all", repo=gitops_repo, check=True).out
    assert f"{DRIVER}:doca3.4.1-26.04-1.1.0.0-1-ubuntu24.04-amd64 " in images
    assert f"{DRIVER}:doca3.4.1-26.04-1.1.0.0-1-ubuntu24.04-arm64 " in images
    # the GB200 pool: 4 NICs per VM, the VF ID the NodeFeatureRule already matches
    rule = yaml.safe_load((gitops_repo / "output/grace/base/nodefeaturerule.yaml").read_text())
    assert "101e" in str(rule)


@pytest.mark.kustomize
def test_a_driver_digest_pin_is_written_for_its_own_cluster_only(gitops_repo: Path) -> None:
    write_spec(gitops_repo, version="v26.4.1", extra=KUBE_1_35 + "node:\n  osSku: Ubuntu2204\n")  # 22.04 kept
    write_spec(gitops_repo, name="noble", version="v26.4.1",
               extra=KUBE_1_35 + f"imageDigests:\n  {DRIVER}: {PIN}\n")  # Ubuntu 24.04, pinned
    proc = run_gen("bundle", "--all", repo=gitops_repo)
    assert proc.code == 0 and "warning" not in proc.err, proc.err
    assert _policy(gitops_repo, "noble")["spec"]["ofedDriver"]["version"] == PIN  # type: ignore[index]
    assert _policy(gitops_repo, "prod")["spec"]["ofedDriver"]["version"] == "doca3.4.1-26.04-1.1.0.0-1"  # type: ignore[index]
    assert PIN not in "".join(p.read_text() for p in (gitops_repo / "output" / "prod").rglob("*.yaml"))
    lines = run_gen("images", "--all", repo=gitops_repo, check=True).out.splitlines()
    drivers = [line.split(" ")[0] for line in lines if "/doca-driver" in line]
    assert drivers == [f"{DRIVER}:doca3.4.1-26.04-1.1.0.0-1-ubuntu22.04-amd64",
                       f"{DRIVER}:doca3.4.1-26.04-1.1.0.0-1-ubuntu24.04-amd64@{PIN}"]  # what to copy, per platform
    assert run_gen("check", repo=gitops_repo).code == 0


def test_a_pin_on_an_assumed_platform_is_a_warning(gitops_repo: Path) -> None:
    write_spec(gitops_repo, version="v26.4.1", extra=f"imageDigests:\n  {DRIVER}: {PIN}\n")
    proc = run_gen("images", "--cluster", "prod", repo=gitops_repo)
    assert proc.code == 0
    assert (f"field 'imageDigests.{DRIVER}': pins the DOCA driver, whose image is per node platform: this must be the "
            "digest of doca3.4.1-26.04-1.1.0.0-1-ubuntu24.04-amd64, the image of Ubuntu 24.04 amd64 nodes that gen "
            "assumes from Kubernetes 1.35 (the newest v26.4.1 supports); set kubernetes.version") in proc.err


@pytest.mark.parametrize(("version", "vm_size", "extra", "field", "says"), [
    # the Arm64 GB200 pool's DOCA driver builds on AKS from the 26.01 driver (v26.1.2) on
    ("v25.10.0", GB200, "", "networkOperator.version",
     "Standard_ND128isr_NDR_GB200_v6 nodes run Ubuntu 24.04 arm64 on AKS: network-operator v25.10.0's DOCA driver does "
     "not work there: DOCA drivers before 26.01 fail to build against the arm64 kernel of AKS's Ubuntu 24.04 node "
     "image (the GB200/GB300 pools); v26.1.2 and later releases do: set networkOperator.version to v26.1.2 or later"),
    # no release publishes a DOCA driver for Azure Linux
    ("v26.4.1", "Standard_ND96isr_H100_v5", "node:\n  osSku: AzureLinux3\n", "node.osSku",
     "no release gen knows does (every mode deploys the DOCA driver): use Ubuntu nodes"),
    # the GB200 sizes run Ubuntu 24.04 only: AKS's default OS on 1.33 is 22.04
    ("v26.4.1", GB200, KUBE_1_33, "vmSize",
     "Standard_ND128isr_NDR_GB200_v6 runs only Ubuntu 24.04 on AKS (its pools are created with that OS SKU); "
     "node.osSku Ubuntu (the default) gives Ubuntu 22.04 arm64 on Kubernetes 1.33: set node.osSku to Ubuntu2404"),
    # a release outside its Kubernetes range
    ("v25.4.0", "Standard_ND96asr_v4", KUBE_1_35, "kubernetes.version",
     "network-operator v25.4.0 supports Kubernetes 1.29 to 1.32, not 1.35; v26.1.2, v26.4.1 support 1.35: set "
     "networkOperator.version to one of them"),
    ("v26.4.1", "Standard_ND96asr_v4", 'kubernetes:\n  version: "1.36"\n', "kubernetes.version",
     "no release gen knows supports 1.36 (the newest, v26.4.1, supports 1.31 to 1.35)"),
    ("v26.4.1", "Standard_ND96asr_v4", "node:\n  osSku: Ubuntu2404\n" + 'kubernetes:\n  version: "1.31"\n',
     "node.osSku", "AKS offers Ubuntu2404 on Kubernetes 1.32 to 1.38, not on Kubernetes 1.31"),
    ("v26.4.1", "Standard_ND96asr_v4", "kubernetes:\n  version: 1.30\n", "kubernetes.version",
     '1.3 is a number: YAML reads an unquoted version as one (1.30 becomes 1.3); quote it: version: "1.30"'),
    ("v26.4.1", "Standard_ND96asr_v4", "node:\n  arch: arm64\n", "node.arch", "Standard_ND96asr_v4 nodes are amd64"),
    # the default verify image is built for amd64 only
    ("v26.4.1", GB200, "verify:\n  enabled: true\n", "verify.enabled",
     "ghcr.io/azure/aks-rdma-infiniband/ibtools is built for amd64 only, and the verify Job runs on the arm64 "
     "InfiniBand nodes"),
])
def test_what_a_release_cannot_run_on_exits_2_naming_what_can(gitops_repo: Path, version: str, vm_size: str,
                                                              extra: str, field: str, says: str) -> None:
    write_spec(gitops_repo, version=version, vm_size=vm_size, extra=extra)
    before = snapshot(gitops_repo)
    proc = run_gen("bundle", "--cluster", "prod", repo=gitops_repo)
    assert proc.code == 2 and f"field '{field}': " in proc.err and says in proc.err, proc.err
    assert snapshot(gitops_repo) == before
    assert run_gen("images", "--cluster", "prod", repo=gitops_repo).code == 2


def test_aks_support_of_the_kubernetes_version_is_a_warning(gitops_repo: Path) -> None:
    write_spec(gitops_repo, version="v26.4.1", extra=KUBE_1_33)
    proc = run_gen("images", "--cluster", "prod", repo=gitops_repo, check=True)
    assert ("field 'kubernetes.version': AKS's standard support of Kubernetes 1.33 ended 2026-07 (as of 2026-12-07, "
            "per AKS's release calendar); only long-term support (Premium tier) covers it, until 2027-07") in proc.err
    write_spec(gitops_repo, version="v25.4.0", extra='kubernetes:\n  version: "1.30"\n')
    assert "Kubernetes 1.30 is past AKS's end of life" in run_gen("images", "--cluster", "prod",
                                                                  repo=gitops_repo, check=True).err


def test_ipoib_on_a_size_whose_interface_name_is_a_guess_says_so(gitops_repo: Path) -> None:
    write_spec(gitops_repo, mode="ipoib", version="v26.4.1", vm_size=GB200)
    proc = run_gen("images", "--cluster", "prod", repo=gitops_repo, check=True)
    assert "the IPoIB interface name ibP257p0s0 is a guess for Standard_ND128isr_NDR_GB200_v6" in proc.err
    write_spec(gitops_repo, mode="ipoib", version="v26.4.1", vm_size=GB200, extra="ipoib:\n  master: ibP257p0s0\n")
    assert "is a guess" not in run_gen("images", "--cluster", "prod", repo=gitops_repo, check=True).err
