"""The commands: each strings the stages together (cluster -> render -> build -> check -> write) and prints the
outcome. Errors are raised (``GenError``) and printed once, by ``generator.cli.main``."""

from __future__ import annotations

import sys
from pathlib import Path

from generator import catalog as catalog_data
from generator import write
from generator.build.charts import Chart, ChartSourceError, copy_chart, fetch_chart, find_chart
from generator.build.helm import ChartRender, helm_command, render_chart
from generator.build.overlays import OverlayBuild, build_overlays
from generator.check.bundles import check_bundles
from generator.check.schemas import store as schema_store
from generator.cluster.load import load_clusters, select
from generator.cluster.model import Cluster
from generator.cluster.overlay import has_user_overlay
from generator.errors import EXIT_FAILED, EXIT_OK, BuildFailed, ChecksFailed, InputError
from generator.render import Rendered, render
from generator.render.values import helm_values
from generator.report import sync_plan
from generator.report.reporter import counts, text


def _chart_roots(mirror: Path | None) -> list[Path]:
    return [*([mirror] if mirror else []), schema_store.default_cache_dir()]


def _charts(clusters: list[Cluster], mirror: Path | None) -> dict[str, ChartRender]:
    """Each cluster's chart, rendered with its values, where the chart is at hand (mirror or cache) and helm runs.
    Says in one line per release when it is not, and that the chart facts stand in."""
    command = helm_command()
    found: dict[str, Chart | None] = {}
    renders: dict[str, ChartRender] = {}
    kube = catalog_data.load().kubernetes_version
    for cluster in clusters:
        tag = cluster.release.tag
        if tag not in found:
            found[tag] = find_chart(tag, _chart_roots(mirror))
        chart = found[tag]
        if chart is not None and command is not None:
            renders[cluster.name] = render_chart(chart, helm_values(cluster), cluster.namespace, kube, command)
        elif cluster.argocd.delivery == "rendered":
            why = "helm is not installed (run scripts/setup.sh)" if chart is not None else \
                f"the network-operator chart {cluster.release.chart_version} is not at hand"
            raise InputError(f"{cluster.spec_file}: argocd.delivery is 'rendered', but {why}; run gen schemas pull, "
                             f"or pass --from DIR holding network-operator/{tag}/chart/*.tgz, or use delivery helm")
    missing = sorted({c.release.tag for c in clusters if c.name not in renders}, key=catalog_data.version_key)
    if missing:
        why = "helm is not installed" if command is None else "not in the cache or mirror"
        print(f"gen: note: network-operator chart {', '.join(missing)}: {why}; checked against the catalog's chart "
              "facts instead (gen schemas pull fetches the charts)", file=sys.stderr)
    return renders


def _render(repo: Path, names: list[str], mirror: Path | None = None) -> tuple[Rendered, dict[str, ChartRender]]:
    clusters = load_clusters(repo, names)
    for cluster in clusters:
        for note in cluster.notes:
            print(f"gen: warning: {note}", file=sys.stderr)
    charts = _charts(clusters, mirror)
    objects = {name: r.objects for name, r in charts.items() if not r.error}
    return render(clusters, {c.name for c in clusters if has_user_overlay(repo, c.name)}, objects), charts


def _checked(repo: Path, names: list[str], mirror: Path | None) -> Rendered:
    """Render and build every named cluster, check everything; ChecksFailed (after printing) on any error."""
    rendered, charts = _render(repo, names, mirror)
    builds = build_overlays(repo, [bundle for _, bundle in rendered.clusters])
    store = schema_store.open_store(mirror)
    findings = check_bundles(repo, rendered.clusters, rendered.fleet, builds, store, charts)
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


def plan(repo: Path, name: str, mirror: Path | None = None) -> int:
    """Render and kustomize-build the cluster's mode overlay; print Argo CD's apply order."""
    rendered, charts = _render(repo, select(repo, [name], all_clusters=False), mirror)
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


def schemas_pull(mirror: Path | None) -> int:
    """The CRDs and webhook schemas of every release (required), and their charts (optional: where the Helm
    repository cannot be reached, gen checks against the chart facts)."""
    cache = schema_store.default_cache_dir()
    fetched = schema_store.pull(cache, mirror)
    print(f"gen schemas pull: {len(fetched)} file(s) verified into {cache}")
    cat = catalog_data.load()
    got: list[str] = []
    failed: list[str] = []
    for tag in cat.release_tags:
        try:
            if mirror is not None:
                found = find_chart(tag, [mirror])
                chart = copy_chart(found, cache) if found else None
                if chart is None:
                    failed.append(f"{tag}: no chart in {mirror}/network-operator/{tag}/chart/")
            else:
                chart = find_chart(tag, [cache]) or fetch_chart(tag, cache)
        except ChartSourceError as exc:
            failed.append(f"{tag}: {exc}")
            continue
        if chart is not None:
            got.append(tag)
    print(f"gen schemas pull: charts of {len(got)} of {len(cat.release_tags)} release(s) in {cache}"
          + ("" if not failed else "; without the others, gen checks against the catalog's chart facts"))
    for line in failed:
        print(f"  {line}", file=sys.stderr)
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
