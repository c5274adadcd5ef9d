"""The checks of a bundle delivered by Flux (``gitops: flux``): what Flux will do with the objects gen wrote.

- ``flux-health``: every health expression parses in Flux's CEL environment, and says of each sample status of its
  kind (catalog/status-samples.yaml) what it must: a NicClusterPolicy without a status, or notReady, never ready;
  and a step that applies one of the operator's custom resources and waits on it has an expression for it (without
  one, Flux would call it healthy as soon as it is applied);
- ``flux-chain``: every Kustomization's path is a directory of the bundle, every dependsOn names a Kustomization of
  the chain, there is no cycle, and the chain keeps generator.render.flux.CHAIN's order;
- ``flux-steps``: the steps deliver exactly the checked bundle: their objects, built with kustomize, are the mode
  overlay's (no object twice, none missing, none changed but for the annotations gen adds for Flux), and the
  HelmRelease installs the release's chart with the values of helm/values.yaml (which the chart checks read).

The objects' schemas and CRD rules are checked like any other (rules ``schema`` and ``cel``), against every Flux
release the catalog pins.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from typing import Any

from generator import catalog
from generator.catalog.gpu import load_gpu
from generator.check.apiserver import stored_form
from generator.check.cel.flux import EXPRESSIONS, verdict
from generator.check.cel.rule import check_cel
from generator.check.cel.runtime import CelError
from generator.check.engine import Item, locate
from generator.check.schema import check_object
from generator.check.validators.kinds import schemas_for
from generator.cluster.model import Cluster
from generator.core import layout
from generator.core.finding import Finding
from generator.core.kube import Obj
from generator.core.objects import as_dict, as_list, as_str
from generator.core.rules import define
from generator.render import flux
from generator.render.gpu import GPU_SOURCE_DIR, GPU_VALUES_FILE, operator_of
from generator.render.gpu_argocd import GPU_RELEASE_NAME
from generator.render.output import Bundle
from generator.sources.schema_store import SchemaStore
from generator.yamlio.load import Document, load_documents

FLUX_HEALTH = define("flux-health", "error", "a Flux health expression (healthCheckExprs) does not parse in Flux's CEL "
                     "environment, or gives a wrong verdict for a sample status of its kind (a NicClusterPolicy "
                     "without a status or notReady must never be ready), or a step waits on an operator resource "
                     "without one", "flux")
FLUX_CHAIN = define("flux-chain", "error", "a Flux Kustomization's path is not a directory of the bundle, a dependsOn "
                    "names no Kustomization of the chain or makes a cycle, or the chain is out of order (operator, "
                    "policy, network, verify)", "flux")
FLUX_STEPS = define("flux-steps", "error", "the Flux steps do not deliver exactly the checked bundle: an object "
                    "missing, twice, or changed against the mode overlay's build, or a HelmRelease whose chart or "
                    "values differ from the release's and helm/values.yaml", "flux")

Builds = Mapping[str, tuple[list[Obj], str]]  # bundle directory (flux/<step>, overlays/<mode>) -> (objects, error)


def _kind(obj: Any) -> str:
    return f"{as_str(as_dict(obj).get('apiVersion'))}/{as_str(as_dict(obj).get('kind'))}"


def _name(obj: Any) -> str:
    return as_str(as_dict(as_dict(obj).get("metadata")).get("name"))


def flux_items(bundle: Bundle) -> list[Item]:
    """The Flux objects of a bundle (the chain, the HelmRepository and HelmRelease), each with its file."""
    return [Item(doc, f"{layout.output_dir(bundle.cluster)}/{rel}") for rel, docs in sorted(bundle.objects.items())
            if rel.startswith(f"{flux.FLUX_DIR}/") for doc in docs if flux.is_flux_object(doc)]


def check_flux_objects(items: list[Item], release: str, store: SchemaStore | None,
                       kube_version: str | None = None) -> list[Finding]:
    """Each Flux object against every pinned Flux release's CRDs: strict schema, then the CRDs' CEL rules."""
    found: list[Finding] = []
    for version in catalog.load().flux_versions:
        schemas = schemas_for(release, None, store, kube_version, version)
        for index, item in enumerate(items):
            checked = check_object(item.obj, schemas, index)
            found += checked.findings
            if not checked.blocking and isinstance(checked.stored, dict):
                found += check_cel(checked.stored, schemas, index, stored_form(None, schemas))
    return found


# -- flux-health -------------------------------------------------------------------------------------------------


def _sample(kind: str, status: dict[str, Any] | None) -> Obj:
    api_version, _, name = kind.rpartition("/")
    obj: Obj = {"apiVersion": api_version, "kind": name, "metadata": {"name": "sample", "generation": 1},
                "spec": {}}
    if status is not None:
        obj["status"] = copy.deepcopy(status)
    return obj


def health_findings(index: int, kustomization: Any) -> list[Finding]:
    """The health expressions of one Kustomization (or HelmRelease), parsed and run on each sample of their kind."""
    found: list[Finding] = []
    samples = catalog.status_samples()
    for position, check in enumerate(as_list(as_dict(as_dict(kustomization).get("spec")).get("healthCheckExprs"))):
        check = as_dict(check)
        path = ("spec", "healthCheckExprs", position)
        kind = f"{as_str(check.get('apiVersion'))}/{as_str(check.get('kind'))}"
        try:
            for key in EXPRESSIONS:
                if check.get(key) is not None:
                    flux_expression(check, key)
        except CelError as exc:
            found.append(FLUX_HEALTH.at((*path, key), f"{key} does not parse as Flux parses it: {exc}", index))
            continue
        for sample in samples.get(kind, ()):
            said, why = verdict(check, _sample(kind, sample.status))
            if said not in sample.expect:
                found.append(FLUX_HEALTH.at(path, f"for a {check.get('kind')} with status '{sample.name}' Flux "
                                                  f"would conclude {said} ({why}); it must be "
                                                  f"{' or '.join(sample.expect)}", index))
    return found


def flux_expression(check: Mapping[str, Any], key: str) -> None:
    """Parse one expression of a healthCheckExprs entry as Flux does (CelError when it does not)."""
    from generator.check.cel.flux import flux_engine

    value = check.get(key)
    if not isinstance(value, str):
        raise CelError("not a string")
    flux_engine().compile(value)


def unguarded(index: int, kustomization: Any, applied: list[Obj]) -> list[Finding]:
    """A step that waits (spec.wait) on one of the operator's custom resources must have a health expression for its
    kind: kstatus reads no status.state, and would call it healthy as soon as it is applied."""
    spec = as_dict(as_dict(kustomization).get("spec"))
    if spec.get("wait") is not True:
        return []
    covered = {f"{as_str(as_dict(c).get('apiVersion'))}/{as_str(as_dict(c).get('kind'))}"
               for c in as_list(spec.get("healthCheckExprs"))}
    needed = sorted({_kind(obj) for obj in applied} & set(catalog.status_samples()) - covered)
    return [FLUX_HEALTH.at(("spec", "healthCheckExprs"), f"applies {kind.rpartition('/')[2]} and waits on it with no "
                           "health expression for it: Flux would call it ready as soon as it is applied, before the "
                           "operator has reported anything", index) for kind in needed]


# -- flux-chain --------------------------------------------------------------------------------------------------


def _step_of(kustomization: Any, cluster: str) -> str:
    """The bundle directory a Kustomization's spec.path names ("" when it names none of this bundle's)."""
    path = as_str(as_dict(as_dict(kustomization).get("spec")).get("path"))
    prefix = f"./{layout.output_dir(cluster)}/"
    return path[len(prefix):] if path.startswith(prefix) else ""


def chain_findings(kustomizations: Sequence[tuple[int, Any]], cluster: str, directories: set[str]) -> list[Finding]:
    found: list[Finding] = []
    names = {_name(k): k for _, k in kustomizations}
    deps: dict[str, list[str]] = {}
    for index, kust in kustomizations:
        step = _step_of(kust, cluster)
        if step not in directories:
            found.append(FLUX_CHAIN.at(("spec", "path"), f"{as_dict(kust['spec']).get('path')!r} is not a directory "
                                       f"of {layout.output_dir(cluster)}/ that kustomize builds", index))
        deps[_name(kust)] = []
        for position, dep in enumerate(as_list(as_dict(kust.get("spec")).get("dependsOn"))):
            target = as_str(as_dict(dep).get("name"))
            if target not in names:
                found.append(FLUX_CHAIN.at(("spec", "dependsOn", position, "name"), f"{target!r} is no Kustomization "
                                           "of the chain: Flux would wait for it forever", index))
            else:
                deps[_name(kust)].append(target)
    index_of = {_name(k): i for i, k in kustomizations}
    order = [flux.kustomization_name(step) for step in flux.CHAIN]
    for name in names:
        before = _before(name, deps)
        if name in before:
            found.append(FLUX_CHAIN.at(("spec", "dependsOn"), f"{name} waits on itself (a dependsOn cycle)",
                                       index_of[name]))
        elif name in order:
            for earlier in order[: order.index(name)]:
                if earlier in names and earlier not in before:
                    found.append(FLUX_CHAIN.at(("spec", "dependsOn"), f"{name} does not wait on {earlier}, which "
                                               "must be ready before it", index_of[name]))
    return found


def _before(name: str, deps: Mapping[str, list[str]]) -> set[str]:
    """Every Kustomization ``name`` waits on, directly or through others."""
    seen: set[str] = set()
    todo = list(deps.get(name, []))
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo += deps.get(current, [])
    return seen


# -- flux-steps --------------------------------------------------------------------------------------------------


def _without_flux_annotations(obj: Obj) -> Obj:
    added = flux.FLUX_ANNOTATIONS.get(as_str(obj.get("kind")), {})
    if not added:
        return obj
    out = copy.deepcopy(obj)
    annotations = as_dict(as_dict(out.get("metadata")).get("annotations"))
    for key, value in added.items():
        if annotations.get(key) == value:
            del annotations[key]
    return out


def _identity(obj: Any) -> str:
    """An object's group, kind, namespace and name, as the messages say it: `IPPool network-operator/aks-infiniband
    (nv-ipam.nvidia.com)`."""
    meta = as_dict(as_dict(obj).get("metadata"))
    namespace = as_str(meta.get("namespace"))
    group = as_str(as_dict(obj).get("apiVersion")).rpartition("/")[0] or "core"
    return (f"{as_str(as_dict(obj).get('kind'))} {namespace + '/' if namespace else ''}{as_str(meta.get('name'))} "
            f"({group})")


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def steps_findings(cluster: Cluster, bundle: Bundle, builds: Builds) -> list[Finding]:
    """The steps' builds against the mode overlay's; the HelmRelease against the release and helm/values.yaml."""
    out = layout.output_dir(cluster.name)
    overlay, overlay_error = builds.get(layout.mode_overlay(cluster.mode), ([], "not built"))
    if overlay_error:
        return []  # kustomize-build says why
    delivered: dict[str, tuple[str, Obj]] = {}
    found: list[Finding] = []
    for directory, (objects, error) in sorted(builds.items()):
        if not directory.startswith(f"{flux.FLUX_DIR}/") or error:
            continue
        for obj in objects:
            if flux.is_flux_object(obj):
                continue
            key = _identity(obj)
            if key in delivered:
                found.append(FLUX_STEPS.in_file(f"{out}/{directory}", f"{key} is applied by two steps "
                                                f"({delivered[key][0]} and {directory}): their Kustomizations "
                                                "would take it from each other, and prune it"))
            delivered[key] = (directory, _without_flux_annotations(obj))
    # what the steps deliver besides the overlay: the GPU Operator's Namespace (gpu-operator/, checked with the bundle)
    extra = [obj for rel, docs in bundle.objects.items() if rel.startswith(f"{GPU_SOURCE_DIR}/") for obj in docs
             if isinstance(obj, dict) and obj.get("kind") != "Kustomization"]
    wanted = {_identity(obj): obj for obj in [*overlay, *extra]}
    for key in sorted(set(wanted) - set(delivered)):
        found.append(FLUX_STEPS.in_file(f"{out}/{flux.FLUX_DIR}", f"{key} is in {layout.mode_overlay(cluster.mode)} "
                                        "but no Flux step applies it"))
    for key in sorted(set(delivered) - set(wanted)):
        found.append(FLUX_STEPS.in_file(f"{out}/{delivered[key][0]}", f"{key} is applied by Flux but is not in "
                                        f"{layout.mode_overlay(cluster.mode)}: it was never checked with the bundle"))
    for key in sorted(set(delivered) & set(wanted)):
        if _canonical(delivered[key][1]) != _canonical(wanted[key]):
            found.append(FLUX_STEPS.in_file(f"{out}/{delivered[key][0]}", f"{key} differs from the one "
                                            f"{layout.mode_overlay(cluster.mode)} builds, which gen checked"))
    return found + _release_findings(cluster, bundle)


def _release_findings(cluster: Cluster, bundle: Bundle) -> list[Finding]:
    """Each HelmRelease against what gen checked: the network-operator chart at the release's version with
    helm/values.yaml, the gpu-operator chart at the GPU Operator release's with helm/gpu-operator-values.yaml."""
    from generator.render.cluster_bundle import VALUES_FILE

    out = layout.output_dir(cluster.name)
    operator = operator_of(cluster)
    wanted = {flux.RELEASE_NAME: ((catalog.load().chart_name, cluster.release.chart_version), VALUES_FILE,
                                  f"network-operator {cluster.release.chart_version} (the release "
                                  f"{cluster.release.tag} gen checked)")}
    if operator is not None:
        wanted[GPU_RELEASE_NAME] = ((load_gpu().chart_name, operator.release.chart_version), GPU_VALUES_FILE,
                                    f"gpu-operator {operator.release.chart_version} (the GPU Operator release gen "
                                    "checked)")
    found = []
    for rel, docs in sorted(bundle.objects.items()):
        for doc in docs:
            if _kind(doc) != f"{flux.HELM_API}/HelmRelease":
                continue
            spec = as_dict(as_dict(doc).get("spec"))
            name = as_str(as_dict(as_dict(doc).get("metadata")).get("name"))
            chart = as_dict(as_dict(spec.get("chart")).get("spec"))
            if name not in wanted:
                found.append(FLUX_STEPS.in_file(f"{out}/{rel}", f"HelmRelease {name!r} is none gen renders",
                                                path=("metadata", "name")))
                continue
            expected, values_file, what = wanted[name]
            if (chart.get("chart"), chart.get("version")) != expected:
                found.append(FLUX_STEPS.in_file(f"{out}/{rel}", f"installs {chart.get('chart')} {chart.get('version')}"
                                                f", not {what}", path=("spec", "chart", "spec")))
            values = bundle.objects.get(values_file, [{}])[0]
            if _canonical(spec.get("values")) != _canonical(values):
                found.append(FLUX_STEPS.in_file(f"{out}/{rel}", f"its values differ from {out}/{values_file}, the "
                                                "values gen checked against the chart", path=("spec", "values")))
    return found


# -- all of them -------------------------------------------------------------------------------------------------


def check_flux(cluster: Cluster, bundle: Bundle, builds: Builds, store: SchemaStore | None) -> list[Finding]:
    """Every finding about a Flux cluster's flux/ directory, located in the generated files."""
    items = flux_items(bundle)
    found = check_flux_objects(items, cluster.release.tag, store, cluster.kubernetes.version)
    kustomizations = [(i, item.obj) for i, item in enumerate(items)
                      if _kind(item.obj) == f"{flux.KUSTOMIZATION_API}/Kustomization"]
    for index, item in enumerate(items):  # a HelmRelease's own wait (poller) has health expressions too
        if _kind(item.obj) == f"{flux.HELM_API}/HelmRelease":
            found += health_findings(index, item.obj)
    for index, kust in kustomizations:
        found += health_findings(index, kust)
        step = _step_of(kust, cluster.name)
        objects, error = builds.get(step, ([], ""))
        if not error:
            found += unguarded(index, kust, objects)
    directories = {d for d in builds if d.startswith(f"{flux.FLUX_DIR}/")}
    found += chain_findings(kustomizations, cluster.name, directories)
    found += steps_findings(cluster, bundle, builds)
    return locate(_located(bundle, items) if found else items, found)


def _located(bundle: Bundle, items: list[Item]) -> list[Item]:
    """The items again, each able to say the line of a path inside it (its file parsed with positions)."""
    prefix = f"{layout.output_dir(bundle.cluster)}/"
    docs: dict[str, list[Document]] = {}
    out = []
    for item in items:
        rel = item.file[len(prefix):]
        if rel not in docs:
            docs[rel] = [d for d in load_documents(bundle.files[rel], item.file) if flux.is_flux_object(d.value)]
        document = docs[rel].pop(0) if docs[rel] else None
        out.append(Item(item.obj, item.file, _locator(item.file, document) if document else None, doc=document))
    return out


def _locator(file: str, document: Document) -> Any:
    def locate_in(path: Any) -> tuple[str, int, int, frozenset[str]]:
        line, column = document.position(path)
        return file, line, column, frozenset()

    return locate_in
