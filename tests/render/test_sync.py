"""Sync options: client-side apply is enough (no CRD near the annotation limit), no ignoreDifferences."""

from __future__ import annotations

import json

import yaml

from generator.render.argocd import application
from tests.conftest import UPSTREAM
from tests.helpers import make_cluster

ANNOTATION_LIMIT = 262144  # bytes, all annotations of an object together (last-applied-configuration)


def chart_crd_sizes() -> dict[tuple[str, str], int]:
    sizes = {}
    for release in sorted((UPSTREAM / "network-operator").iterdir()):
        for folder in ("crds", "operand-crds"):
            for path in sorted((release / folder).glob("*.yaml")):
                for doc in yaml.safe_load_all(path.read_text("utf-8")):
                    if doc and doc.get("kind") == "CustomResourceDefinition":
                        size = len(json.dumps(doc, separators=(",", ":")).encode())
                        sizes[(release.name, doc["metadata"]["name"])] = size
    return sizes


def test_client_side_apply_fits_every_release() -> None:
    sizes = chart_crd_sizes()
    assert len({release for release, _ in sizes}) >= 6
    (release, name), largest = max(sizes.items(), key=lambda item: item[1])
    assert name == "nicclusterpolicies.mellanox.com"
    # twice the largest CRD still fits: ServerSideApply is not needed, and app-wide SSA has wave-ordering bugs
    assert 2 * largest < ANNOTATION_LIMIT, (release, name, largest)
    options = application(make_cluster())["spec"]["syncPolicy"]["syncOptions"]
    assert not any(option.startswith("ServerSideApply") for option in options)


def test_sync_policy() -> None:
    policy = application(make_cluster())["spec"]["syncPolicy"]
    assert policy["automated"] == {"prune": True, "selfHeal": True}
    assert policy["retry"]["limit"] >= 10
    assert "CreateNamespace=false" in policy["syncOptions"]
    manual = application(make_cluster(extra="  automated: false\n"))["spec"]["syncPolicy"]
    assert "automated" not in manual
    assert "ignoreDifferences" not in application(make_cluster())["spec"]
