"""The commands: each strings the stages together (cluster -> render -> build -> check -> write) and prints the
outcome. Errors are raised (``GenError``) and printed once, by ``generator.cli.main``."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator import catalog as catalog_data
from generator import project_version, write
from generator.check.bundles import check_bundles, check_fleet
from generator.cluster.model import Cluster
from generator.cluster.overlay import has_user_overlay
from generator.cluster.parse import parse_cluster
from generator.cluster.repo import discover, select
from generator.core import layout
from generator.core.cache import CACHE_ENV, cache_root
from generator.core.errors import EXIT_FAILED, EXIT_OK, BuildFailed, ChecksFailed, InputError, printable
from generator.core.finding import Finding
from generator.core.kube import Obj
from generator.core.progress import QUIET, Progress, for_stderr
from generator.pipeline import records as memo
from generator.pipeline.clusters import Fleet, load_fleet
from generator.programs.helm import (
    ChartRender,
    FilesRender,
    HelmMissing,
    helm_command,
    render_chart,
    render_chart_files,
)
from generator.programs.kustomize import kustomize_command
from generator.programs.overlays import OverlayBuild, build_overlays
from generator.render import Rendered, output_bundles, rdma_chart, render
from generator.render.operator_values import helm_values
from generator.render.output import Bundle
from generator.render.rdma_values import VALUES_FILE as CHART_VALUES_FILE
from generator.render.rdma_values import chart_values
from generator.render.rendered_chart import release_dir
from generator.report import sync_plan
from generator.report.reporter import counts, text
from generator.sources import schema_store
from generator.sources.chart_store import Chart, ChartSourceError, copy_chart, fetch_chart, find_chart


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
    if note:
        _chart_note({c.release.tag for c in clusters if c.name not in renders}, command)
    return renders


def _chart_note(tags: set[str], command: list[str] | None) -> None:
    """Say (once per release and process) that these releases' charts are not rendered, and why."""
    missing = sorted(tags - _noted, key=catalog_data.version_key)
    if missing:
        _noted.update(missing)
        why = "helm is not installed" if command is None else "not in the cache or mirror"
        print(f"gen: note: network-operator chart {', '.join(missing)}: {why}; checked against the catalog's chart "
              "facts instead (gen schemas pull fetches the charts)", file=sys.stderr)


@dataclass(frozen=True)
class Checked:
    """Clusters rendered, built and checked in memory: what `gen bundle` would write, and what it found."""

    rendered: Rendered
    charts: dict[str, ChartRender]
    builds: dict[tuple[str, str], OverlayBuild]
    findings: list[Finding]
    chart_renders: dict[str, FilesRender] = field(default_factory=dict)  # the rdma-infiniband chart, per cluster
    by_cluster: dict[str, list[Finding]] = field(default_factory=dict)  # each cluster's findings
    fleet_findings: list[Finding] = field(default_factory=list)

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
                   with_chart: bool = False, progress: Progress = QUIET, fleet_release: str | None = None,
                   previous: Callable[[str], Sequence[Obj] | None] | None = None) -> Checked:
    """Render ``clusters`` (and the bootstrap of ``fleet_members``, and with ``with_chart`` the rdma-infiniband
    chart), build every mode overlay with kustomize, render their charts where at hand, and check everything (the
    bootstrap with the schemas of ``fleet_release``, by default the first cluster's release). ``previous``: what
    Argo CD applied before, by cluster name (the objects' CEL rules then run as on an update). Nothing is printed but
    the chart notes; nothing is written."""
    overlays = _user_overlays(repo, clusters)
    charts = _charts(clusters, mirror)
    objects = {name: r.objects for name, r in charts.items() if not r.error}
    rendered = render(clusters, overlays, objects, fleet=fleet_members,
                      chart_defaults=chart_defaults() if with_chart else None)
    builds = build_overlays(repo, [bundle for _, bundle in rendered.clusters], progress)
    chart_renders = _chart_renders(clusters) if with_chart and clusters else {}
    store = schema_store.open_store(mirror)
    progress.phase("clusters checked", len(rendered.clusters))
    by_cluster = {}
    for pair in rendered.clusters:
        by_cluster[pair[0].name] = check_bundles(repo, [pair], None, builds, store, charts, chart_renders, previous)
        progress.advance()
    progress.done()
    release = fleet_release or (rendered.clusters[0][0].release.tag if rendered.clusters else None)
    fleet_findings = check_fleet(rendered.fleet, release, store) if rendered.fleet is not None and release else []
    findings = sorted({f for found in [*by_cluster.values(), fleet_findings] for f in found}, key=Finding.sort_key)
    return Checked(rendered, charts, builds, findings, chart_renders, by_cluster, fleet_findings)


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


@dataclass(frozen=True)
class Outcome:
    """What ``gen bundle`` writes and ``gen check`` compares: the selected clusters' bundles (rendered, or recorded
    and read back from output/), the fleet bootstrap and the rdma-infiniband chart when they are part of it, and what
    the output directory should hold."""

    bundles: list[Bundle]
    fleet: Bundle | None
    chart: Bundle | None
    everyone: list[str] | None  # every cluster of the repo; None when a spec does not load
    broken: list[str]  # the specs that do not load (others than the selected)
    release_dirs: set[str]  # output/ directories of releases' CRDs the fleet's rendered delivery needs
    asks_previous: bool = False  # an object of a selected cluster has an update rule (oldSelf): gen check's note

    def all_bundles(self, *, with_fleet: bool = False) -> list[Bundle]:
        """As ``Rendered.bundles``: the clusters', the shared ones they read, the chart, and the fleet when asked."""
        return output_bundles(self.bundles, self.chart, self.fleet if with_fleet else None)


def _environment(mirror: Path | None, with_chart: bool) -> str:
    return memo.environment(kustomize_command(), helm_command(), _environment_charts(mirror), with_chart)


def _all_findings(entries: list[dict[str, Any]], extra: list[Finding]) -> list[Finding]:
    """The findings the recorded clusters had when they were checked, and ``extra``; sorted."""
    findings = [memo.finding_from(f) for entry in entries for f in entry["findings"]] + extra
    return sorted(set(findings), key=Finding.sort_key)


def _note_charts(tags: set[str], mirror: Path | None) -> None:
    """The chart note for these releases (those whose chart is not at hand, or all when helm is missing)."""
    command = helm_command()
    shas = dict(_environment_charts(mirror))
    _chart_note({tag for tag in tags if command is None or not shas.get(tag)}, command)


def _from_memo(repo: Path, names: list[str], mirror: Path | None, with_chart: bool,
               read: dict[str, tuple[dict[str, Any], Bundle | None]]) -> Outcome | None:
    """The outcome without rendering anything, when every spec of the repo and the fleet have a record of their
    current inputs and output/ holds exactly the recorded files; else None. ``read``: the clusters' records and
    their bundles read back from output/ (None: not as recorded), kept for the run that renders the others."""
    everyone = discover(repo)
    written = (repo / layout.output_dir(layout.CHARTS) / write.MANIFEST_NAME).is_file()
    chart_wanted = with_chart or written
    memory = memo.Memo(_environment(mirror, chart_wanted))
    keys: dict[str, str] = {}
    entries: dict[str, dict[str, Any]] = {}
    for name in everyone:
        key = memory.cluster_key(repo, name)
        entry = memory.get(key) if key else None
        if key is None or entry is None:
            return None
        keys[name], entries[name] = key, entry
    if chart_wanted != (with_chart or written or any(e["source"] == "chart" for e in entries.values())):
        return None
    fleet_entry = memory.get(memory.fleet_key(keys, names, chart_wanted))
    if fleet_entry is None:
        return None
    bundles = []
    for name in names:
        bundle = memo.bundle_from_disk(repo, entries[name]["bundle"])
        read[name] = (entries[name]["bundle"], bundle)
        if bundle is None:
            return None
        bundles.append(bundle)
    fleet = memo.bundle_from_disk(repo, fleet_entry["fleet"]) if fleet_entry["fleet"] else None
    chart = memo.bundle_from_disk(repo, fleet_entry["chart"]) if fleet_entry["chart"] else None
    if any(b is None for b in bundles) or (fleet_entry["fleet"] and fleet is None) or \
            (fleet_entry["chart"] and chart is None):
        return None
    for user_overlay in (n for n in names if (repo / layout.user_overlay_dir(n)).exists()):
        has_user_overlay(repo, user_overlay)  # refusals (a link out of the repo, a FIFO) are said as before
    for name in names:
        for note in entries[name]["notes"]:
            print(f"gen: warning: {note}", file=sys.stderr)
    _note_charts({entries[n]["release"] for n in names}, mirror)
    sys.stderr.write(text(_all_findings([entries[n] for n in names],
                                        [memo.finding_from(f) for f in fleet_entry["findings"]])))
    return Outcome([b for b in bundles if b is not None], fleet, chart, everyone, [],
                   {d for e in entries.values() if (d := e["release_dir"])},
                   any(entries[n].get("asks_previous") for n in names))


def _environment_charts(mirror: Path | None) -> list[tuple[str, str]]:
    roots = chart_roots(mirror)
    out = []
    for tag in catalog_data.load().release_tags:
        try:
            found = find_chart(tag, roots)
        except ChartSourceError:
            found = None
        out.append((tag, found.sha256 if found else ""))
    return out


def _checked(repo: Path, names: list[str], mirror: Path | None, with_chart: bool = False,
             progress: Progress = QUIET, against: str | None = None, updates: bool = False) -> Outcome:
    """Render and build every named cluster (and the rdma-infiniband chart when asked, or when it is part of the
    output), check everything; ChecksFailed (after printing) on any error. Clusters (and the fleet) whose inputs are
    unchanged since a run recorded them come from output/ (generator.pipeline.records). ``updates``: check them as updates of
    the output committed at ``against`` (None: the default revision, skipped with a note outside git); a cluster
    whose output differs from that commit is checked again, whatever the records say (they hold create checks)."""
    previous = None
    changed: set[str] = set()
    if updates:
        from generator.manifests.committed import CommittedOutput

        previous = CommittedOutput(repo, against)
        differ = previous.changed_clusters()
        changed = set(names) | set(discover(repo)) if differ is None else differ
    read: dict[str, tuple[dict[str, Any], Bundle | None]] = {}
    fast = None if changed & set(names) else _from_memo(repo, names, mirror, with_chart, read)
    if fast is not None:
        if previous is not None:
            skipped = previous.revision is None and fast.asks_previous
            for note in [previous.skipped] if skipped else previous.unchanged_note():
                print(f"gen check: note: {note}", file=sys.stderr)
        return fast
    fleet = load_fleet(repo, names)
    _warn_notes(fleet.selected)
    with_chart = with_chart or wants_chart(repo, [*fleet.selected, *fleet.others])
    memory = memo.Memo(_environment(mirror, with_chart))
    keys = {c.name: memory.cluster_key(repo, c.name) for c in [*fleet.selected, *fleet.others]}
    recorded: dict[str, tuple[dict[str, Any], Bundle]] = {}
    for cluster in fleet.selected:
        key = keys[cluster.name]
        entry = memory.get(key) if key else None
        bundle = None
        if entry is not None:
            record, bundle = read.get(cluster.name, (None, None))
            if record != entry["bundle"]:  # not read yet (or another record)
                bundle = memo.bundle_from_disk(repo, entry["bundle"])
        if entry is not None and bundle is not None and cluster.name not in changed:
            recorded[cluster.name] = (entry, bundle)
    todo = [c for c in fleet.selected if c.name not in recorded]
    _note_charts({c.release.tag for c in fleet.selected}, mirror)  # in one line, as a full run says it
    release = fleet.selected[0].release.tag if fleet.selected else None
    asked: set[str] = set()

    def ask(name: str) -> Sequence[Obj] | None:
        """What Argo CD applied before (when comparing), and which clusters have objects with update rules."""
        asked.add(name)
        return previous(name) if previous is not None else None

    checked = check_clusters(repo, todo, fleet.everyone or [], mirror, with_chart, progress, release, ask)
    for note in previous.notes if previous is not None else []:
        print(f"gen check: note: {note}", file=sys.stderr)
    findings = _all_findings([e for e, _ in recorded.values()], checked.findings)
    sys.stderr.write(text(findings))
    errors = counts(findings)[0]
    if errors:
        raise ChecksFailed(f"validation failed: {errors} error(s); nothing written")
    rendered = {cluster.name: bundle for cluster, bundle in checked.rendered.clusters}
    for cluster, bundle in checked.rendered.clusters:
        key = keys[cluster.name]
        if key is not None:
            memory.record(key, _cluster_entry(cluster, bundle, checked.by_cluster[cluster.name],
                                              cluster.name in asked))
    if fleet.everyone is not None and all(keys.values()) and checked.rendered.fleet is not None:
        memory.record(memory.fleet_key({n: k for n, k in keys.items() if k}, names, with_chart), {
            "fleet": memo.bundle_record(checked.rendered.fleet),
            "chart": memo.bundle_record(checked.rendered.chart) if checked.rendered.chart else None,
            "findings": [memo.finding_json(f) for f in checked.fleet_findings]})
    bundles = [recorded[c.name][1] if c.name in recorded else rendered[c.name] for c in fleet.selected]
    everyone = fleet.everyone
    release_dirs = {release_dir(c.release.tag) for c in everyone or [] if c.argocd.delivery == "rendered"}
    return Outcome(bundles, checked.rendered.fleet, checked.rendered.chart,
                   [c.name for c in everyone] if everyone is not None else None,
                   [e.file for e in fleet.broken], release_dirs)


def _cluster_entry(cluster: Cluster, bundle: Bundle, findings: list[Finding], asks_previous: bool) -> dict[str, Any]:
    return {"bundle": memo.bundle_record(bundle), "notes": list(cluster.notes), "release": cluster.release.tag,
            "asks_previous": asks_previous,
            "source": cluster.argocd.source,
            "release_dir": release_dir(cluster.release.tag) if cluster.argocd.delivery == "rendered" else "",
            "findings": [memo.finding_json(f) for f in findings]}


def _expected_dirs(outcome: Outcome) -> set[str] | None:
    """The output/ directories a full ``gen bundle --all`` writes; None when a spec does not load."""
    if outcome.everyone is None:
        return None
    releases = {read.cluster for bundle in outcome.bundles for read in bundle.reads} | outcome.release_dirs
    charts = {layout.CHARTS} if outcome.chart is not None else set()
    return set(outcome.everyone) | {layout.FLEET} | releases | charts


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
    started = time.monotonic()
    progress = for_stderr()
    outcome = _checked(repo, select(repo, names, all_clusters), mirror, with_chart, progress)
    with_fleet = outcome.fleet is not None
    if not with_fleet and outcome.broken:
        print(f"gen: warning: {layout.output_dir(layout.FLEET)}/ not updated: "
              f"{', '.join(outcome.broken)} do(es) not load (gen bundle --all says why)",
              file=sys.stderr)
    bundles = outcome.all_bundles(with_fleet=with_fleet)
    progress.phase("bundles written", len(bundles))
    try:
        report = write.apply(repo, bundles, prune=prune, all_clusters=all_clusters, force=force,
                             lock_timeout=_lock_timeout(), progress=progress.advance)
    finally:
        progress.done()
    print("\n".join(report.lines()))
    print(summary_line("gen bundle", len(outcome.bundles), len(report.written), len(report.unchanged),
                       time.monotonic() - started))
    for path in report.refused:
        print(f"gen: warning: {path}: not written by gen; kept (gen check reports it as stray): delete it, or "
              f"rerun with --force", file=sys.stderr)
    expected = _expected_dirs(outcome)
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


def summary_line(command: str, clusters: int, written: int, unchanged: int, seconds: float) -> str:
    """The run in one line: ``gen bundle: 500 clusters, 12 files written, 10,488 unchanged, 4.2 s``."""
    return (f"{command}: {clusters:,} cluster{'' if clusters == 1 else 's'}, {written:,} file"
            f"{'' if written == 1 else 's'} written, {unchanged:,} unchanged, {seconds:.1f} s")


def check(repo: Path, names: list[str], *, all_clusters: bool, mirror: Path | None, against: str | None = None) -> int:
    started = time.monotonic()
    outcome = _checked(repo, select(repo, names, all_clusters), mirror, progress=for_stderr(), against=against,
                       updates=True)
    bundles = outcome.all_bundles(with_fleet=all_clusters)
    drift = write.check(repo, bundles, all_clusters=all_clusters)
    if not drift:
        files = sum(len(b.files) for b in bundles)
        print(f"gen check: output/ is up to date with {len(outcome.bundles)} cluster spec(s) ({files:,} files, "
              f"{time.monotonic() - started:.1f} s)")
        return EXIT_OK
    for item in drift:
        print(printable(item.render()))
        if item.diff:
            print(item.diff, end="" if item.diff.endswith("\n") else "\n")
    flags = sorted({flag for item in drift for flag in item.fix.split()}, key=["--prune", "--force"].index)
    target = "--all" if all_clusters else " ".join(f"--cluster {b.cluster}" for b in outcome.bundles)
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
    "checked": "clusters checked, by digest of every input: their files' sha256 and warnings",
    "parsed-yaml": "gen's YAML data and the pinned CRDs, parsed (by digest of the text)",
}
