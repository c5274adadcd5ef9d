"""Where things live in a GitOps repo that gen works on: defined once, here.

    clusters/<name>.yaml           a cluster spec (the user's)
    overlays/<name>/               the user's own kustomize Component for that cluster (never generated)
    output/<name>/                 the generated bundle (gen owns it; see generator.write)
    output/<name>/overlays/<mode>/ what Argo CD applies for a mode
    output/fleet/bootstrap.yaml    every cluster's AppProject and the ApplicationSet
    output/charts/rdma-infiniband/ the Helm chart of the same objects (gen chart; argocd.source: chart)
"""

from __future__ import annotations

CLUSTERS_DIR = "clusters"
OVERLAYS_DIR = "overlays"
OUTPUT_DIR = "output"
FLEET = "fleet"  # output/fleet/: not a cluster name
CHARTS = "charts"  # output/charts/rdma-infiniband/: the Helm chart (gen chart); not a cluster name
FLEET_FILE = "bootstrap.yaml"


def spec_file(name: str) -> str:
    return f"{CLUSTERS_DIR}/{name}.yaml"


def user_overlay_dir(name: str) -> str:
    return f"{OVERLAYS_DIR}/{name}"


def output_dir(name: str) -> str:
    return f"{OUTPUT_DIR}/{name}"


def cluster_of(repo_rel: str) -> str | None:
    """The directory of output/ a repo-relative path ``output/<name>/...`` is in (``output_dir``'s inverse); None
    for any other path (output/ itself, a file directly in it, anything outside it)."""
    parts = repo_rel.split("/", 2)
    return parts[1] if len(parts) == 3 and parts[0] == OUTPUT_DIR else None


def mode_overlay(mode: str) -> str:
    """A mode overlay's path inside output/<name>/."""
    return f"overlays/{mode}"


def mode_overlay_dir(name: str, mode: str) -> str:
    """The repo-relative path of a cluster's mode overlay (what an Argo CD Application points at)."""
    return f"{output_dir(name)}/{mode_overlay(mode)}"


def user_overlay_ref() -> str:
    """From output/<name>/overlays/<mode>/ back to the repo's overlays/<name>/ (relative, as kustomize wants)."""
    return "../../../../" + OVERLAYS_DIR
