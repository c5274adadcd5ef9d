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
    # the template's syncPolicy minus `automated` (per element, in the patch)
    base_sync = sync_policy(automated=False)
    return {
        "apiVersion": ARGOCD_API,
        "kind": "ApplicationSet",
        "metadata": {"name": APPLICATION_SET_NAME, "namespace": _argocd_namespace(ordered), "labels": dict(PART_OF)},
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"list": {"elements": [element(cluster) for cluster in ordered]}}],
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



def fleet_bundle(clusters: Sequence[Cluster]) -> Bundle:
    """output/fleet/bootstrap.yaml: every Argo CD cluster's AppProject and the ApplicationSet, applied once per Argo
    CD; and output/fleet/flux/<name>.yaml per Flux cluster (gitops: flux), applied once in that cluster's Flux."""
    ordered = sorted(clusters, key=lambda c: c.name)
    objects: dict[str, list[Obj]] = {}
    files: dict[str, bytes] = {}
    argo = [cluster for cluster in ordered if cluster.gitops != "flux"]
    if argo:
        objects[layout.FLEET_FILE] = bootstrap(argo)
        head = (f"# Generated by rdma-gitops from {layout.CLUSTERS_DIR}/*.yaml; do not edit. Run: gen bundle --all\n"
                f"# Apply once per Argo CD: kubectl apply -f {layout.output_dir(layout.FLEET)}/{layout.FLEET_FILE}\n")
        files[layout.FLEET_FILE] = dump_documents(objects[layout.FLEET_FILE], head)
    for cluster in ordered:
        if cluster.gitops == "flux":
            rel = flux.bootstrap_file(cluster.name)
            objects[rel] = flux.bootstrap(cluster)
            head = (f"# Generated by rdma-gitops from {cluster.spec_file}; do not edit. Run: gen bundle --all\n"
                    f"# Apply once in the cluster's Flux (or create the AKS fluxConfiguration instead: docs/flux.md):\n"
                    f"# kubectl apply -f {layout.output_dir(layout.FLEET)}/{rel}\n")
            files[rel] = dump_documents(objects[rel], head)
    return Bundle(cluster=layout.FLEET, spec_file=f"{layout.CLUSTERS_DIR}/", files=files, objects=objects)
