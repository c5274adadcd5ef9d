"""The checks of ``gen bundle`` and ``gen check``: everything Argo CD will apply, as it will apply it.

Per cluster, every mode overlay as kustomize built it (plus, for the cluster's mode, the example pods, which
must fit the policy Argo CD applies, and the AppProject, which must admit every object), then the Argo CD
objects against every supported Argo CD release, then the fleet bootstrap. A finding points at the file a
person edits: the generated file, or the user's ``overlays/<name>/`` patch, with its line.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from generator import catalog
from generator.catalog.charts import chart_facts
from generator.check.cel.rule import needs_previous
from generator.check.chart_objects import (
    CHART_RENDER,
    CHART_VALUES,
    IMAGE_MIRROR,
    IMAGE_PUBLISHED,
    IMAGE_REFERENCE,
    POOL_TAINTS,
    check_mirrored,
    check_taints,
    is_staging,
    mirror_message,
    taint_text,
    unmirrored,
    untolerated,
)
from generator.check.chart_policy import check_chart_policy
from generator.check.engine import Item, Location, built_locator, cluster_checker, locate
from generator.check.equivalence import ObjectKey, check_equivalence, object_key
from generator.check.flux import check_flux
from generator.check.gpu_bundle import check_gpu_bundle
from generator.check.invariants import check_invariants
from generator.check.pools import check_pool_taints
from generator.check.previous import attach
from generator.check.project import check_project
from generator.check.schema import check_schema
from generator.check.validators.kinds import Schemas, schemas_for
from generator.check.values_keys import values_problems
from generator.cluster.model import MODES, Cluster
from generator.core import layout
from generator.core.finding import Finding, JsonPath, Severity
from generator.core.formats import image_reference_error
from generator.core.fs import MAX_FILE_BYTES, read_regular
from generator.core.kube import KUSTOMIZATION_NAMES, Obj
from generator.core.objects import as_dict, as_str
from generator.core.rules import define, parse_directives
from generator.programs.helm import ChartRender, FilesRender
from generator.programs.overlays import OverlayBuild, user_overlay_files
from generator.render.argocd import PROJECT_FILE
from generator.render.cluster_bundle import EXAMPLE_FILE, VALUES_FILE
from generator.render.fleet import FleetPart
from generator.render.flux import FLUX_DIR
from generator.render.gpu import own_namespaces
from generator.render.operator_values import NFD_WORKER_TOLERATIONS, helm_values, nfd_worker_tolerations
from generator.render.output import Bundle
from generator.render.rdma_values import VALUES_FILE as CHART_VALUES_FILE
from generator.render.rendered_chart import CHART_DIR
from generator.sources.schema_store import SchemaStore
from generator.yamlio.load import Document, YamlInputError, load_documents

Previous = Callable[[str], Sequence[Obj] | None]  # cluster name -> what Argo CD applied before (None: unknown)
MAX_SOURCE_BYTES = MAX_FILE_BYTES

KUSTOMIZE_BUILD = define("kustomize-build", "error", "`kustomize build` of a directory failed", "build")


def _key(obj: Any) -> tuple[str, str]:
    return as_str(as_dict(obj).get("kind")), as_str(as_dict(as_dict(obj).get("metadata")).get("name"))


class _Sources:
    """The files one cluster's builds read, as items with positions. A file is parsed (with positions) only when a
    finding needs it: for an object's key, only the generated files whose rendered objects have that key (and the
    user overlay's files) are read."""

    def __init__(self, repo: Path, bundle: Bundle):
        self._files = {f"{layout.output_dir(bundle.cluster)}/{rel}": data for rel, data in bundle.files.items()}
        self._objects = {f"{layout.output_dir(bundle.cluster)}/{rel}": docs for rel, docs in bundle.objects.items()}
        root = os.path.realpath(repo)
        for path in user_overlay_files(repo, bundle.cluster):  # the user overlay and what it includes
            self._files[os.path.relpath(path, root)] = read_regular(path, MAX_SOURCE_BYTES, str(path))
        self._parsed: dict[str, list[Item]] = {}

    def in_file(self, display: str) -> list[Item]:
        if display not in self._parsed:
            self._parsed[display] = self._parse(display)
        return self._parsed[display]

    def _parse(self, display: str) -> list[Item]:
        data = self._files.get(display)
        if data is None or display.rsplit("/", 1)[-1] in KUSTOMIZATION_NAMES:
            return []
        try:  # (a fleet's clusters share most of their files but for gen's header: each parsed once)
            docs = load_documents(data, display, shared=True)
        except YamlInputError:
            return []  # kustomize reports what it cannot read
        disabled, _ = parse_directives(data.decode("utf-8", "replace"))
        return [Item(doc.value, display, _doc_locator(display, doc, disabled), disabled=disabled, doc=doc)
                for doc in docs]

    def with_key(self, key: tuple[str, str]) -> list[Item]:
        """The source documents of this kind and name, in file order."""
        found = []
        for display in self._files:
            rendered = self._objects.get(display)
            if rendered is not None and all(_key(doc) != key for doc in rendered):
                continue  # a generated file without it: no need to parse
            found += [item for item in self.in_file(display) if _key(item.obj) == key]
        return found


def _lazy_locator(sources: _Sources, key: tuple[str, str], fallback: str) -> Any:
    def locate_in(path: JsonPath) -> Location:
        return built_locator(sources.with_key(key), fallback)(path)

    return locate_in


def _doc_locator(display: str, doc: Document, disabled: frozenset[str]) -> Any:
    def locate_in(path: JsonPath) -> Location:
        line, column = doc.position(path)
        return display, line, column, disabled

    return locate_in


def _first_file(bundle: Bundle, obj: Any, fallback: str) -> str:
    """The generated file an object comes from, without parsing anything (for findings-free runs)."""
    for rel, docs in bundle.objects.items():
        if rel.rsplit("/", 1)[-1] not in KUSTOMIZATION_NAMES and any(_key(doc) == _key(obj) for doc in docs):
            return f"{layout.output_dir(bundle.cluster)}/{rel}"
    return fallback


def _chart_items(cluster: Cluster, chart: ChartRender | None) -> list[Item]:
    """The chart's objects as helm rendered them, when Argo CD renders the chart (helm delivery); with rendered
    delivery they are in the overlay already."""
    if chart is None or chart.error or cluster.argocd.delivery != "helm":
        return []
    label = f"network-operator chart {cluster.release.chart_version} (helm template)"
    return [Item(obj, label) for obj in chart.objects]


def _overlay_findings(repo: Path, cluster: Cluster, bundle: Bundle, build: OverlayBuild, chart: ChartRender | None,
                      store: SchemaStore | None, previous: Previous | None = None) -> list[Finding]:
    if build.error:
        return [KUSTOMIZE_BUILD.in_file(build.directory, f"kustomize build failed: {build.error}")]
    checker = cluster_checker(cluster, store)
    objects: list[tuple[Any, str]] = [(obj, _first_file(bundle, obj, build.directory)) for obj in build.objects]
    example = f"{layout.output_dir(cluster.name)}/{EXAMPLE_FILE}"
    mine = build.mode == cluster.mode  # what Argo CD applies: checked with the chart, the pods, the project
    chart_items = _chart_items(cluster, chart) if mine else []
    if mine:  # the example pods must fit the policy Argo CD applies
        objects += [(obj, example) for obj in bundle.objects[EXAMPLE_FILE]]
    items = [Item(obj, file) for obj, file in objects] + chart_items
    if mine and previous is not None:  # what Argo CD applied before: the CEL rules run as on an update
        wanted = [item for item in items[: len(build.objects)] if needs_previous(item.obj, checker.schemas)]
        before = previous(cluster.name) if wanted else None
        if before is not None:
            attach(wanted, before)
    everything = list(range(len(items)))
    nics = max(pool.vm_size.nics for pool in cluster.pools) if cluster.pools else cluster.vm_size.nics
    found = checker.findings(items, [(everything, everything)], vm_nics=nics, pools=cluster.pools)
    found += check_mirrored([(i, item.obj) for i, item in enumerate(items)], cluster.images, cluster.release.tag)
    if mine:
        found += _applied_findings(cluster, bundle, items, example, checker.schemas, build.directory)
    if not found:
        return []
    sources = _Sources(repo, bundle)  # a finding to place: read the sources with positions
    located = [Item(obj, file, _lazy_locator(sources, _key(obj), build.directory))
               for obj, file in objects[: len(build.objects)]]
    located += sources.in_file(example) if mine else []
    return locate(located + chart_items, found)


def _applied_findings(cluster: Cluster, bundle: Bundle, items: list[Item], example: str, schemas: Schemas,
                      directory: str) -> list[Finding]:
    """What Argo CD applies (the mode's overlay, with the chart), against the project, the invariants and the taints
    of the pool (or of each pool)."""
    applied = [(i, item.obj) for i, item in enumerate(items) if item.file != example]
    found: list[Finding] = []
    if PROJECT_FILE in bundle.objects:  # Argo CD's (a Flux cluster has no AppProject)
        found += check_project(bundle.objects[PROJECT_FILE][0], applied, cluster.namespace, schemas)
    found += check_invariants(applied, cluster.namespace, directory, own_namespaces(cluster))
    if cluster.pools:
        found += check_pool_taints(list(enumerate(item.obj for item in items)), cluster.pools, cluster.spec_file)
    elif cluster.taints:
        found += check_taints(list(enumerate(item.obj for item in items)), cluster.taints, cluster.spec_file)
    return found


def _chart_findings(cluster: Cluster, bundle: Bundle, chart: ChartRender | None) -> list[Finding]:
    """The chart's values, and, when the chart is not at hand, what its facts say it renders with them."""
    values_file = f"{layout.output_dir(cluster.name)}/{VALUES_FILE}"
    values = bundle.objects[VALUES_FILE][0]
    facts = chart_facts(cluster.release.tag)
    found = [CHART_VALUES.in_file(values_file, message, path=path) for path, message in
             values_problems(values, facts, cluster.kubernetes.version)]
    if chart is not None and chart.error:
        found.append(CHART_RENDER.in_file(values_file, f"helm template of network-operator "
                                                       f"{cluster.release.chart_version} failed: {chart.error}"))
    elif chart is not None:  # what it renders, held to the policy of the release's own defaults (any delivery)
        label = f"network-operator chart {cluster.release.chart_version} (helm template)"
        found += locate([Item(obj, label) for obj in chart.objects],
                        check_chart_policy(chart.objects, facts, helm_values(cluster), cluster.namespace,
                                           cluster.images))
    if chart is None:
        found += [IMAGE_PUBLISHED.in_file(values_file, f"the chart renders {ref!r}, from the staging registry; "
                                                       "set its repository in networkOperator.values")
                  for ref in facts.images_with(values) if is_staging(ref)]
        found += [IMAGE_MIRROR.in_file(values_file, f"the chart renders {mirror_message(ref, cluster.images)}")
                  for ref in facts.images_with(values) if unmirrored(ref, cluster.images)]
        found += [IMAGE_REFERENCE.in_file(values_file, f"the chart renders {ref!r}, which is not an image reference "
                                                       f"({image_reference_error(ref)})")
                  for ref in facts.images_with(values) if image_reference_error(ref)]
        for taint in untolerated(nfd_worker_tolerations(cluster), cluster.taints):
            found.append(POOL_TAINTS.in_file(values_file, f"the NFD worker does not tolerate the pool's taint "
                                                          f"{taint_text(taint)}; add a matching toleration to "
                                                          f"tolerations: in {cluster.spec_file}",
                                             path=tuple(NFD_WORKER_TOLERATIONS.split("."))))
    return found


def _argocd_findings(cluster: Cluster, bundle: Bundle, store: SchemaStore | None) -> list[Finding]:
    """The Argo CD objects (Application, AppProject, argocd-cm patch) against every supported Argo CD release."""
    items: list[Item] = []
    for rel, docs in bundle.objects.items():
        if rel.startswith("argocd/") and not rel.endswith("kustomization.yaml"):
            items += [Item(doc, f"{layout.output_dir(bundle.cluster)}/{rel}") for doc in docs]
    return _schema_findings(items, cluster.release.tag, store, cluster.kubernetes.version)


def _flux_findings(cluster: Cluster, bundle: Bundle, builds: dict[tuple[str, str], OverlayBuild],
                   store: SchemaStore | None) -> list[Finding]:
    """The Flux directories as kustomize built them, and the Flux objects (generator.check.flux)."""
    mine = {build.directory[len(layout.output_dir(cluster.name)) + 1:]: (build.objects, build.error)
            for (name, _), build in builds.items() if name == cluster.name}
    found = [KUSTOMIZE_BUILD.in_file(f"{layout.output_dir(cluster.name)}/{directory}",
                                     f"kustomize build failed: {error}")
             for directory, (_, error) in sorted(mine.items())
             if error and (directory == FLUX_DIR or directory.startswith(f"{FLUX_DIR}/"))]
    return found + check_flux(cluster, bundle, mine, store)


def _schema_findings(items: list[Item], release: str, store: SchemaStore | None,
                     kube_version: str | None = None) -> list[Finding]:
    found = []
    for argocd in catalog.load().argocd_versions:
        schemas = schemas_for(release, argocd, store, kube_version)
        found += [f for index, item in enumerate(items) for f in check_schema(item.obj, schemas, index)]
    return locate(items, found)


def has_user_component(bundle: Bundle, mode: str) -> bool:
    """Whether the mode overlay includes the user's overlays/<name>/ (which the rdma-infiniband chart cannot carry)."""
    return bool(bundle.objects[f"{layout.mode_overlay(mode)}/kustomization.yaml"][0].get("components"))


def _network_operator_keys(bundle: Bundle) -> set[ObjectKey]:
    """The objects of the network-operator chart that ``rendered`` delivery commits into the overlay (``chart/`` and
    the release's CRDs): the rdma-infiniband chart does not carry them (with it, Argo CD renders that chart)."""
    docs = [doc for rel, objs in bundle.objects.items() if rel.startswith(f"{CHART_DIR}/") for doc in objs]
    docs += [doc for read in bundle.reads for objs in read.objects.values() for doc in objs]
    return {object_key(doc) for doc in docs if isinstance(doc, dict) and doc.get("kind") != "Kustomization"}


def _equivalence_findings(cluster: Cluster, bundle: Bundle, build: OverlayBuild, render: FilesRender) -> list[Finding]:
    """The rdma-infiniband chart with the cluster's values against its mode overlay, like with like: without a user
    component (which the chart cannot carry: with argocd.source chart, gen refuses one), and without the
    network-operator chart's objects that rendered delivery puts in the overlay. An error where Argo CD applies the
    chart (argocd.source: chart); elsewhere the values file serves Helm and Flux users, and a difference is a warning,
    so that writing the chart never fails a cluster that does not deliver through it."""
    if build.error or has_user_component(bundle, cluster.mode):
        return []
    chart_keys = _network_operator_keys(bundle) if cluster.argocd.delivery == "rendered" else set()
    overlay = [obj for obj in build.objects if object_key(obj) not in chart_keys]
    severity: Severity = "error" if cluster.argocd.source == "chart" else "warning"
    return check_equivalence(f"{layout.output_dir(cluster.name)}/{CHART_VALUES_FILE}", build.directory,
                             overlay, render.objects, render.error, severity)


def check_bundles(repo: Path, rendered: Sequence[tuple[Cluster, Bundle]], fleet: Bundle | None,
                  builds: dict[tuple[str, str], OverlayBuild], store: SchemaStore | None = None,
                  charts: Mapping[str, ChartRender] | None = None,
                  chart_renders: Mapping[str, FilesRender] | None = None,
                  previous: Previous | None = None, done: Callable[[], None] | None = None,
                  gpu_charts: Mapping[str, ChartRender] | None = None) -> list[Finding]:
    """Every finding about the rendered bundles, sorted. ``charts``: the network-operator chart renders by cluster
    name (absent: the chart was not at hand, and its facts stand in). ``chart_renders``: the rdma-infiniband chart
    rendered with each cluster's values, when the chart is part of the output. ``previous``: the objects Argo CD
    applied before, by cluster name, asked for only when an object's CEL rules need them (``gen check``: the
    committed output at a git commit). ``done`` is called after each cluster."""
    charts = charts or {}
    chart_renders = chart_renders or {}  # gpu_charts: the gpu-operator chart renders, by cluster name
    found: list[Finding] = []
    for cluster, bundle in rendered:
        chart = charts.get(cluster.name)
        for mode in MODES:
            found += _overlay_findings(repo, cluster, bundle, builds[(cluster.name, mode)], chart, store, previous)
        found += _chart_findings(cluster, bundle, chart)
        found += _argocd_findings(cluster, bundle, store)
        if cluster.gitops == "flux":
            found += _flux_findings(cluster, bundle, builds, store)
        found += check_gpu_bundle(cluster, bundle, store, (gpu_charts or {}).get(cluster.name))
        if cluster.name in chart_renders:
            found += _equivalence_findings(cluster, bundle, builds[(cluster.name, cluster.mode)],
                                           chart_renders[cluster.name])
        if done is not None:
            done()
    if fleet is not None and rendered:
        found += check_fleet(fleet, rendered[0][0].release.tag, store)
    return sorted(set(found), key=Finding.sort_key)


def check_fleet(fleet: Bundle, release: str, store: SchemaStore | None = None) -> list[Finding]:
    """The fleet bootstrap's objects against every supported Argo CD release (with ``release``'s schemas)."""
    items = [Item(doc, f"{layout.output_dir(fleet.cluster)}/{rel}")
             for rel, docs in fleet.objects.items() for doc in docs]
    return _schema_findings(items, release, store)


def _fleet_items(rel: str, docs: Sequence[Any]) -> list[Item]:
    return [Item(doc, f"{layout.output_dir(layout.FLEET)}/{rel}") for doc in docs]


def check_fleet_part(part: FleetPart, store: SchemaStore | None = None) -> list[Finding]:
    """A cluster's part of the fleet bootstrap (its AppProject, or its Flux bootstrap file) against every supported
    Argo CD release; each object is checked on its own, so a part's findings can be kept with it (gen's records)."""
    if part.flux_file:
        items = _fleet_items(part.flux_file, part.flux_objects)
    else:
        items = _fleet_items(layout.FLEET_FILE, [part.project] if part.project is not None else [])
    return _schema_findings(items, catalog.load().default_release, store)


def check_fleet_parts(fleet: Bundle, parts: Sequence[tuple[FleetPart, list[Finding]]],
                      store: SchemaStore | None = None) -> list[Finding]:
    """The fleet bootstrap's findings: each part's (``check_fleet_part``), and the ApplicationSets'. As one check of
    the whole file reports them: the same finding (file, rule, path, message: the objects have no lines) once, about
    the first object in the file that has it."""
    appsets = [doc for doc in fleet.objects.get(layout.FLEET_FILE, []) if as_dict(doc).get("kind") == "ApplicationSet"]
    ordered = sorted(parts, key=lambda pair: (pair[0].argocd_namespace, pair[0].cluster))
    found = [f for _, findings in ordered for f in findings]
    found += _schema_findings(_fleet_items(layout.FLEET_FILE, appsets), catalog.load().default_release, store)
    first: dict[tuple[str, int, int, str, str, str], Finding] = {}
    for finding in found:
        first.setdefault(finding.sort_key(), finding)
    return sorted(first.values(), key=Finding.sort_key)
