"""Fleet delivery (Flux clusters, gitops: flux, each get a bootstrap file of their own: generator.render.flux): one
ApplicationSet (list generator, one element per cluster) per Argo CD namespace, and the
bootstrap file a platform admin applies once per Argo CD: every cluster's AppProject + the ApplicationSet(s).

The ApplicationSet generates exactly the Applications `argocd/application.yaml` holds (same names, project,
sources, sync policy), so a cluster can move from `kubectl apply -k output/<name>/argocd` to the fleet
bootstrap without a rename. Each cluster keeps its own AppProject; the template's `project` is taken from
the list element, which is safe here because the elements live in the ApplicationSet that the admin
applies (not in git files that any committer edits, which is what Argo CD's templated-project warning is
about), and each AppProject only admits its own cluster and namespace anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from generator import catalog
from generator.cluster.model import Cluster
from generator.core import layout
from generator.core.kube import PART_OF, Obj
from generator.render import flux
from generator.render.argocd import (
    ARGOCD_API,
    FINALIZER,
    app_project,
    application_name,
    chart_helm,
    cluster_destination,
    git_helm,
    git_path,
    project_name,
    sync_policy,
)
from generator.render.output import Bundle
from generator.yamlio.dump import dump_documents

APPLICATION_SET_NAME = "network-operator"

# Parts that are not strings (the charts' helm settings, the delivery, automated sync, name-or-server destination)
# come from the element through templatePatch; `toJson` keeps YAML special characters inert.
TEMPLATE_PATCH = """\
spec:
  destination:
    {{- if .destinationName }}
    name: {{ toJson .destinationName }}
    {{- else }}
    server: {{ toJson .destinationServer }}
    {{- end }}
    namespace: {{ toJson .namespace }}
  {{- if .rendered }}
  source:
    repoURL: {{ toJson .repoURL }}
    targetRevision: {{ toJson .targetRevision }}
    path: {{ toJson .path }}
  {{- else }}
  sources:
    - repoURL: {{ toJson .chartRepoURL }}
      chart: {{ toJson .chart }}
      targetRevision: {{ toJson .chartVersion }}
      helm: {{ toJson .helm }}
    - repoURL: {{ toJson .repoURL }}
      targetRevision: {{ toJson .targetRevision }}
      path: {{ toJson .path }}
      {{- if .gitHelm }}
      helm: {{ toJson .gitHelm }}
      {{- end }}
  {{- end }}
  {{- if .automated }}
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
  {{- end }}
"""


def element(cluster: Cluster) -> Obj:
    """The list generator's parameters for one cluster."""
    cat = catalog.load()
    dest = cluster_destination(cluster)
    return {
        "cluster": cluster.name,
        "name": application_name(cluster),
        "project": project_name(cluster),
        "mode": cluster.mode,
        "destinationName": dest.get("name", ""),
        "destinationServer": dest.get("server", ""),
        "namespace": cluster.namespace,
        "chartRepoURL": cat.chart_repository,
        "chart": cat.chart_name,
        "chartVersion": cluster.release.chart_version,
        "helm": chart_helm(cluster),
        "rendered": cluster.argocd.delivery == "rendered",
        "repoURL": cluster.argocd.repo_url,
        "targetRevision": cluster.argocd.target_revision,
        "path": git_path(cluster),
        "gitHelm": git_helm(cluster),
        "automated": cluster.argocd.automated,
    }


def _argocd_namespace(clusters: Sequence[Cluster]) -> str:
    namespaces = {cluster.argocd.namespace for cluster in clusters}
    if len(namespaces) != 1:
        raise ValueError(f"one ApplicationSet serves one Argo CD namespace; got {sorted(namespaces)}: "
                         "group the clusters by argocd.namespace")
    return namespaces.pop()


def application_set(clusters: Sequence[Cluster]) -> Obj:
    """One Application per cluster spec, identical to the per-cluster argocd/application.yaml."""
    if not clusters:
        raise ValueError("an ApplicationSet needs at least one cluster spec")
    ordered = sorted(clusters, key=lambda c: c.name)
    return application_set_of(_argocd_namespace(ordered), [element(cluster) for cluster in ordered])


def application_set_of(namespace: str, elements: list[Obj]) -> Obj:
    """The ApplicationSet in Argo CD's ``namespace`` with these list elements (in this order)."""
    # the template's syncPolicy minus `automated` (per element, in the patch)
    base_sync = sync_policy(automated=False)
    return {
        "apiVersion": ARGOCD_API,
        "kind": "ApplicationSet",
        "metadata": {"name": APPLICATION_SET_NAME, "namespace": namespace, "labels": dict(PART_OF)},
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"list": {"elements": elements}}],
            # deleting the ApplicationSet must not cascade into the clusters' operators
            "syncPolicy": {"preserveResourcesOnDeletion": True},
            "template": {
                "metadata": {
                    "name": "{{ .name }}",
                    "labels": {**PART_OF, "rdma-gitops/cluster": "{{ .cluster }}"},
                    "finalizers": [FINALIZER],
                },
                "spec": {
                    "project": "{{ .project }}",
                    "destination": {"namespace": "{{ .namespace }}"},
                    "syncPolicy": base_sync,
                },
            },
            "templatePatch": TEMPLATE_PATCH,
        },
    }


def bootstrap(clusters: Sequence[Cluster]) -> list[Obj]:
    """What `kubectl apply -f` installs once per Argo CD: the AppProjects, then the ApplicationSet(s)."""
    ordered = sorted(clusters, key=lambda c: (c.argocd.namespace, c.name))
    projects = [app_project(cluster) for cluster in ordered]
    by_namespace: dict[str, list[Cluster]] = {}
    for cluster in ordered:
        by_namespace.setdefault(cluster.argocd.namespace, []).append(cluster)
    return projects + [application_set(group) for group in by_namespace.values()]


@dataclass(frozen=True)
class FleetPart:
    """One cluster's part of output/fleet/: an Argo CD cluster's AppProject and ApplicationSet element, each with its
    YAML, or a Flux cluster's bootstrap file. The bootstrap is assembled from the parts alone, so a run can keep a
    cluster's part (gen's records) instead of its parsed spec; the YAML of each part is what ``dump_documents`` writes
    for it, and the file is those texts joined (``fleet_bundle_of``)."""

    cluster: str
    argocd_namespace: str  # "" for a Flux cluster
    project: Obj | None = None
    project_yaml: str = ""
    element: Obj | None = None
    element_yaml: str = ""  # the element as the one item of a block sequence, not indented
    flux_file: str = ""  # flux/<name>.yaml, relative to output/fleet/
    flux_objects: tuple[Obj, ...] = ()
    flux_yaml: str = ""


def _text(docs: list[Any]) -> str:
    return dump_documents(docs).decode("utf-8")


def fleet_part(cluster: Cluster) -> FleetPart:
    """A cluster's part of the fleet bootstrap."""
    if cluster.gitops == "flux":
        objects = flux.bootstrap(cluster)
        rel = flux.bootstrap_file(cluster.name)
        head = (f"# Generated by rdma-gitops from {cluster.spec_file}; do not edit. Run: gen bundle --all\n"
                f"# Apply once in the cluster's Flux (or create the AKS fluxConfiguration instead: docs/flux.md):\n"
                f"# kubectl apply -f {layout.output_dir(layout.FLEET)}/{rel}\n")
        return FleetPart(cluster.name, "", flux_file=rel, flux_objects=tuple(objects),
                         flux_yaml=head + _text(objects))
    project, item = app_project(cluster), element(cluster)
    return FleetPart(cluster.name, cluster.argocd.namespace, project, _text([project]), item, _text([[item]]))


_NO_ELEMENTS = "elements: []\n"


def _application_set_yaml(namespace: str, parts: list[FleetPart]) -> str:
    """The ApplicationSet of these parts as ``dump_documents`` writes it: dumped with no elements, then each part's
    element text put in the list's place, indented as the list is (block style, no line folding: the same bytes)."""
    appset = application_set_of(namespace, [])
    text = _text([appset])
    at = text.index(_NO_ELEMENTS)
    indent = " " * (at - text.rindex("\n", 0, at) - 1)
    items = "".join(indent + line if line.strip() else line
                    for part in parts for line in part.element_yaml.splitlines(keepends=True))
    return text[:at] + "elements:\n" + items + text[at + len(_NO_ELEMENTS):]


def fleet_bundle(clusters: Sequence[Cluster]) -> Bundle:
    """output/fleet/bootstrap.yaml: every Argo CD cluster's AppProject and the ApplicationSet, applied once per Argo
    CD; and output/fleet/flux/<name>.yaml per Flux cluster (gitops: flux), applied once in that cluster's Flux."""
    return fleet_bundle_of([fleet_part(cluster) for cluster in clusters])


def fleet_bundle_of(parts: Sequence[FleetPart]) -> Bundle:
    """``fleet_bundle`` of the clusters these are the parts of."""
    ordered = sorted(parts, key=lambda p: p.cluster)
    objects: dict[str, list[Obj]] = {}
    files: dict[str, bytes] = {}
    argo = sorted((p for p in ordered if not p.flux_file), key=lambda p: (p.argocd_namespace, p.cluster))
    if argo:
        by_namespace: dict[str, list[FleetPart]] = {}
        for part in argo:
            by_namespace.setdefault(part.argocd_namespace, []).append(part)
        appsets = [application_set_of(ns, [p.element for p in group if p.element is not None])
                   for ns, group in by_namespace.items()]
        objects[layout.FLEET_FILE] = [p.project for p in argo if p.project is not None] + appsets
        head = (f"# Generated by rdma-gitops from {layout.CLUSTERS_DIR}/*.yaml; do not edit. Run: gen bundle --all\n"
                f"# Apply once per Argo CD: kubectl apply -f {layout.output_dir(layout.FLEET)}/{layout.FLEET_FILE}\n")
        texts = [p.project_yaml for p in argo] + [_application_set_yaml(ns, group)
                                                   for ns, group in by_namespace.items()]
        files[layout.FLEET_FILE] = (head + "".join(f"---\n{text}" for text in texts)).encode("utf-8")
    for part in ordered:
        if part.flux_file:
            objects[part.flux_file] = list(part.flux_objects)
            files[part.flux_file] = part.flux_yaml.encode("utf-8")
    return Bundle(cluster=layout.FLEET, spec_file=f"{layout.CLUSTERS_DIR}/", files=files, objects=objects)
