"""Acceptance (issue 11, private registries): with a mirror for every public registry, no image of any built mode
overlay or of the chart (its images for the committed values, and a real helm render of the fixture chart) points
at a public registry, and ``gen images`` lists exactly the images a scan of the output finds.

The scan is the test's own: containers and init containers, env values that are image references, and each
NicClusterPolicy component composed as the operator composes it (pkg/render/render.go ``imagePath``;
pkg/state/state_ofed.go for the DOCA driver, with the node's -ubuntu22.04-amd64, or @digest from v25.10.0).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from generator import catalog
from generator.catalog.charts import chart_facts
from generator.cluster.model import MODES
from generator.programs.helm import helm_command
from generator.programs.kustomize import kustomize_command
from generator.yamlio.load import load_documents
from tests.conftest import FIXTURE_CHARTS, write_spec
from tests.helpers import run_gen

pytestmark = [pytest.mark.kustomize, pytest.mark.slow]  # whole-tool runs: not in make test-fast

RELEASES = catalog.load().release_tags
PUBLIC = ("nvcr.io/", "ghcr.io/", "registry.k8s.io/")
MIRRORS = ("imageRegistry:\n  nvcr.io: myacr.azurecr.io/nvcr\n  ghcr.io: myacr.azurecr.io/ghcr\n"
           "  registry.k8s.io: myacr.azurecr.io/k8s\n")
DIGEST = "sha256:" + "9f" * 32
# a registry host (a dot, a port or localhost) and a path: what an env value naming an image looks like
_IMAGE_VALUE = re.compile(r"^[a-z0-9.-]+(\.[a-z0-9-]+|:[0-9]+)/[a-z0-9._/-]+(:[\w.-]+)?(@sha256:[0-9a-f]{64})?$")
_COMPONENTS = ("ofedDriver", "docaTelemetryService", "sriovDevicePlugin", "rdmaSharedDevicePlugin", "nvIpam")
_SECONDARY = ("cniPlugins", "multus", "ipoib", "ipamPlugin")


def _objects(data: bytes, label: str) -> list[dict[str, Any]]:
    return [d.value for d in load_documents(data, label) if isinstance(d.value, dict)]


def _compose(name: str, spec: dict[str, str], driver_digests: bool) -> str:
    repository, image, version = spec["repository"], spec["image"], spec["version"]
    if name == "ofedDriver":
        if driver_digests and version.startswith("sha256"):
            return f"{repository}/{image}@{version}"
        return f"{repository}/{image}:{version}-ubuntu22.04-amd64"
    sep = "@" if version.startswith("sha256:") else ":"
    return f"{repository}/{image}{sep}{version}"


def scan(obj: dict[str, Any], driver_digests: bool) -> set[str]:
    """Every image reference an object makes a node pull."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for field in ("containers", "initContainers"):
                for container in node.get(field) or []:
                    if isinstance(container, dict) and "image" in container:
                        found.add(container["image"])
                        found.update(e["value"] for e in container.get("env") or []
                                     if isinstance(e.get("value"), str) and _IMAGE_VALUE.match(e["value"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(obj)
    if obj.get("kind") == "NicClusterPolicy":
        spec = obj["spec"]
        places = [(n, spec.get(n)) for n in _COMPONENTS]
        places += [(n, (spec.get("secondaryNetwork") or {}).get(n)) for n in _SECONDARY]
        found.update(_compose(name, component, driver_digests) for name, component in places if component)
    return found


def _spec(repo: Path, release: str, delivery: str = "helm") -> None:
    cat = catalog.load()
    multus = "ghcr.io/k8snetworkplumbingwg" if release in ("v25.1.0", "v25.4.0") else "nvcr.io/nvidia/mellanox"
    digests = {"ghcr.io/azure/aks-rdma-infiniband/ibtools": DIGEST, f"{multus}/multus-cni": DIGEST,
               "nvcr.io/nvidia/cloud-native/network-operator": DIGEST}
    if cat.takes_driver_digest(cat.release(release)):
        digests["nvcr.io/nvidia/mellanox/doca-driver"] = DIGEST
    extra = MIRRORS + "imageDigests:\n" + "".join(f"  {k}: {v}\n" for k, v in digests.items())
    # Ubuntu 22.04 nodes whatever the release (the scan composes the driver for -ubuntu22.04-amd64)
    write_spec(repo, mode="ipoib", version=release,
               extra=extra + "verify:\n  enabled: true\nnode:\n  osSku: Ubuntu2204\n")
    if delivery != "helm":
        spec = repo / "clusters" / "prod.yaml"
        spec.write_text(spec.read_text().replace("  targetRevision: main\n",
                                                 f"  targetRevision: main\n  delivery: {delivery}\n"))


def _built_images(repo: Path, release: str) -> set[str]:
    cat = catalog.load()
    found: set[str] = set()
    for mode in MODES:
        directory = repo / "output" / "prod" / "overlays" / mode
        out = subprocess.run([*kustomize_command(), str(directory)], capture_output=True, check=True, timeout=120)
        for obj in _objects(out.stdout, str(directory)):
            found |= scan(obj, cat.takes_driver_digest(cat.release(release)))
    return found


def _listed(repo: Path) -> list[dict[str, Any]]:
    proc = run_gen("images", "--cluster", "prod", "--format", "json", repo=repo)
    assert proc.code == 0, proc.err
    return list(json.loads(proc.out))


@pytest.mark.parametrize("release", RELEASES)
def test_nothing_public_and_gen_images_lists_exactly_what_the_output_pulls(gitops_repo: Path, release: str) -> None:
    _spec(gitops_repo, release)
    proc = run_gen("bundle", "--cluster", "prod", repo=gitops_repo)
    assert proc.code == 0, proc.err
    # from v25.7.0 NFD comes from nvcr.io: the registry.k8s.io mirror is unused, which is said
    unused = {line.split("'")[1] for line in proc.err.splitlines() if "matches no image" in line}
    assert unused == (set() if release in ("v25.1.0", "v25.4.0") else {"imageRegistry.registry.k8s.io"})
    built = _built_images(gitops_repo, release)
    [values] = _objects((gitops_repo / "output/prod/helm/values.yaml").read_bytes(), "values.yaml")
    chart = set(chart_facts(release).images_with(values))
    pulled = built | chart
    assert not [ref for ref in pulled if ref.startswith(PUBLIC)], sorted(pulled)
    listed = _listed(gitops_repo)
    assert {entry["reference"] for entry in listed} == pulled
    # the text form: SOURCE MIRROR per image, sorted, public sources and their mirrors, digests where pinned
    text = run_gen("images", "--cluster", "prod", repo=gitops_repo, check=True).out.splitlines()
    assert text == sorted(set(text)) and len(text) == len({(e["source"], e["mirror"]) for e in listed})
    for line in text:
        source, mirror = line.split(" ")
        assert source.startswith(PUBLIC) and mirror.startswith("myacr.azurecr.io/"), line
    pinned = [e for e in listed if e["digest"]]
    assert len(pinned) >= 3 and all(e["source"].endswith(f"@{DIGEST}") and e["reference"].endswith(f"@{DIGEST}")
                                    for e in pinned)


def test_a_copy_loop_consumes_the_text_form(gitops_repo: Path, tmp_path: Path) -> None:
    """``while read -r src dst; do crane copy "$src" "$dst"; done``, with a crane that records its arguments."""
    _spec(gitops_repo, "v26.4.1")
    listing = run_gen("images", "--cluster", "prod", repo=gitops_repo, check=True).out
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    crane = bin_dir / "crane"
    crane.write_text(f'#!/bin/sh\nprintf "%s|%s|%s\\n" "$1" "$2" "$3" >> {tmp_path}/calls\n')
    crane.chmod(0o755)
    script = 'while read -r src dst; do crane copy "$src" "$dst"; done'
    subprocess.run(["bash", "-c", script], input=listing, text=True, check=True,
                   env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls == [f"copy|{line.replace(' ', '|')}" for line in listing.splitlines()]
    assert any("doca-driver:doca3.4.1-26.04-1.1.0.0-1-ubuntu22.04-amd64@" in call for call in calls)


@pytest.mark.parametrize("release", ["v25.4.0", "v25.10.0"])
def test_rendered_delivery_with_a_real_helm_render(gitops_repo: Path, chart_mirror: Path, release: str) -> None:
    """The fixture chart (the real chart's operator and NFD image keys) rendered by real helm in the loop and
    committed: nothing in any overlay is public, and each of its images is one gen images lists as a mirror."""
    _spec(gitops_repo, release, delivery="rendered")
    proc = run_gen("bundle", "--cluster", "prod", "--from", str(chart_mirror), repo=gitops_repo)
    assert proc.code == 0, proc.err
    assert "not in the cache or mirror" not in proc.err
    chart_dir = gitops_repo / "output" / "prod" / "chart"
    chart = {ref for path in chart_dir.glob("*.yaml") for obj in _objects(path.read_bytes(), str(path))
             for ref in scan(obj, False)}
    assert len(chart) == 2 and not [ref for ref in chart if ref.startswith(PUBLIC)], chart
    built = _built_images(gitops_repo, release)
    assert chart <= built and not [ref for ref in built if ref.startswith(PUBLIC)], sorted(built)
    mirrors = {entry["mirror"].split(":")[0] for entry in _listed(gitops_repo)}
    assert {ref.split(":")[0] for ref in chart} <= mirrors


def test_the_fixture_chart_reads_the_keys_gen_sets(tmp_path: Path) -> None:
    """The fixture chart's templates take the operator's and NFD's images from the same values keys as the real
    chart: rendered with the mirrored values by real helm, it names only the mirror."""
    from generator.pipeline.clusters import checked_cluster
    from generator.render.operator_values import helm_values
    from tests.conftest import spec_text

    cluster = checked_cluster(spec_text(extra=MIRRORS).encode(), "clusters/prod.yaml", "prod")
    command = helm_command()
    assert command is not None
    chart = tmp_path / "network-operator"
    shutil.copytree(FIXTURE_CHARTS / "network-operator", chart)
    values = tmp_path / "values.yaml"
    values.write_text(json.dumps(helm_values(cluster)))
    home = tmp_path / "home"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "XDG_CACHE_HOME": str(home / "c"),
           "XDG_CONFIG_HOME": str(home / "f"), "XDG_DATA_HOME": str(home / "d")}
    out = subprocess.run([*command, "template", "network-operator", str(chart), "-n", "network-operator",
                          "-f", str(values)], capture_output=True, check=True, env=env, timeout=120)
    refs = {ref for obj in _objects(out.stdout, "render") for ref in scan(obj, False)}
    assert refs == {"myacr.azurecr.io/nvcr/nvidia/cloud-native/network-operator:v25.4.0",
                    "myacr.azurecr.io/k8s/nfd/node-feature-discovery:v0.1.0"}
