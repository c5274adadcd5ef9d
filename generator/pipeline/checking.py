"""Stages 2 to 4 for a set of clusters, in memory: render their bundles (and the fleet bootstrap, and the
rdma-infiniband chart when it is part of the output), build every mode overlay with kustomize, render their charts
where at hand, and check everything. Nothing is written."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from generator.check.bundles import check_bundles, check_fleet_part, check_fleet_parts
from generator.cluster.model import Cluster
from generator.cluster.overlay import has_user_overlay
from generator.core import layout
from generator.core.errors import InputError
from generator.core.finding import Finding
from generator.core.kube import Obj
from generator.core.progress import QUIET, Progress
from generator.pipeline.chart_renders import chart_defaults, gpu_operator_charts, operator_charts, rdma_chart_renders
from generator.pipeline.clusters import Fleet, load_fleet
from generator.pipeline.messages import Messages
from generator.programs.helm import ChartRender, FilesRender
from generator.programs.overlays import OverlayBuild, PreparedOverlays, prepare_overlays
from generator.render import Rendered, render
from generator.render.fleet import FleetPart, fleet_bundle_of, fleet_part
from generator.render.output import Bundle
from generator.report.reporter import counts
from generator.sources import schema_store

Previous = Callable[[str], Sequence[Obj] | None]  # cluster name -> what Argo CD applied before (None: unknown)


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
    fleet_parts: dict[str, tuple[FleetPart, tuple[Finding, ...]]] = field(default_factory=dict)  # by cluster

    @property
    def errors(self) -> int:
        return counts(self.findings)[0]


def user_overlays(repo: Path, clusters: list[Cluster]) -> set[str]:
    """The clusters with an overlays/<name>/; refused for a cluster whose Application applies the chart."""
    found = {c.name for c in clusters if has_user_overlay(repo, c.name)}
    for cluster in clusters:
        if cluster.name in found and cluster.argocd.source == "chart":
            raise InputError(f"{cluster.spec_file}: field 'argocd.source': 'chart' makes Argo CD apply the "
                             f"rdma-infiniband chart, not the overlay, so {layout.user_overlay_dir(cluster.name)}/ "
                             "would never apply; move what it changes into the spec, or set argocd.source: overlay")
    return found


@dataclass(frozen=True)
class FleetMembers:
    """Every cluster of the repo, for the fleet bootstrap: the ones parsed in this run, and the parts of the others
    as gen's records keep them (with what their checks found)."""

    parsed: list[Cluster]
    kept: dict[str, tuple[FleetPart, tuple[Finding, ...]]] = field(default_factory=dict)


def fleet_of(members: FleetMembers, store: schema_store.SchemaStore | None,
             ) -> tuple[Bundle, dict[str, tuple[FleetPart, tuple[Finding, ...]]], list[Finding]]:
    """The fleet bootstrap of ``members``, each member's part with its findings, and the bootstrap's findings."""
    parts = dict(members.kept)
    for cluster in members.parsed:
        part = fleet_part(cluster)
        parts[cluster.name] = (part, tuple(check_fleet_part(part, store)))
    fleet = fleet_bundle_of([part for part, _ in parts.values()])
    return fleet, parts, check_fleet_parts(fleet, [(p, list(f)) for p, f in parts.values()], store)


def check_clusters(repo: Path, clusters: list[Cluster], fleet_members: FleetMembers | None, mirror: Path | None,
                   messages: Messages, with_chart: bool = False, progress: Progress = QUIET,
                   previous: Previous | None = None) -> Checked:
    """Render ``clusters`` (and the bootstrap of ``fleet_members``, and with ``with_chart`` the rdma-infiniband
    chart), build every mode overlay with kustomize, render their charts where at hand, and check everything.
    ``previous``: what Argo CD applied before, by cluster name (the objects' CEL rules then run as on an update). Only
    the chart notes are said (through ``messages``); nothing is written."""
    overlays = user_overlays(repo, clusters)
    charts = operator_charts(clusters, mirror, messages)
    gpu_charts = gpu_operator_charts(clusters, mirror, messages)
    objects = {name: r.objects for name, r in charts.items() if not r.error}
    chart = render([], chart_defaults=chart_defaults() if with_chart else None).chart
    chart_renders = rdma_chart_renders(clusters) if with_chart and clusters else {}
    store = schema_store.open_store(mirror)
    builds: dict[tuple[str, str], OverlayBuild] = {}
    by_cluster = {}
    pairs: list[tuple[Cluster, Bundle]] = []
    progress.phase("clusters built and checked", len(clusters))
    # each chunk rendered as it is prepared: the first builds start after one chunk's rendering, not every one's
    for chunk, built in _built_in_turn(repo, clusters, lambda some: render(some, overlays, objects, fleet=[]).clusters):
        builds.update(built)
        pairs += chunk
        for pair in chunk:
            by_cluster[pair[0].name] = check_bundles(repo, [pair], None, builds, store, charts, chart_renders,
                                                     previous, gpu_charts=gpu_charts)
            progress.advance()
    progress.done()
    rendered = Rendered(pairs, None, chart)
    parts: dict[str, tuple[FleetPart, tuple[Finding, ...]]] = {}
    fleet_findings: list[Finding] = []
    if fleet_members is not None and (fleet_members.parsed or fleet_members.kept):
        fleet, parts, fleet_findings = fleet_of(fleet_members, store)
        rendered = Rendered(rendered.clusters, fleet, rendered.chart)
    findings = sorted({f for found in [*by_cluster.values(), fleet_findings] for f in found}, key=Finding.sort_key)
    return Checked(rendered, charts, builds, findings, chart_renders, by_cluster, fleet_findings, parts)


CHUNK = 48  # clusters whose overlays are built together while the ones before them are checked


def _built_in_turn(repo: Path, clusters: list[Cluster],
                   rendered: Callable[[list[Cluster]], list[tuple[Cluster, Bundle]]],
                   ) -> Iterator[tuple[list[tuple[Cluster, Bundle]], dict[tuple[str, str], OverlayBuild]]]:
    """The clusters in chunks, each ``rendered`` and with its mode overlays built: one chunk's are built (kustomize,
    in a thread that mostly waits for it) while the caller checks the one before and the next one is rendered and
    prepared (its keys taken, its files staged), so kustomize keeps building from one chunk to the next and Python's
    rendering and checks overlap its builds instead of coming before or after them. A build a chunk shares with an
    earlier one is read from the cache it was kept in, as a later run would, and each chunk is built and shared as
    ``build_overlays`` does (the same objects, the same verdicts)."""
    chunks = [clusters[i:i + CHUNK] for i in range(0, len(clusters), CHUNK)]
    if not chunks:
        return
    prepared: list[PreparedOverlays] = []  # staged: removed once built, or when this ends
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gen-builds") as pool:
            made = rendered(chunks[0])
            prepared.append(prepare_overlays(repo, [bundle for _, bundle in made]))
            running: Future[dict[tuple[str, str], OverlayBuild]] | None = pool.submit(prepared[0].build)
            for index in range(len(chunks)):
                following = rendered(chunks[index + 1]) if index + 1 < len(chunks) else None
                if following is not None:  # rendered and prepared while this chunk builds
                    prepared.append(prepare_overlays(repo, [bundle for _, bundle in following]))
                assert running is not None
                built = running.result()
                running = pool.submit(prepared[1].build) if following is not None else None
                prepared.pop(0).close()  # (once the next chunk's build has started)
                try:
                    yield made, built
                except GeneratorExit:  # checking stopped (an error): the build under way is waited for, its result
                    if running is not None and not running.cancel():  # dropped
                        with contextlib.suppress(Exception):
                            running.result()
                    raise
                made = following or []
    finally:
        for each in prepared:
            each.close()


def render_clusters(repo: Path, names: list[str], mirror: Path | None, messages: Messages, *,
                    chart_notes: bool = True) -> tuple[Rendered, dict[str, ChartRender], Fleet]:
    """The named clusters' bundles as ``gen bundle`` renders them (with each chart's render where it is at hand),
    and the fleet. The spec's warnings are said through ``messages``, and with ``chart_notes`` the charts not at
    hand."""
    fleet = load_fleet(repo, names)
    for cluster in fleet.selected:
        messages.warnings(cluster.notes)
    charts = operator_charts(fleet.selected, mirror, messages if chart_notes else None)
    objects = {name: r.objects for name, r in charts.items() if not r.error}
    rendered = render(fleet.selected, {c.name for c in fleet.selected if has_user_overlay(repo, c.name)}, objects,
                      fleet=fleet.everyone or [])
    return rendered, charts, fleet
