"""imageRegistry and imageDigests in a spec: every mistake named with file, line, field and the fix; a prefix that
matches nothing is a warning."""

from __future__ import annotations

import pytest

from generator.cluster.model import Images
from generator.cluster.parse import SpecError
from generator.pipeline.clusters import checked_cluster
from tests.conftest import spec_text

FILE = "clusters/prod.yaml"
DIGEST = "sha256:" + "ab" * 32
MIRRORS = ("imageRegistry:\n  nvcr.io/nvidia: myacr.azurecr.io/nvidia\n  ghcr.io: myacr.azurecr.io/ghcr\n"
           "  registry.k8s.io: myacr.azurecr.io/k8s\n")


def parse(extra: str, version: str = "v25.4.0"):  # type: ignore[no-untyped-def]
    return checked_cluster(spec_text(version=version, extra=extra).encode(), FILE, expected_name="prod")


def image_notes(cluster) -> list[str]:  # type: ignore[no-untyped-def]
    """The cluster's warnings but the end-of-life one of its (old) release."""
    return [note for note in cluster.notes if "'networkOperator.version'" not in note]


def error(extra: str, version: str = "v25.4.0") -> SpecError:
    with pytest.raises(SpecError) as info:
        parse(extra, version)
    return info.value


def test_mirrors_and_digests_reach_the_model() -> None:
    cluster = parse(MIRRORS + f"imageDigests:\n  ghcr.io/mellanox/ipoib-cni: {DIGEST}\n")
    assert cluster.images == Images(
        mirrors=(("nvcr.io/nvidia", "myacr.azurecr.io/nvidia"), ("ghcr.io", "myacr.azurecr.io/ghcr"),
                 ("registry.k8s.io", "myacr.azurecr.io/k8s")),
        digests=(("ghcr.io/mellanox/ipoib-cni", DIGEST),))
    assert image_notes(cluster) == []
    assert parse("").images == Images()


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ("https://nvcr.io/nvidia: myacr.azurecr.io/nvidia", "has a scheme"),
        ("nvcr.io/nvidia: https://myacr.azurecr.io/nvidia", "the mirror 'https://myacr.azurecr.io/nvidia' has a"),
        ("nvcr.io/nvidia/doca-driver:v1: myacr.azurecr.io/nvidia", "has a tag"),
        (f"nvcr.io/nvidia: myacr.azurecr.io/nvidia@{DIGEST}", "has a digest; pin digests in imageDigests"),
        ("nvcr.io/nvidia/: myacr.azurecr.io/nvidia", "ends with '/'"),
        ("nvcr.io/nvidia: MyACR.azurecr.io/nvidia", "must be lower-case"),
        ("nvidia/mellanox: myacr.azurecr.io/nvidia", "does not start with a registry host"),
        ("nvcr.io/nvidia: myacr.azurecr.io/nvidia//x", "is not an image name"),
        ("ghcr.io: ghcr.io/mirror", "is under 'ghcr.io', which imageRegistry replaces too"),
        ("nvcr.io/nvidia/mellanox/doca-driver: myacr.azurecr.io", "a registry without a repository"),
    ],
)
def test_registry_mistakes(entry: str, words: str) -> None:
    exc = error(f"imageRegistry:\n  {entry}\n")
    assert exc.file == FILE and exc.line == 10, str(exc)
    assert exc.field.startswith("imageRegistry."), str(exc)
    assert words in str(exc), str(exc)
    assert "e.g." in str(exc) or "give" in str(exc) or "pin" in str(exc)


def test_a_mirror_that_is_not_a_string_is_a_schema_error() -> None:
    exc = error("imageRegistry:\n  ghcr.io: 5\n")
    assert exc.field == "imageRegistry.ghcr.io" and "string" in str(exc) and "mirror prefix" in str(exc)


def test_a_prefix_that_matches_nothing_is_a_warning() -> None:
    cluster = parse(MIRRORS + "  quay.io: myacr.azurecr.io/quay\n  nvcr.io/nvidiax: myacr.azurecr.io/x\n")
    assert len(image_notes(cluster)) == 2
    assert image_notes(cluster)[0].startswith(f"{FILE}:13:12: field 'imageRegistry.quay.io': matches no image")
    assert "gen images --cluster prod" in image_notes(cluster)[0]
    # segment boundaries: not a prefix of nvcr.io/nvidia/
    assert "imageRegistry.nvcr.io/nvidiax" in image_notes(cluster)[1]


def test_a_prefix_shadowed_by_a_longer_one_everywhere_is_a_warning() -> None:
    cluster = parse("imageRegistry:\n  ghcr.io/mellanox/ipoib-cni: myacr.azurecr.io/ipoib\n"
                    "  ghcr.io/mellanox/ipoib-cni/x: myacr.azurecr.io/y\n")
    fields = [note.split("field ")[1].split(":")[0] for note in image_notes(cluster)]
    assert fields == ["'imageRegistry.ghcr.io/mellanox/ipoib-cni/x'"]


@pytest.mark.parametrize(
    ("entry", "version", "words"),
    [
        ("ghcr.io/mellanox/ipoib-cni: sha256:abc", "v25.4.0", "required form (sha256:<64 lower-case hex digits>"),
        (f"ghcr.io/mellanox/ipoib-cni: {DIGEST.upper().replace('SHA256', 'sha256')}", "v25.4.0", "required form"),
        (f"ghcr.io/mellanox/ipoib-cni:v1.2.2: {DIGEST}", "v25.4.0", "has a tag"),
        (f"ghcr.io/mellanox/not-used: {DIGEST}", "v25.4.0",
         "is not an image the cluster uses; pin one of: ghcr.io/k8snetworkplumbingwg/multus-cni, "),
        (f"nvcr.io/nvidia/mellanox/doca-driver: {DIGEST}", "v25.4.0",
         "network-operator v25.4.0 appends the node's OS to the DOCA driver's version "
         "(25.04-0.6.1.0-2-ubuntu22.04-amd64), so it cannot pull the driver by digest; the operator can from "
         "v25.10.0"),
        (f"nvcr.io/nvidia/mellanox/doca-driver: {DIGEST}", "v25.7.0", "from v25.10.0"),
    ],
)
def test_digest_mistakes(entry: str, version: str, words: str) -> None:
    exc = error(f"imageDigests:\n  {entry}\n", version)
    assert exc.file == FILE and exc.line == 10, str(exc)
    assert exc.field.startswith("imageDigests."), str(exc)
    assert words in str(exc), str(exc)


def test_the_unknown_image_error_lists_what_gen_images_prints() -> None:
    message = str(error(f"verify:\n  enabled: true\nimageDigests:\n  quay.io/x: {DIGEST}\n"))
    for name in ("nvcr.io/nvidia/mellanox/doca-driver", "nvcr.io/nvidia/cloud-native/network-operator",
                 "registry.k8s.io/nfd/node-feature-discovery", "ghcr.io/mellanox/network-operator-init-container",
                 "ghcr.io/azure/aks-rdma-infiniband/ibtools"):
        assert name in message


@pytest.mark.parametrize("version", ["v25.10.0", "v26.1.2", "v26.4.1"])
def test_driver_digest_from_v25_10_0(version: str) -> None:
    cluster = parse(f"imageDigests:\n  nvcr.io/nvidia/mellanox/doca-driver: {DIGEST}\n", version)
    assert cluster.images.digests == (("nvcr.io/nvidia/mellanox/doca-driver", DIGEST),)
