"""The commands: each strings the stages together (cluster -> render -> build -> check -> write) and prints the
outcome. Errors are raised (``GenError``) and printed once, by ``generator.cli.main``."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from generator import catalog as catalog_data
from generator import layout, project_version, write
from generator.build.charts import Chart, ChartSourceError, copy_chart, fetch_chart, find_chart
from generator.build.helm import ChartRender, FilesRender, HelmMissing, helm_command, render_chart, render_chart_files
from generator.build.overlays import OverlayBuild, build_overlays
from generator.cache import CACHE_ENV, cache_root
from generator.check.bundles import check_bundles
from generator.check.schemas import store as schema_store
from generator.cluster.load import Fleet, load_fleet, parse_cluster, select
from generator.cluster.model import Cluster
from generator.cluster.overlay import has_user_overlay
from generator.errors import EXIT_FAILED, EXIT_OK, BuildFailed, ChecksFailed, InputError, printable
from generator.kube import Obj
from generator.render import Rendered, rdma_chart, render
from generator.render.chart import release_dir
from generator.render.chart_values import VALUES_FILE as CHART_VALUES_FILE
from generator.render.chart_values import chart_values
from generator.render.values import helm_values
from generator.report import sync_plan
from generator.report.finding import Finding
from generator.report.reporter import counts, text


def chart_roots(mirror: Path | None) -> list[Path]:
    return [*([mirror] if mirror else []), schema_store.default_cache_dir()]


_noted: set[str] = set()  # releases whose missing chart this process has already said


def _charts(clusters: list[Cluster], mirror: Path | None, note: bool = True) -> dict[str, ChartRender]:
    """Each cluster's chart, rendered with its values, where the chart is at hand (mirror or cache) and helm runs.
    Says in one line per release when it is not, and that the chart facts stand in."""
    command = helm_command()
    found: dict[str, Chart | None] = {}
    renders: dict[str, ChartRender] = {}
    kube = catalog_data.load().kubernetes_version
    for cluster in clusters:
        tag = cluster.release.tag
        if tag not in found:
            found[tag] = find_chart(tag, chart_roots(mirror))
        chart = found[tag]
        if chart is not None and command is not None:
            renders[cluster.name] = render_chart(chart, helm_values(cluster), cluster.namespace, kube, command)
        elif cluster.argocd.delivery == "rendered":
            why = "helm is not installed (run scripts/setup.sh)" if chart is not None else \
                f"the network-operator chart {cluster.release.chart_version} is not at hand"
            raise InputError(f"{cluster.spec_file}: argocd.delivery is 'rendered', but {why}; run gen schemas pull, "
                             f"or pass --from DIR holding network-operator/{tag}/chart/*.tgz, or use delivery helm")
    missing = sorted({c.release.tag for c in clusters if c.name not in renders} - _noted, key=catalog_data.version_key)
    if missing and note:
        _noted.update(missing)
        why = "helm is not installed" if command is None else "not in the cache or mirror"
        print(f"gen: note: network-operator chart {', '.join(missing)}: {why}; checked against the catalog's chart "
              "facts instead (gen schemas pull fetches the charts)", file=sys.stderr)
    return renders


@dataclass(frozen=True)
class Checked:
    """Clusters rendered, built and checked in memory: what `gen bundle` would write, and what it found."""

    rendered: Rendered
    charts: dict[str, ChartRender]
    builds: dict[tuple[str, str], OverlayBuild]
    findings: list[Finding]
    chart_renders: dict[str, FilesRender] = field(default_factory=dict)  # the rdma-infiniband chart, per cluster

    @property
    def errors(self) -> int:
        return counts(self.findings)[0]


def _user_overlays(repo: Path, clusters: list[Cluster]) -> set[str]:
    """The clusters with an overlays/<name>/; refused for a cluster whose Application applies the chart."""
    found = {c.name for c in clusters if has_user_overlay(repo, c.name)}
    for cluster in clusters:
        if cluster.name in found and cluster.argocd.source == "chart":
            raise InputError(f"{cluster.spec_file}: field 'argocd.source': 'chart' makes Argo CD apply the "
                             f"rdma-infiniband chart, not the overlay, so {layout.user_overlay_dir(cluster.name)}/ "
                             "would never apply; move what it changes into the spec, or set argocd.source: overlay")
    return found


def chart_defaults() -> Cluster:
    """The cluster whose values are the rdma-infiniband chart's defaults."""
    return parse_cluster(rdma_chart.DEFAULTS_SPEC, "rdma-infiniband chart defaults")


def _chart_renders(clusters: list[Cluster]) -> dict[str, FilesRender]:
    """The rdma-infiniband chart rendered with each cluster's values (real helm, in parallel, cached)."""
    command = helm_command()
    if command is None:
        raise HelmMissing(f"helm is not installed, and output/{layout.CHARTS}/ (the rdma-infiniband chart) is part of "
                          "the output: gen checks it with helm; run scripts/setup.sh (it installs a pinned helm) or "
                          "set GEN_HELM")
    files = rdma_chart.chart_files(chart_defaults())

    def one(cluster: Cluster) -> FilesRender:
        return render_chart_files(rdma_chart.CHART_NAME, files, chart_values(cluster), cluster.namespace, command)

    with ThreadPoolExecutor(max_workers=min(len(clusters), (os.cpu_count() or 2) * 2) or 1) as pool:
        return dict(zip([c.name for c in clusters], pool.map(one, clusters), strict=True))


def wants_chart(repo: Path, clusters: list[Cluster]) -> bool:
    """Whether output/charts/ is part of the output: a cluster's Application applies the chart, or gen chart wrote
    it (gen keeps it current from then on; delete the directory to stop)."""
    written = repo / layout.output_dir(layout.CHARTS) / write.MANIFEST_NAME
    return any(c.argocd.source == "chart" for c in clusters) or written.is_file()


def check_clusters(repo: Path, clusters: list[Cluster], fleet_members: list[Cluster], mirror: Path | None,
                   with_chart: bool = False, previous: Callable[[str], Sequence[Obj] | None] | None = None,
                   ) -> Checked:
    """Render ``clusters`` (and the bootstrap of ``fleet_members``, and with ``with_chart`` the rdma-infiniband
    chart), build every mode overlay with kustomize, render their charts where at hand, and check everything.
    ``previous``: what Argo CD applied before, by cluster name (the objects' CEL rules then run as on an update).
    Nothing is printed but the chart notes; nothing is written."""
    overlays = _user_overlays(repo, clusters)
    charts = _charts(clusters, mirror)
    objects = {name: r.objects for name, r in charts.items() if not r.error}
    rendered = render(clusters, overlays, objects, fleet=fleet_members,
                      chart_defaults=chart_defaults() if with_chart else None)
    builds = build_overlays(repo, [bundle for _, bundle in rendered.clusters])
    chart_renders = _chart_renders(clusters) if with_chart and clusters else {}
    store = schema_store.open_store(mirror)
    findings = check_bundles(repo, rendered.clusters, rendered.fleet, builds, store, charts, chart_renders, previous)
    return Checked(rendered, charts, builds, findings, chart_renders)


def _warn_notes(clusters: list[Cluster]) -> None:
    for cluster in clusters:
        for note in cluster.notes:
            print(f"gen: warning: {note}", file=sys.stderr)


def render_clusters(repo: Path, names: list[str], mirror: Path | None = None, *, chart_note: bool = True,
                    ) -> tuple[Rendered, dict[str, ChartRender], Fleet]:
    """The named clusters' bundles as ``gen bundle`` renders them (with each chart's render where it is at hand),
    and the fleet. ``chart_note``: say when a chart is not at hand and the chart facts stand in."""
    fleet = load_fleet(repo, names)
    _warn_notes(fleet.selected)
    charts = _charts(fleet.selected, mirror, chart_note)
    objects = {name: r.objects for name, r in charts.items() if not r.error}
    rendered = render(fleet.selected, {c.name for c in fleet.selected if has_user_overlay(repo, c.name)}, objects,
                      fleet=fleet.everyone or [])
    return rendered, charts, fleet


def _checked(repo: Path, names: list[str], mirror: Path | None, with_chart: bool = False,
             against: str | None = None, updates: bool = False) -> tuple[Rendered, Fleet]:
    """Render and build every named cluster (and the rdma-infiniband chart when asked, or when it is part of the
    output), check everything; ChecksFailed (after printing) on any error. ``updates``: check them as updates of
    the output committed at ``against`` (None: the default revision, skipped with a note outside git)."""
    fleet = load_fleet(repo, names)
    _warn_notes(fleet.selected)
    with_chart = with_chart or wants_chart(repo, [*fleet.selected, *fleet.others])
    previous = None
    if updates:
        from generator.manifests.previous import CommittedOutput

        previous = CommittedOutput(repo, against)
    checked = check_clusters(repo, fleet.selected, fleet.everyone or [], mirror, with_chart, previous)
    for note in previous.notes if previous is not None else []:
        print(f"gen check: note: {note}", file=sys.stderr)
    sys.stderr.write(text(checked.findings))
    if checked.errors:
        raise ChecksFailed(f"validation failed: {checked.errors} error(s); nothing written")
    return checked.rendered, fleet


def _expected_dirs(fleet: Fleet, rendered: Rendered) -> set[str] | None:
    """The output/ directories a full ``gen bundle --all`` writes; None when a spec does not load."""
    everyone = fleet.everyone
    if everyone is None:
        return None
    releases = {read.cluster for _, bundle in rendered.clusters for read in bundle.reads}
    releases |= {release_dir(c.release.tag) for c in everyone if c.argocd.delivery == "rendered"}
    charts = {layout.CHARTS} if rendered.chart is not None else set()
    return {c.name for c in everyone} | {layout.FLEET} | releases | charts


def _lock_timeout() -> float:
    """How long to wait for another run's lock on output/: ``$GEN_LOCK_TIMEOUT`` seconds, else 30."""
    raw = os.environ.get("GEN_LOCK_TIMEOUT", "")
    if not raw:
        return write.DEFAULT_LOCK_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 86400:
        raise InputError(f"GEN_LOCK_TIMEOUT={raw!r}: give the seconds to wait for output/.gen.lock (0 to 86400)")
    return value


def bundle(repo: Path, names: list[str], all_clusters: bool, *, prune: bool, force: bool,
           mirror: Path | None, with_chart: bool = False) -> int:
    if prune and not all_clusters:
        raise InputError("--prune needs --all (it removes output of clusters whose spec is gone)")
    rendered, fleet = _checked(repo, select(repo, names, all_clusters), mirror, with_chart)
    with_fleet = rendered.fleet is not None
    if not with_fleet and fleet.broken:
        print(f"gen: warning: {layout.output_dir(layout.FLEET)}/ not updated: "
              f"{', '.join(e.file for e in fleet.broken)} do(es) not load (gen bundle --all says why)",
              file=sys.stderr)
    report = write.apply(repo, rendered.bundles(with_fleet=with_fleet), prune=prune, all_clusters=all_clusters,
                         force=force, lock_timeout=_lock_timeout())
    print("\n".join(report.lines()))
    for path in report.refused:
        print(f"gen: warning: {path}: not written by gen; kept (gen check reports it as stray): delete it, or "
              f"rerun with --force", file=sys.stderr)
    expected = _expected_dirs(fleet, rendered)
    if expected is not None and not prune:
        for name in write.output_dirs(repo):
            if name not in expected:
                print(f"gen: warning: {layout.output_dir(name)}/ is stale: no cluster spec generates it any more; "
                      "gen bundle --all --prune removes it", file=sys.stderr)
    return EXIT_OK


def chart(repo: Path, names: list[str], *, force: bool, mirror: Path | None) -> int:
    """``gen chart``: write output/charts/rdma-infiniband/ and the bundles (each with its chart values file) of the
    named clusters, or of every cluster; checked as ``gen bundle`` checks, the chart against each cluster's overlay."""
    code = bundle(repo, names, not names, prune=False, force=force, mirror=mirror, with_chart=True)
    print(f"gen chart: {rdma_chart.chart_path()}/ (chart {rdma_chart.CHART_NAME} {project_version()}); each "
          f"cluster's values: {layout.output_dir('<name>')}/{CHART_VALUES_FILE}; gen bundle and gen check keep them "
          "current")
    return code


def check(repo: Path, names: list[str], *, all_clusters: bool, mirror: Path | None, against: str | None = None) -> int:
    rendered, _ = _checked(repo, select(repo, names, all_clusters), mirror, against=against, updates=True)
    drift = write.check(repo, rendered.bundles(with_fleet=all_clusters), all_clusters=all_clusters)
    if not drift:
        print(f"gen check: output/ is up to date with {len(rendered.clusters)} cluster spec(s)")
        return EXIT_OK
    for item in drift:
        print(printable(item.render()))
        if item.diff:
            print(item.diff, end="" if item.diff.endswith("\n") else "\n")
    flags = sorted({flag for item in drift for flag in item.fix.split()}, key=["--prune", "--force"].index)
    target = "--all" if all_clusters else " ".join(f"--cluster {c.name}" for c, _ in rendered.clusters)
    if "--prune" in flags and not all_clusters:
        flags.remove("--prune")
    print(f"gen check: {len(drift)} file(s) out of date; run: gen bundle {' '.join([target, *flags])}",
          file=sys.stderr)
    return EXIT_FAILED


def plan(repo: Path, name: str, mirror: Path | None = None) -> int:
    """Render and kustomize-build the cluster's mode overlay; print Argo CD's apply order."""
    rendered, charts, _ = render_clusters(repo, select(repo, [name], all_clusters=False), mirror)
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
        print(f"network-operator releases (chart {cat.chart_repository} {cat.chart_name}; status as of "
              f"{cat.newest.tag}'s lifecycle notes; gen releases has the long form):")
        for tag, rel in cat.releases.items():
            default = "  (default)" if tag == cat.default_release else ""
            print(f"  {tag:9} chart {rel.chart_version:8} {rel.status.status:11} ipoib ipam: {', '.join(rel.ipam)}"
                  f"{default}")
            for component, image in rel.images.items():
                print(f"      {component:22} {image.repository}/{image.image}:{image.version}")
    if what in (None, "vm-sizes"):
        print("Azure VM sizes with InfiniBand:")
        print(f"  {'size':28} {'GPUs':>4}  {'InfiniBand NICs':17} {'family':11} {'PCI IDs':10} {'IPoIB':11} "
              "description")
        for name, size in cat.vm_sizes.items():
            nics = f"{size.nics} x {size.link}"
            print(f"  {name:28} {size.gpus:>4}  {nics:17} {size.nic_family:11} {','.join(size.device_ids):10} "
                  f"{size.ipoib_interface:11} {size.description}")
    return EXIT_OK


def cache(action: str) -> int:
    """Where gen keeps derived data and pulled files, and how much; ``clear`` removes it all (always safe: the next
    run derives it again, and pulls schemas from the network or --from DIR)."""
    root = cache_root()
    parts = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    if action == "clear":
        for part in parts:
            shutil.rmtree(part, ignore_errors=True)
        print(f"gen cache: cleared {root}")
        return EXIT_OK
    print(f"gen cache: {root} (${CACHE_ENV}, else $XDG_CACHE_HOME/rdma-gitops, else ~/.cache/rdma-gitops)")
    for part in parts:
        files = [f for f in part.rglob("*") if f.is_file()]
        print(f"  {part.name + '/':16} {len(files):6} file(s) {sum(f.stat().st_size for f in files) / 1e6:8.1f} MB  "
              f"{_CACHE_PARTS.get(part.name, 'no longer used by this version (gen cache clear removes it)')}")
    return EXIT_OK


_CACHE_PARTS = {
    "schemas": "pulled CRDs, webhook schemas and charts (sha256-checked on every read)",
    "kustomize": "kustomize builds, by digest of every input (validated again on every run)",
    "helm-renders": "helm template renders, by digest of chart and values (validated again on every run)",
}
