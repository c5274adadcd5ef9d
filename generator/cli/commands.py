"""The commands: each strings the stages together (cluster -> render -> build -> check -> write) and prints the
outcome. Errors are raised (``GenError``) and printed once, by ``generator.cli.main``."""

from __future__ import annotations

import sys
from pathlib import Path

from generator import catalog as catalog_data
from generator import write
from generator.build.overlays import OverlayBuild, build_overlays
from generator.check.bundles import check_bundles
from generator.check.schemas import store as schema_store
from generator.cluster.load import load_clusters, select
from generator.cluster.overlay import has_user_overlay
from generator.errors import EXIT_FAILED, EXIT_OK, BuildFailed, ChecksFailed, InputError
from generator.render import Rendered, render
from generator.report import sync_plan
from generator.report.reporter import counts, text


def _render(repo: Path, names: list[str]) -> Rendered:
    clusters = load_clusters(repo, names)
    return render(clusters, {c.name for c in clusters if has_user_overlay(repo, c.name)})


def _checked(repo: Path, names: list[str], mirror: Path | None) -> Rendered:
    """Render and build every named cluster, check everything; ChecksFailed (after printing) on any error."""
    rendered = _render(repo, names)
    builds = build_overlays(repo, rendered.bundles())
    store = schema_store.open_store(mirror)
    findings = check_bundles(repo, rendered.clusters, rendered.fleet, builds, store)
    sys.stderr.write(text(findings))
    errors, _ = counts(findings)
    if errors:
        raise ChecksFailed(f"validation failed: {errors} error(s); nothing written")
    return rendered


def bundle(repo: Path, names: list[str], all_clusters: bool, *, prune: bool, force: bool,
           mirror: Path | None) -> int:
    if prune and not all_clusters:
        raise InputError("--prune needs --all (it removes output of clusters whose spec is gone)")
    rendered = _checked(repo, select(repo, names, all_clusters), mirror)
    report = write.apply(repo, rendered.bundles(with_fleet=all_clusters), prune=prune, all_clusters=all_clusters,
                         force=force)
    print("\n".join(report.lines()))
    return EXIT_OK


def check(repo: Path, names: list[str], *, all_clusters: bool, mirror: Path | None) -> int:
    rendered = _checked(repo, select(repo, names, all_clusters), mirror)
    drift = write.check(repo, rendered.bundles(with_fleet=all_clusters), all_clusters=all_clusters)
    if not drift:
        print(f"gen check: output/ is up to date with {len(rendered.clusters)} cluster spec(s)")
        return EXIT_OK
    for item in drift:
        print(f"{item.path}: {item.kind}")
        if item.diff:
            print(item.diff, end="" if item.diff.endswith("\n") else "\n")
    print(f"gen check: {len(drift)} file(s) out of date; run: gen bundle --all"
          + (" --prune" if any(d.kind == "stray" for d in drift) else ""), file=sys.stderr)
    return EXIT_FAILED


def plan(repo: Path, name: str) -> int:
    """Render and kustomize-build the cluster's mode overlay; print Argo CD's apply order."""
    rendered = _render(repo, select(repo, [name], all_clusters=False))
    [(cluster, bundle)] = rendered.clusters
    result: OverlayBuild = build_overlays(repo, [bundle])[(cluster.name, cluster.mode)]
    if result.error:
        raise BuildFailed(f"kustomize build {result.directory} failed: {result.error}")
    print(f"# Argo CD sync order of {cluster.name} (overlays/{cluster.mode}); waves wait for health of the "
          "previous one")
    print(sync_plan.render(sync_plan.plan(cluster, result.objects)), end="")
    return EXIT_OK


def schemas_pull(mirror: Path | None) -> int:
    cache = schema_store.default_cache_dir()
    fetched = schema_store.pull(cache, mirror)
    print(f"gen schemas pull: {len(fetched)} file(s) verified into {cache}")
    return EXIT_OK


def catalog(what: str | None) -> int:
    cat = catalog_data.load()
    if what in (None, "releases"):
        print(f"network-operator releases (chart {cat.chart_repository} {cat.chart_name}):")
        for tag, rel in cat.releases.items():
            default = "  (default)" if tag == cat.default_release else ""
            print(f"  {tag:9} chart {rel.chart_version:8} ipoib ipam: {', '.join(rel.ipam)}{default}")
    if what in (None, "vm-sizes"):
        print("Azure VM sizes with InfiniBand:")
        for name, size in cat.vm_sizes.items():
            print(f"  {name:28} {size.nics} x {size.link:13} {size.nic_family:10} devices "
                  f"{','.join(size.device_ids):10} {size.description}")
    return EXIT_OK
