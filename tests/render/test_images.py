"""Mirrors and digests: the pure rewrite, the operator's composition, and every mode of every release rendered with
a mirror for each public registry and a digest for each image."""

from __future__ import annotations

import pytest

from generator import catalog
from generator.catalog.charts import chart_facts
from generator.check.values_keys import values_problems
from generator.cluster.model import MODES, Cluster, Images
from generator.core.formats import image_reference_error
from generator.pipeline.clusters import checked_cluster
from generator.render.cluster_bundle import render_bundle
from generator.render.image_refs import (
    driver_image,
    matching_prefix,
    mirrored_name,
    operator_image,
    parse,
    policy_image,
    rewrite,
)
from generator.render.inventory import source_names
from generator.render.operator_values import helm_values
from tests.conftest import spec_text
from tests.helpers import make_cluster

RELEASES = catalog.load().release_tags
MIRRORS = {"nvcr.io/nvidia": "myacr.azurecr.io/nvidia", "ghcr.io": "myacr.azurecr.io/ghcr",
           "registry.k8s.io": "myacr.azurecr.io/k8s"}
PUBLIC = tuple(f"{prefix}/" for prefix in MIRRORS)
DIGEST = "sha256:" + "0123456789abcdef" * 4


def _yaml_map(field: str, entries: dict[str, str]) -> str:
    return f"{field}:\n" + "".join(f"  {key}: {value}\n" for key, value in entries.items())


def pinned_cluster(mode: str, release: str, verify: bool = True) -> Cluster:
    """A cluster with a mirror for each public registry and a digest for every image it may pin."""
    extra = _yaml_map("imageRegistry", MIRRORS) + ("verify:\n  enabled: true\n" if verify else "")
    names = source_names(make_cluster(mode=mode, version=release, extra=extra))
    cat = catalog.load()
    if not cat.takes_driver_digest(cat.release(release)):
        names.remove("nvcr.io/nvidia/mellanox/doca-driver")
    return make_cluster(mode=mode, version=release, extra=extra + _yaml_map("imageDigests", dict.fromkeys(names,
                                                                                                         DIGEST)))


def test_references_split_at_the_right_colon() -> None:
    assert parse("myacr.azurecr.io:5000/a/b:v1@sha256:x") == parse("myacr.azurecr.io:5000/a/b:v1@sha256:x")
    ref = parse("localhost:5000/a/b")
    assert (ref.name, ref.tag, ref.digest) == ("localhost:5000/a/b", "", "")
    ref = parse(f"ghcr.io/a/b:v1@{DIGEST}")
    assert (ref.name, ref.tag, ref.digest) == ("ghcr.io/a/b", "v1", DIGEST)
    assert str(ref) == f"ghcr.io/a/b:v1@{DIGEST}"


def test_longest_prefix_on_segment_boundaries() -> None:
    prefixes = ["nvcr.io/nvidia", "nvcr.io/nvidia/mellanox", "ghcr.io"]
    assert matching_prefix("nvcr.io/nvidia/mellanox/x", prefixes) == "nvcr.io/nvidia/mellanox"
    assert matching_prefix("nvcr.io/nvidia/doca/y", prefixes) == "nvcr.io/nvidia"
    assert matching_prefix("nvcr.io/nvidiax/y", prefixes) is None
    assert matching_prefix("ghcr.io.evil.example/y", prefixes) is None
    images = Images(mirrors=(("nvcr.io/nvidia", "m.example/n"), ("nvcr.io/nvidia/mellanox", "m.example/mlx")))
    assert mirrored_name("nvcr.io/nvidia/mellanox/x", images) == "m.example/mlx/x"
    assert mirrored_name("nvcr.io/nvidia/doca/y", images) == "m.example/n/doca/y"
    assert mirrored_name("quay.io/z", images) == "quay.io/z"


def test_rewrite_mirrors_then_pins_by_the_public_name() -> None:
    images = Images(mirrors=(("ghcr.io", "m.example/ghcr"),), digests=(("ghcr.io/a/b", DIGEST),))
    assert rewrite("ghcr.io/a/b:v1", images) == f"m.example/ghcr/a/b:v1@{DIGEST}"
    assert rewrite("ghcr.io/a/c:v1", images) == "m.example/ghcr/a/c:v1"
    assert rewrite("ghcr.io/a/b@sha256:" + "f" * 64, images) == f"m.example/ghcr/a/b@{DIGEST}"  # the pin replaces
    assert rewrite("quay.io/a/b:v1", images) == "quay.io/a/b:v1"


def test_the_operator_composes_as_pkg_render_and_state_ofed() -> None:
    assert operator_image("r.example/x", "img", "v1") == "r.example/x/img:v1"
    assert operator_image("r.example/x", "img", DIGEST) == f"r.example/x/img@{DIGEST}"
    assert operator_image("r.example/x", "img", f"v1@{DIGEST}") == f"r.example/x/img:v1@{DIGEST}"
    suffix = catalog.load().platforms["ubuntu22.04-amd64"].driver_suffix
    assert suffix == "-ubuntu22.04-amd64"
    assert driver_image("r.example/m", "doca-driver", "25.04-0.6.1.0-2", suffix, False) == \
        "r.example/m/doca-driver:25.04-0.6.1.0-2-ubuntu22.04-amd64"
    arm = catalog.load().platforms["ubuntu24.04-arm64"].driver_suffix
    assert driver_image("r.example/m", "doca-driver", "doca3.4.1-26.04-1.1.0.0-1", arm, True) == \
        "r.example/m/doca-driver:doca3.4.1-26.04-1.1.0.0-1-ubuntu24.04-arm64"
    assert driver_image("r.example/m", "doca-driver", DIGEST, suffix, True) == f"r.example/m/doca-driver@{DIGEST}"
    # before v25.10.0 a digest version gets the suffix too: no reference at all
    assert image_reference_error(driver_image("r.example/m", "doca-driver", DIGEST, suffix, False))


def test_policy_images_keep_the_tag_in_front_of_the_digest_except_the_drivers() -> None:
    release = catalog.load().release("v25.4.0")
    images = Images(mirrors=(("ghcr.io", "m.example/ghcr"),), digests=(("ghcr.io/k8snetworkplumbingwg/multus-cni",
                                                                        DIGEST),))
    multus = policy_image(release.image("multus"), images)
    assert multus == {"repository": "m.example/ghcr/k8snetworkplumbingwg", "image": "multus-cni",
                      "version": f"v4.1.0@{DIGEST}"}  # the multus manifests branch on the v4 prefix
    driver = catalog.load().release("v25.10.0").image("docaDriver")
    pinned = policy_image(driver, Images(digests=(("nvcr.io/nvidia/mellanox/doca-driver", DIGEST),)), driver=True)
    assert pinned["version"] == DIGEST


def _policy_components(files: dict[str, list[dict]]) -> list[dict[str, str]]:  # type: ignore[type-arg]
    out = []
    for docs in files.values():
        for doc in docs:
            if doc.get("kind") == "NicClusterPolicy":
                spec = doc["spec"]
                out += [v for v in [*spec.values(), *(spec.get("secondaryNetwork") or {}).values()]
                        if isinstance(v, dict) and "repository" in v]
    return out


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("mode", MODES)
def test_every_image_is_mirrored_and_pinned(mode: str, release: str) -> None:
    cluster = pinned_cluster(mode, release)
    cat = catalog.load()
    objects = render_bundle(cluster).objects
    components = _policy_components(objects)
    assert len(components) >= 8  # every mode overlay's components
    for component in components:
        assert component["repository"].startswith("myacr.azurecr.io/"), component
        pinned_driver = component["image"] == "doca-driver"
        if pinned_driver and not cat.takes_driver_digest(cluster.release):
            assert "sha256" not in component["version"]
        elif pinned_driver:
            assert component["version"] == DIGEST
        else:
            tag, _, digest = component["version"].partition("@")
            assert digest == DIGEST and tag and not tag.startswith("sha256")
    [job] = [o for o in objects[f"overlays/{mode}/verify.yaml"] if o["kind"] == "Job"]
    image = job["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"myacr.azurecr.io/ghcr/azure/aks-rdma-infiniband/ibtools@{DIGEST}"
    values = helm_values(cluster)
    facts = chart_facts(release)
    refs = facts.images_with(values)
    assert len(refs) == 3  # the operator, its init container, NFD
    for ref in refs:
        assert ref.startswith("myacr.azurecr.io/") and ref.endswith(f"@{DIGEST}"), ref
        assert not image_reference_error(ref), ref
    assert values_problems(values, facts, cluster.kubernetes.version) == []
    assert objects["helm/values.yaml"] == [values]


def test_user_values_are_mirrored_too() -> None:
    text = spec_text(version="v26.4.1", extra=_yaml_map("imageRegistry", MIRRORS)).replace(
        "  version: v26.4.1\n", "  version: v26.4.1\n  values:\n    operator:\n      repository: ghcr.io/example\n")
    cluster = checked_cluster(text.encode(), "clusters/prod.yaml", "prod")
    refs = chart_facts("v26.4.1").images_with(helm_values(cluster))
    assert "myacr.azurecr.io/ghcr/example/network-operator:v26.4.1" in refs
    assert not [ref for ref in refs if ref.startswith(PUBLIC)]


def test_no_mirror_changes_nothing() -> None:
    plain = make_cluster(mode="ipoib", version="v25.10.0")
    assert helm_values(plain)["nfd"] == {"enabled": True, "deployNodeFeatureRules": False}
    assert "node-feature-discovery" not in helm_values(plain)
