"""``gen plan --cluster NAME``: the order Argo CD applies a cluster's bundle (phase, wave, kind)."""

from __future__ import annotations

import argparse
from pathlib import Path

from generator.check.engine import checker_for
from generator.cli.options import schema_source
from generator.cluster.model import Cluster
from generator.cluster.overlay import has_user_overlay
from generator.cluster.repo import select
from generator.core import layout
from generator.core.errors import EXIT_OK, BuildFailed, printable
from generator.core.kube import Obj
from generator.core.rules import parse_directives
from generator.pipeline.checking import render_clusters
from generator.pipeline.messages import Messages
from generator.programs import kustomize
from generator.programs.overlays import OverlayBuild, build_overlays
from generator.render import flux
from generator.render.cluster_bundle import GUIDE_PREFIX_NOTE
from generator.render.resources import webhook_enabled
from generator.report import sync_plan
from generator.sources.schema_store import open_store
from generator.upgrade.plan_text import move_lines
from generator.upgrade.pool_moves import move_to_pools, replay

HELP = "print the order Argo CD (or Flux, with gitops: flux) applies a cluster's bundle"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cluster", required=True, metavar="NAME", help="the cluster spec clusters/NAME.yaml")
    schema_source(p)


def run(args: argparse.Namespace, repo: Path, mirror: Path | None) -> int:
    """Render and kustomize-build the cluster's mode overlay; print Argo CD's apply order (or Flux's chain)."""
    rendered, charts, _ = render_clusters(repo, select(repo, [args.cluster], all_clusters=False), mirror, Messages())
    [(cluster, bundle)] = rendered.clusters
    builds = build_overlays(repo, [bundle])
    result: OverlayBuild = builds[(cluster.name, cluster.mode)]
    if result.error:
        raise BuildFailed(f"kustomize build {result.directory} failed: {result.error}")
    if cluster.gitops == "flux":
        code = _flux(cluster, builds, has_user_overlay(repo, cluster.name))
    else:
        print(f"# Argo CD sync order of {cluster.name} (overlays/{cluster.mode}); waves wait for health of the "
              "previous one")
        chart = charts.get(cluster.name)
        chart_objects = chart.objects if chart is not None and cluster.argocd.delivery == "helm" else None
        print(sync_plan.render(sync_plan.plan(cluster, result.objects, chart_objects)), end="")
        code = EXIT_OK
    _move_from_output(repo, cluster, result.objects, mirror)
    return code


def _move_from_output(repo: Path, cluster: Cluster, objects: list[Obj], mirror: Path | None) -> None:
    """When output/<name>/ as written holds one NicClusterPolicy with the sections the spec's pools now take: the
    move to NicNodePolicies (its order, what it does to the DaemonSets and nodes, the webhook's verdict)."""
    directory = repo / layout.mode_overlay_dir(cluster.name, cluster.mode)
    if not cluster.node_policies or not directory.is_dir():
        return
    [built] = kustomize.build_many([directory])
    if built.error:
        print(f"\n# {layout.mode_overlay_dir(cluster.name, cluster.mode)} as written does not build "
              f"({printable(built.error)[:200]}): no move to NicNodePolicies shown")
        return
    move = move_to_pools(built.objects, objects)
    if move is None:
        return
    webhook = checker_for(cluster.release.tag, store=open_store(mirror)).webhook
    disabled = frozenset() if webhook_enabled(cluster) else frozenset(parse_directives(GUIDE_PREFIX_NOTE)[0])
    refusals = replay(built.objects, move.applies, webhook, disabled)
    print(f"\n# From what {layout.output_dir(cluster.name)}/ holds now (one NicClusterPolicy) to the spec's pools")
    print("\n".join(move_lines(move, refusals, cluster.release.tag, webhook_enabled(cluster))))


def _flux(cluster: Cluster, builds: dict[tuple[str, str], OverlayBuild], user_overlay: bool) -> int:
    links = flux.chain(cluster, user_overlay)
    built = {}
    for link in links:
        build = builds[(cluster.name, link.step.directory)]
        if build.error:
            raise BuildFailed(f"kustomize build {build.directory} failed: {build.error}")
        built[link.step.directory] = build.objects
    print(f"# Flux order of {cluster.name} (output/{cluster.name}/flux): a Kustomization starts once those it waits "
          "on are Ready, and is Ready when all it applied is healthy")
    print(sync_plan.flux_plan(cluster, links, built), end="")
    return EXIT_OK
