"""``gen plan --cluster NAME``: the order Argo CD applies a cluster's bundle (phase, wave, kind)."""

from __future__ import annotations

import argparse
from pathlib import Path

from generator.cli.options import schema_source
from generator.cluster.repo import select
from generator.core.errors import EXIT_OK, BuildFailed
from generator.pipeline.checking import render_clusters
from generator.pipeline.messages import Messages
from generator.programs.overlays import OverlayBuild, build_overlays
from generator.report import sync_plan

HELP = "print the order Argo CD applies a cluster's bundle (phase, wave, kind)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cluster", required=True, metavar="NAME", help="the cluster spec clusters/NAME.yaml")
    schema_source(p)


def run(args: argparse.Namespace, repo: Path, mirror: Path | None) -> int:
    """Render and kustomize-build the cluster's mode overlay; print Argo CD's apply order."""
    rendered, charts, _ = render_clusters(repo, select(repo, [args.cluster], all_clusters=False), mirror, Messages())
    [(cluster, bundle)] = rendered.clusters
    result: OverlayBuild = build_overlays(repo, [bundle])[(cluster.name, cluster.mode)]
    if result.error:
        raise BuildFailed(f"kustomize build {result.directory} failed: {result.error}")
    print(f"# Argo CD sync order of {cluster.name} (overlays/{cluster.mode}); waves wait for health of the "
          "previous one")
    chart = charts.get(cluster.name)
    chart_objects = chart.objects if chart is not None and cluster.argocd.delivery == "helm" else None
    print(sync_plan.render(sync_plan.plan(cluster, result.objects, chart_objects)), end="")
    return EXIT_OK
