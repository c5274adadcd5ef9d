"""``gen images``: every image the clusters' output makes nodes pull, with where to copy it for ``imageRegistry``.

Text: one ``SOURCE MIRROR`` line per image (sorted, no repeats; MIRROR is SOURCE when no mirror applies), so that
``while read -r src dst; do crane copy "$src" "$dst"; done`` fills the mirror. JSON: a list with, per image and
cluster, the reference the cluster pulls (composed from the output as the operator or the chart composes it), the
digest it is pulled by, and what uses it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from generator.cli.options import selection
from generator.cluster.model import Cluster
from generator.cluster.repo import select
from generator.core.errors import EXIT_OK
from generator.pipeline.clusters import load_clusters
from generator.render.inventory import cluster_images

HELP = ("list every image the clusters' output makes nodes pull, with its public source and its imageRegistry mirror "
        "(for crane copy or az acr import)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    selection(p, required=True)
    p.add_argument("--format", choices=["text", "json"], default="text",
                   help="text: 'SOURCE MIRROR' per line; json: a list of {source, reference, mirror, digest, "
                        "component, usedBy, platform, cluster}")


def assumed_platform(cluster: Cluster) -> str:
    """Where the DOCA driver image listed follows from an assumed Kubernetes version: what gen assumed, and how to
    say it ("" when the spec says it)."""
    if not cluster.node.assumed:
        return ""
    platform = cluster.node.platform
    return (f"{cluster.name}: the DOCA driver listed is the {platform.describe()} image "
            f"(-{platform.name}), AKS's {cluster.node.os_sku} OS on Kubernetes {cluster.kubernetes.version}, the "
            f"newest {cluster.release.tag} supports; {cluster.spec_file} does not set kubernetes.version: set it to "
            "the version the cluster runs to list the image its nodes pull")


def run(args: argparse.Namespace, repo: Path, mirror: Path | None) -> int:
    clusters = load_clusters(repo, select(repo, args.cluster, args.all))
    for cluster in clusters:
        for note in cluster.notes:
            print(f"gen: warning: {note}", file=sys.stderr)
        if assumed_platform(cluster):
            print(f"gen images: note: {assumed_platform(cluster)}", file=sys.stderr)
    if args.format == "json":
        entries = [{**used.as_dict(), "cluster": cluster.name}
                   for cluster in clusters for used in cluster_images(cluster)]
        print(json.dumps(entries, indent=2))
        return EXIT_OK
    lines = sorted({f"{used.source} {used.mirror}" for cluster in clusters for used in cluster_images(cluster)})
    print("\n".join(lines))
    return EXIT_OK
