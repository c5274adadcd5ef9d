"""What Argo CD applies for a cluster, as objects: the Application and AppProject (``kubectl apply -k
output/<name>/argocd``), the built overlay the Application's git source names, and, with ``delivery: helm``, the
chart: its version and values (in the Application) and, where the chart is at hand and helm runs, its render.

Two sides, built the same way with the real kustomize and helm:

- now: what ``gen bundle`` would write from the working tree's specs (rendered in memory, built by
  ``build_overlays``), so a spec change that was not regenerated yet shows;
- a commit: the committed ``output/`` and ``overlays/`` of that commit in a directory laid out like the repository
  (what Argo CD syncs from it), built where they lie.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from generator import catalog
from generator.catalog.gpu import load_gpu
from generator.cluster.model import MODES, Cluster
from generator.core import layout
from generator.core.errors import BuildFailed, InputError, printable
from generator.core.kube import KUSTOMIZATION_NAMES, Obj
from generator.programs import kustomize
from generator.programs.helm import ChartRender, helm_command, render_chart
from generator.programs.overlays import OverlayBuild
from generator.render.argocd import KUSTOMIZATION_FILE
from generator.render.gpu import GPU_SOURCE_DIR
from generator.render.output import Bundle
from generator.sources.chart_store import GPU_OPERATOR, NETWORK_OPERATOR, find_chart

ARGOCD_GROUP = "argoproj.io"


@dataclass(frozen=True)
class ChartSide:
    """The chart an Application's Helm source names: version and values, and its render where it is at hand."""

    name: str
    version: str
    values: Obj
    objects: list[Obj] | None  # None: not rendered
    why_not: str = ""  # why it was not rendered


@dataclass(frozen=True)
class Applied:
    """What Argo CD applies for one cluster from one side."""

    cluster: str
    overlays: tuple[str, ...]  # the repo-relative directories the Applications' git sources name
    delivery: str  # "helm" (Argo CD renders the chart) or "rendered" (the chart is in the overlay)
    argocd: list[Obj]  # Application(s) and AppProject
    overlay: list[Obj]  # the built overlay(s)
    charts: tuple[ChartSide, ...] = ()  # delivery helm: the chart source(s)

    @property
    def modes(self) -> str:
        """The mode(s) as the overlay directories name them (``shared``), for headings."""
        names = [PurePosixPath(path).name for path in self.overlays]
        return ", ".join(name for name in names if name in MODES) or "no overlay"


def _is_application(obj: Obj) -> bool:
    return obj.get("kind") == "Application" and str(obj.get("apiVersion", "")).startswith(f"{ARGOCD_GROUP}/")


def _sources(app: Obj) -> list[Obj]:
    spec = app.get("spec") if isinstance(app.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    sources = spec.get("sources")
    found: list[Any] = sources if isinstance(sources, list) else [spec.get("source")]
    return [s for s in found if isinstance(s, dict)]


def _values(source: Obj, where: str) -> Obj:
    """The chart values of a Helm source as Argo CD merges them: ``values`` (YAML text), then ``valuesObject``."""
    helm = source.get("helm") if isinstance(source.get("helm"), dict) else {}
    assert isinstance(helm, dict)
    values: Obj = {}
    text = helm.get("values")
    if isinstance(text, str) and text.strip():
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InputError(f"{where}: spec.source helm.values is not YAML ({exc})") from None
        if isinstance(loaded, dict):
            values = loaded
    obj = helm.get("valuesObject")
    if isinstance(obj, dict):
        values = _merge(values, obj)
    return values


def _merge(base: Obj, over: Obj) -> Obj:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(out.get(key), dict) and isinstance(value, dict) else value
    return out


def _tag(chart_version: str) -> str | None:
    return next((t for t, r in catalog.load().releases.items() if r.chart_version == chart_version), None)


def _gpu_tag(version: str) -> str | None:
    release = load_gpu().release_of_chart(version)
    return release.tag if release is not None and release.charted else None


def render_side_chart(name: str, version: str, values: Obj, namespace: str, roots: Sequence[Path],
                      helm: list[str] | None) -> ChartSide:
    """The chart's render with these values, where the chart is at hand and helm runs; else why not."""
    cat = catalog.load()
    product = GPU_OPERATOR if name == load_gpu().chart_name else NETWORK_OPERATOR
    tag = _tag(version) if name == cat.chart_name else _gpu_tag(version) if product == GPU_OPERATOR else None
    if tag is None:
        return ChartSide(name, version, values, None, f"chart {name} {version} is not a release gen knows")
    chart = find_chart(tag, list(roots), product)
    if chart is None:
        return ChartSide(name, version, values, None, f"chart {name} {version} is not at hand (gen schemas pull)")
    if helm is None:
        return ChartSide(name, version, values, None, "helm is not installed (scripts/setup.sh)")
    # a committed Application names no Kubernetes version (Argo CD renders for the cluster's own): gen lint's stands
    # in; no supported network-operator chart templates on it (only Chart.yaml's kubeVersion >= 1.21 does)
    result = render_chart(chart, values, namespace, cat.lint_kubernetes, helm)
    if result.error:
        return ChartSide(name, version, values, None, f"helm template of {name} {version} failed: "
                                                      f"{printable(result.error)[:300]}")
    return ChartSide(name, version, values, result.objects)


def _chart_sources(apps: list[Obj]) -> list[tuple[Obj, str]]:
    """(Helm source, destination namespace) of every Application."""
    out = []
    for app in apps:
        spec = app.get("spec") if isinstance(app.get("spec"), dict) else {}
        assert isinstance(spec, dict)
        dest = spec.get("destination") if isinstance(spec.get("destination"), dict) else {}
        assert isinstance(dest, dict)
        out += [(s, str(dest.get("namespace") or "default")) for s in _sources(app) if s.get("chart")]
    return out


def from_bundle(cluster: Cluster, bundle: Bundle, build: OverlayBuild, chart: ChartRender | None,
                gpu_chart: ChartRender | None = None) -> Applied:
    """What Argo CD applies for ``cluster`` once ``bundle`` is written: its argocd/ kustomization's objects, the built
    mode overlay (and the GPU Operator's Namespace), and with delivery helm the charts (rendered here when ``chart``,
    ``gpu_chart`` are given)."""
    if build.error:
        raise BuildFailed(f"kustomize build {build.directory} failed: {build.error}")
    kust = bundle.objects[KUSTOMIZATION_FILE][0]
    folder = PurePosixPath(KUSTOMIZATION_FILE).parent
    argocd = [obj for res in kust["resources"] for obj in bundle.objects[str(folder / res)]]
    apps = [obj for obj in argocd if _is_application(obj)]
    charts = []
    gpu_name = load_gpu().chart_name
    for source, _namespace in _chart_sources(apps):
        name, version = str(source["chart"]), str(source.get("targetRevision", ""))
        values = _values(source, f"{layout.output_dir(cluster.name)}/{KUSTOMIZATION_FILE}")
        render = gpu_chart if name == gpu_name else chart
        if render is not None and not render.error:
            charts.append(ChartSide(name, version, values, render.objects))
        else:
            why = f"helm template failed: {printable(render.error)[:300]}" if render is not None else \
                f"chart {name} {version} is not at hand (gen schemas pull)" if helm_command() else \
                "helm is not installed (scripts/setup.sh)"
            charts.append(ChartSide(name, version, values, None, why))
    overlays = [layout.mode_overlay_dir(cluster.name, cluster.mode)]
    objects = list(build.objects)
    gpu_dir = f"{GPU_SOURCE_DIR}/kustomization.yaml"
    if gpu_dir in bundle.objects:  # the GPU Operator Application's git source: its Namespace
        overlays.append(f"{layout.output_dir(cluster.name)}/{GPU_SOURCE_DIR}")
        objects += [obj for res in bundle.objects[gpu_dir][0]["resources"]
                    for obj in bundle.objects[f"{GPU_SOURCE_DIR}/{res}"]]
    return Applied(cluster.name, tuple(overlays), cluster.argocd.delivery, argocd, objects, tuple(charts))


def clusters_in(root: Path) -> list[str]:
    """The clusters a tree laid out like the repository holds output of: ``output/<name>/argocd/`` (what an admin
    applies, and the Application names what Argo CD syncs)."""
    out = root / layout.OUTPUT_DIR
    if not out.is_dir():
        return []
    return sorted(entry.name for entry in out.iterdir()
                  if entry.name != layout.FLEET and _kustomization(entry / "argocd") is not None)


def _kustomization(directory: Path) -> Path | None:
    return next((directory / n for n in KUSTOMIZATION_NAMES if (directory / n).is_file()), None)


def check_links(root: Path, where: str) -> None:
    """Every link in the tree stays inside it (Argo CD refuses a repository with a link that leaves it)."""
    inside = os.path.realpath(root)
    for here, dirs, files in os.walk(root):
        for entry in [*dirs, *files]:
            path = Path(here) / entry
            if path.is_symlink():
                target = os.path.realpath(path)
                if os.path.commonpath([inside, target]) != inside or not os.path.exists(target):
                    shown = printable(path.relative_to(root).as_posix())
                    raise InputError(f"{shown} {where}: a link to {printable(os.readlink(path))}, outside the "
                                     "repository or to nothing; Argo CD refuses it")


def _built(result: kustomize.BuildResult, root: Path, where: str) -> list[Obj]:
    if result.error:
        shown = result.directory.relative_to(root).as_posix()
        raise BuildFailed(f"kustomize build {shown} {where} failed: {result.error.replace(f'{root}/', '')}")
    return result.objects


def _overlay_dir(root: Path, source: Obj, where: str) -> str:
    raw = str(source.get("path", ""))
    path = PurePosixPath(raw)
    if path.is_absolute() or ".." in path.parts or not (root / path).is_dir():
        raise InputError(f"the Application's source path {printable(raw)!r} {where} is not a directory of the "
                         "repository")
    return path.as_posix()


def from_tree(root: Path, names: Sequence[str], where: str, roots: Sequence[Path]) -> dict[str, Applied]:
    """What Argo CD applies for each named cluster from the tree at ``root`` (laid out like the repository): the
    objects of ``output/<name>/argocd``, of the directory its Application's git source names, and of its chart.
    ``where`` says which commit, for messages (``at HEAD``)."""
    argocd_dirs = [root / layout.output_dir(name) / "argocd" for name in names]
    argocd = {name: _built(r, root, where) for name, r in zip(names, kustomize.build_many(argocd_dirs), strict=True)}
    overlays: dict[str, list[str]] = {}
    for name in names:
        apps = [obj for obj in argocd[name] if _is_application(obj)]
        overlays[name] = [_overlay_dir(root, s, where) for app in apps for s in _sources(app) if "path" in s]
    todo = [root / path for name in names for path in overlays[name]]
    built = iter(kustomize.build_many(todo)) if todo else iter(())
    helm = helm_command()
    out = {}
    for name in names:
        objects = [obj for _ in overlays[name] for obj in _built(next(built), root, where)]
        apps = [obj for obj in argocd[name] if _is_application(obj)]
        charts = tuple(render_side_chart(str(s["chart"]), str(s.get("targetRevision", "")),
                                         _values(s, f"{layout.output_dir(name)}/argocd {where}"), namespace, roots,
                                         helm)
                       for s, namespace in _chart_sources(apps))
        out[name] = Applied(name, tuple(overlays[name]), "helm" if charts else "rendered", argocd[name], objects,
                            charts)
    return out


def chart_objects(side: Applied) -> list[Obj] | None:
    """The objects of the chart(s) Argo CD renders for this side ([] with delivery rendered: they are in the
    overlay); None when one is not rendered."""
    found: list[Obj] = []
    for chart in side.charts:
        if chart.objects is None:
            return None
        found += chart.objects
    return found
