"""``gen images`` through the real CLI, and the rules that keep a mirrored bundle mirrored: an overlay patch or a
values file that points an image back at a public registry fails ``gen bundle`` (rule image-mirror)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.check.chart_objects import IMAGE_MIRROR, check_mirrored, pulled_images
from generator.render import render
from generator.render.operator_values import public_values
from tests.conftest import write_spec, write_user_overlay
from tests.helpers import bundle_findings, make_cluster, run_gen

MIRRORS = ("imageRegistry:\n  nvcr.io/nvidia: myacr.azurecr.io/nvidia\n  ghcr.io: myacr.azurecr.io/ghcr\n"
           "  registry.k8s.io: myacr.azurecr.io/k8s\n")
DIGEST = "sha256:" + "a1" * 32


DRIVER_26_4 = "nvcr.io/nvidia/mellanox/doca-driver:doca3.4.1-26.04-1.1.0.0-1"
KUBE_1_33 = 'kubernetes:\n  version: "1.33"\n'
KUBE_1_35 = 'kubernetes:\n  version: "1.35"\n'
GB200 = "Standard_ND128isr_NDR_GB200_v6"


def _drivers(out: str) -> list[str]:
    return [line.split(" ")[0] for line in out.splitlines() if "/doca-driver" in line]


def test_without_a_mirror_each_image_is_its_own_mirror(gitops_repo: Path) -> None:
    write_spec(gitops_repo, version="v26.4.1", extra=KUBE_1_33)
    proc = run_gen("images", "--cluster", "prod", repo=gitops_repo)
    assert proc.code == 0 and "gen images: note" not in proc.err, proc.err
    lines = proc.out.splitlines()
    assert lines == sorted(lines) and len(lines) == 11  # 8 policy components (nv-ipam), operator, init container, NFD
    assert all(src == dst for src, dst in (line.split(" ") for line in lines))
    assert f"{DRIVER_26_4}-ubuntu22.04-amd64 {DRIVER_26_4}-ubuntu22.04-amd64" in lines  # AKS's Ubuntu on 1.33


@pytest.mark.parametrize(("extra", "vm_size", "suffix"), [
    (KUBE_1_35, "Standard_ND96isr_H100_v5", "-ubuntu24.04-amd64"),  # AKS's default OS from Kubernetes 1.35
    (KUBE_1_33 + "node:\n  osSku: Ubuntu2404\n", "Standard_ND96isr_H100_v5", "-ubuntu24.04-amd64"),
    (KUBE_1_33 + "node:\n  osSku: Ubuntu2204\n", "Standard_ND96isr_H100_v5", "-ubuntu22.04-amd64"),
    (KUBE_1_35, GB200, "-ubuntu24.04-arm64"),  # Grace: arm64
    (KUBE_1_33 + "node:\n  osSku: Ubuntu2404\n", "Standard_ND128isr_GB300_v6", "-ubuntu24.04-arm64"),
])
def test_the_driver_listed_is_the_one_the_nodes_pull(gitops_repo: Path, extra: str, vm_size: str,
                                                     suffix: str) -> None:
    write_spec(gitops_repo, version="v26.4.1", vm_size=vm_size, extra=extra)
    proc = run_gen("images", "--cluster", "prod", repo=gitops_repo, check=True)
    assert _drivers(proc.out) == [DRIVER_26_4 + suffix]
    [entry] = [e for e in json.loads(run_gen("images", "--cluster", "prod", "--format", "json", repo=gitops_repo,
                                             check=True).out) if "doca-driver" in e["source"]]
    assert entry["platform"] == suffix.lstrip("-") and entry["reference"] == DRIVER_26_4 + suffix


def test_an_assumed_platform_is_said(gitops_repo: Path) -> None:
    """Without kubernetes.version the list follows the newest Kubernetes the release supports, and says so."""
    write_spec(gitops_repo, version="v26.4.1")
    proc = run_gen("images", "--cluster", "prod", repo=gitops_repo, check=True)
    assert _drivers(proc.out) == [DRIVER_26_4 + "-ubuntu24.04-amd64"]
    assert proc.err == ("gen images: note: prod: the DOCA driver listed is the Ubuntu 24.04 amd64 image "
                        "(-ubuntu24.04-amd64), AKS's Ubuntu OS on Kubernetes 1.35, the newest v26.4.1 supports; "
                        "clusters/prod.yaml does not set kubernetes.version: set it to the version the cluster runs "
                        "to list the image its nodes pull\n")
    write_spec(gitops_repo, version="v26.4.1", extra="node:\n  osSku: Ubuntu2204\n")  # a versioned SKU: no guess
    assert run_gen("images", "--cluster", "prod", repo=gitops_repo, check=True).err == ""


def test_the_mirror_list_covers_every_platform_of_the_fleet(gitops_repo: Path) -> None:
    write_spec(gitops_repo, version="v26.4.1", extra=KUBE_1_33)
    write_spec(gitops_repo, name="noble", version="v26.4.1", extra=KUBE_1_35)
    write_spec(gitops_repo, name="grace", version="v26.4.1", vm_size=GB200, extra=KUBE_1_35)
    every = run_gen("images", "--all", repo=gitops_repo, check=True).out
    assert _drivers(every) == [DRIVER_26_4 + s for s in ("-ubuntu22.04-amd64", "-ubuntu24.04-amd64",
                                                         "-ubuntu24.04-arm64")]
    one = run_gen("images", "--cluster", "grace", repo=gitops_repo, check=True).out
    assert _drivers(one) == [DRIVER_26_4 + "-ubuntu24.04-arm64"]


def test_several_clusters_list_each_image_once(gitops_repo: Path) -> None:
    write_spec(gitops_repo, version="v25.4.0", extra=MIRRORS)
    write_spec(gitops_repo, name="eu-1", version="v25.4.0", extra=MIRRORS)
    write_spec(gitops_repo, name="us-2", version="v26.4.1", extra=MIRRORS.replace("  registry.k8s.io: "
                                                                                   "myacr.azurecr.io/k8s\n", ""))
    one = run_gen("images", "--cluster", "prod", repo=gitops_repo, check=True).out.splitlines()
    both = run_gen("images", "--cluster", "prod", "--cluster", "eu-1", repo=gitops_repo, check=True).out
    assert both.splitlines() == one
    every = run_gen("images", "--all", repo=gitops_repo, check=True).out.splitlines()
    assert set(one) < set(every) and every == sorted(set(every))


def test_json_names_the_reference_digest_and_users(gitops_repo: Path) -> None:
    write_spec(gitops_repo, version="v25.10.0", extra=MIRRORS + (
        f"imageDigests:\n  nvcr.io/nvidia/mellanox/doca-driver: {DIGEST}\n"
        f"  nvcr.io/nvidia/cloud-native/network-operator: {DIGEST}\n"))
    entries = json.loads(run_gen("images", "--cluster", "prod", "--format", "json", repo=gitops_repo,
                                 check=True).out)
    assert {tuple(sorted(e)) for e in entries} == {("cluster", "component", "digest", "mirror", "platform",
                                                     "reference", "source", "usedBy")}
    driver = next(e for e in entries if "doca-driver" in e["source"])
    assert driver == {
        "source": f"nvcr.io/nvidia/mellanox/doca-driver:doca3.2.0-25.10-1.2.8.0-2-ubuntu22.04-amd64@{DIGEST}",
        "mirror": f"myacr.azurecr.io/nvidia/mellanox/doca-driver:doca3.2.0-25.10-1.2.8.0-2-ubuntu22.04-amd64@{DIGEST}",
        "reference": f"myacr.azurecr.io/nvidia/mellanox/doca-driver@{DIGEST}",  # what the operator pulls
        "digest": DIGEST,
        "component": "NicClusterPolicy/nic-cluster-policy spec.ofedDriver",
        "usedBy": ["overlays/base", "overlays/sriov", "overlays/shared", "overlays/ipoib"],
        "platform": "ubuntu22.04-amd64",
        "cluster": "prod",
    }
    operator = next(e for e in entries if "cloud-native/network-operator" in e["source"])
    assert operator["reference"] == f"myacr.azurecr.io/nvidia/cloud-native/network-operator:v25.10.0@{DIGEST}"
    assert "Deployment/network-operator:container/network-operator" in operator["usedBy"]
    assert "Job/network-operator-upgrade-crd:container/upgrade-crd" not in operator["usedBy"]  # upgradeCRDs: false
    nfd = next(e for e in entries if "node-feature-discovery" in e["source"])
    assert nfd["digest"] is None and nfd["mirror"] == nfd["reference"]


def test_a_bad_spec_exits_2_and_prints_no_list(gitops_repo: Path) -> None:
    write_spec(gitops_repo, extra=f"imageDigests:\n  quay.io/nope: {DIGEST}\n")
    proc = run_gen("images", "--cluster", "prod", repo=gitops_repo)
    assert proc.code == 2 and proc.out == ""
    assert "clusters/prod.yaml:10:17: field 'imageDigests.quay.io/nope': 'quay.io/nope' is not an image the cluster " \
           "uses; pin one of: " in proc.err
    assert "usage" in run_gen("images", repo=gitops_repo).err  # --cluster or --all


def test_an_unused_prefix_is_a_warning_on_every_command(gitops_repo: Path) -> None:
    write_spec(gitops_repo, extra="imageRegistry:\n  quay.io: myacr.azurecr.io/quay\n")
    proc = run_gen("images", "--cluster", "prod", repo=gitops_repo)
    assert proc.code == 0
    assert "gen: warning: clusters/prod.yaml:10:12: field 'imageRegistry.quay.io': matches no image" in proc.err


@pytest.mark.kustomize
def test_an_overlay_patch_back_to_a_public_registry_fails_the_bundle(gitops_repo: Path) -> None:
    write_spec(gitops_repo, extra=MIRRORS)
    write_user_overlay(gitops_repo, {"plugin.yaml": (
        "apiVersion: mellanox.com/v1alpha1\nkind: NicClusterPolicy\nmetadata:\n  name: nic-cluster-policy\nspec:\n"
        "  docaTelemetryService:\n    repository: nvcr.io/nvidia/doca\n")})
    proc = run_gen("bundle", "--cluster", "prod", repo=gitops_repo)
    assert proc.code == 1
    assert "overlays/prod/plugin.yaml:7:5: error image-mirror: NicClusterPolicy/nic-cluster-policy: " \
           "'nvcr.io/nvidia/doca/doca_telemetry:1.16.5-doca2.6.0-host' is pulled from 'nvcr.io/nvidia', which " \
           "imageRegistry moves to 'myacr.azurecr.io/nvidia'; point it at " \
           "'myacr.azurecr.io/nvidia/doca/doca_telemetry:1.16.5-doca2.6.0-host'" in proc.err, proc.err
    assert "(or drop the override that sets it) (spec.docaTelemetryService)" in proc.err


@pytest.mark.kustomize
def test_chart_values_back_at_a_public_registry_fail_against_the_chart_facts(gitops_repo: Path) -> None:
    cluster = make_cluster(extra=MIRRORS)
    rendered = render([cluster])
    [(_, bundle)] = rendered.clusters
    bundle.objects["helm/values.yaml"][0].clear()
    bundle.objects["helm/values.yaml"][0].update(public_values(cluster))  # as if the mirror were not applied
    found = [f for f in bundle_findings(gitops_repo, rendered) if f.rule == IMAGE_MIRROR.id]
    assert {f.file for f in found} == {"output/prod/helm/values.yaml"}
    assert len(found) == 3  # the operator, the init container, NFD
    assert any("'registry.k8s.io/nfd/node-feature-discovery:v0.17.0' is pulled from 'registry.k8s.io'" in f.message
               for f in found)


def test_the_policy_is_checked_as_the_operator_composes_it() -> None:
    policy = {"apiVersion": "mellanox.com/v1alpha1", "kind": "NicClusterPolicy", "metadata": {"name": "p"},
              "spec": {"ofedDriver": {"repository": "nvcr.io/nvidia/mellanox", "image": "doca-driver",
                                      "version": DIGEST},
                       "secondaryNetwork": {"multus": {"repository": "myacr.azurecr.io/ghcr/k8snetworkplumbingwg",
                                                       "image": "multus-cni", "version": f"v4.1.0@{DIGEST}"}}}}
    assert dict(pulled_images(policy, "v25.10.0")) == {
        ("spec", "ofedDriver"): f"nvcr.io/nvidia/mellanox/doca-driver@{DIGEST}",
        ("spec", "secondaryNetwork", "multus"):
            f"myacr.azurecr.io/ghcr/k8snetworkplumbingwg/multus-cni:v4.1.0@{DIGEST}",
    }
    assert dict(pulled_images(policy, "v25.4.0"))[("spec", "ofedDriver")].endswith(f"{DIGEST}-ubuntu22.04-amd64")
    cluster = make_cluster(extra=MIRRORS)
    [finding] = check_mirrored([(0, policy)], cluster.images, "v25.10.0")
    assert finding.rule == "image-mirror" and finding.path == ("spec", "ofedDriver")
