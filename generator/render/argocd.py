"""Argo CD objects for a cluster: one Application with two sources (the network-operator chart + the mode overlay, or
with ``argocd.source: chart`` the rdma-infiniband chart), its AppProject, the argocd-cm health-check patch, and the
kustomization that lists what `kubectl apply -k` installs."""

from __future__ import annotations

from generator import catalog
from generator.catalog.charts import chart_facts
from generator.cluster.model import Cluster
from generator.core import layout
from generator.core.kube import PART_OF, Obj
from generator.render.bundle_objects import synced_objects
from generator.render.data import TEMPLATES, template
from generator.render.gpu import gpu_health_checks, reloader_namespace, wants_reloader
from generator.render.operator_values import helm_values
from generator.render.rdma_chart import CHART_NAME, chart_path
from generator.render.rdma_values import chart_values

FINALIZER = "resources-finalizer.argocd.argoproj.io"
ARGOCD_API = "argoproj.io/v1alpha1"

# Files of output/<cluster>/argocd/ (the kustomization lists project + application; the argocd-cm patch
# targets Argo CD itself and is applied once per Argo CD instance, not synced by the Application).
APPLICATION_FILE = "argocd/application.yaml"
PROJECT_FILE = "argocd/project.yaml"
KUSTOMIZATION_FILE = "argocd/kustomization.yaml"
HEALTH_FILE = "argocd/argocd-cm-health.yaml"

# resource.customizations.health.<group>_<kind> -> Lua data file under templates/
HEALTH_CHECKS = {
    "mellanox.com_NicClusterPolicy": "nicclusterpolicy-health.lua",
    "mellanox.com_IPoIBNetwork": "argocd-ipoibnetwork-health.lua",
}



def application_name(cluster: Cluster) -> str:
    return f"network-operator-{cluster.name}"


def project_name(cluster: Cluster) -> str:
    return f"network-operator-{cluster.name}"


def overlay_path(cluster: Cluster) -> str:
    """Repo-relative path of the overlay Argo CD applies."""
    return layout.mode_overlay_dir(cluster.name, cluster.mode)


def _labels(cluster: Cluster) -> dict[str, str]:
    return {**PART_OF, "rdma-gitops/cluster": cluster.name}


def cluster_destination(cluster: Cluster) -> Obj:
    """The cluster alone: {name} or {server}."""
    if cluster.argocd.destination_name:
        return {"name": cluster.argocd.destination_name}
    return {"server": cluster.argocd.destination_server}


def destination(cluster: Cluster) -> Obj:
    return {**cluster_destination(cluster), "namespace": cluster.namespace}


def chart_helm(cluster: Cluster) -> Obj:
    """The Helm settings of the chart source. A subchart values schema that $refs a web URL (v25.10.0's NFD) makes
    an Argo CD repo-server without internet access fail: schema validation is skipped for those charts."""
    helm: Obj = {"releaseName": "network-operator", "valuesObject": helm_values(cluster)}
    if chart_facts(cluster.release.tag).schema_needs_network:
        helm["skipSchemaValidation"] = True
    return helm


def chart_source(cluster: Cluster) -> Obj:
    cat = catalog.load()
    return {
        "repoURL": cat.chart_repository,
        "chart": cat.chart_name,
        "targetRevision": cluster.release.chart_version,
        "helm": chart_helm(cluster),
    }


def overlay_source(cluster: Cluster) -> Obj:
    return {"repoURL": cluster.argocd.repo_url, "targetRevision": cluster.argocd.target_revision,
            "path": overlay_path(cluster)}


def git_path(cluster: Cluster) -> str:
    """What the Application's git source points at: the mode overlay, or the rdma-infiniband chart."""
    return chart_path() if cluster.argocd.source == "chart" else overlay_path(cluster)


def git_helm(cluster: Cluster) -> Obj:
    """The git source's Helm settings ({} for the overlay): the chart's values inline, as for the network-operator
    chart (the same values as output/<name>/helm/rdma-infiniband-values.yaml), so no `$values` ref source is needed."""
    if cluster.argocd.source != "chart":
        return {}
    return {"releaseName": CHART_NAME, "valuesObject": chart_values(cluster)}


def git_source(cluster: Cluster) -> Obj:
    source = {"repoURL": cluster.argocd.repo_url, "targetRevision": cluster.argocd.target_revision,
              "path": git_path(cluster)}
    helm = git_helm(cluster)
    return {**source, "helm": helm} if helm else source


def sync_policy(automated: bool) -> Obj:
    sync: Obj = {}
    if automated:
        sync["automated"] = {"prune": True, "selfHeal": True}
    sync.update(template("argocd-sync.yaml"))
    return sync


def application(cluster: Cluster) -> Obj:
    return {
        "apiVersion": ARGOCD_API,
        "kind": "Application",
        "metadata": {
            "name": application_name(cluster),
            "namespace": cluster.argocd.namespace,
            "labels": _labels(cluster),
            # deleting the Application removes what it deployed, CRs first (reverse waves)
            "finalizers": [FINALIZER],
        },
        "spec": {
            "project": project_name(cluster),
            "destination": destination(cluster),
            # rendered: the chart is in the overlay, as gen rendered and checked it; one git source
            **({"source": overlay_source(cluster)} if cluster.argocd.delivery == "rendered"
               else {"sources": [chart_source(cluster), git_source(cluster)]}),
            "syncPolicy": sync_policy(cluster.argocd.automated),
        },
    }


def cluster_scoped_kinds(cluster: Cluster) -> list[tuple[str, str]]:
    """The cluster-scoped kinds Argo CD syncs for the cluster: what the chart renders with its values (chart facts;
    hooks too, unless delivered rendered, which drops them), the chart's CRDs, and the bundle's own objects."""
    facts = chart_facts(cluster.release.tag)
    crd_scopes = {(crd.group, crd.kind): crd.scope == "Cluster" for crd in facts.crds}
    builtin = catalog.load().builtin_scopes
    kinds = {(o.group, o.kind) for o in facts.rendered_objects(helm_values(cluster))
             if not o.namespaced and not (o.hook and cluster.argocd.delivery == "rendered")}
    if facts.crds:
        kinds.add(("apiextensions.k8s.io", "CustomResourceDefinition"))
    for obj in synced_objects(cluster):
        group_kind = (str(obj["apiVersion"]).rpartition("/")[0], str(obj["kind"]))
        if builtin.get(group_kind, crd_scopes.get(group_kind, False)):
            kinds.add(group_kind)
    return sorted(kinds)


def app_project(cluster: Cluster) -> Obj:
    """Only this cluster's destination and namespace, only the git repo (and the chart repository when Argo CD
    fetches the chart), and only the cluster-scoped kinds the chart and bundle create. Namespaced kinds stay
    allowed; the destination namespace confines them."""
    repos = [cluster.argocd.repo_url]
    if cluster.argocd.delivery == "helm":
        repos.append(catalog.load().chart_repository)
    return {
        "apiVersion": ARGOCD_API,
        "kind": "AppProject",
        "metadata": {"name": project_name(cluster), "namespace": cluster.argocd.namespace, "labels": _labels(cluster)},
        "spec": {
            "description": f"NVIDIA Network Operator (RDMA over InfiniBand) on cluster {cluster.name}",
            "sourceRepos": repos,
            "destinations": [destination(cluster), *_gpu_destinations(cluster)],
            "clusterResourceWhitelist": [{"group": g, "kind": k} for g, k in cluster_scoped_kinds(cluster)],
        },
    }


def _gpu_destinations(cluster: Cluster) -> list[Obj]:
    """The nvidia-peermem reloader's namespace, where the Application deploys it."""
    return [{**cluster_destination(cluster), "namespace": reloader_namespace()}] if wants_reloader(cluster) else []


def health_patch(cluster: Cluster) -> Obj:
    """argocd-cm patch with the Lua health checks (kubectl patch --type merge, or a kustomize patch)."""
    data = {f"resource.customizations.health.{key}": (TEMPLATES / name).read_text("utf-8")
            for key, name in HEALTH_CHECKS.items()}
    data.update(gpu_health_checks(cluster))
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "argocd-cm", "namespace": cluster.argocd.namespace,
                     "labels": {"app.kubernetes.io/name": "argocd-cm", "app.kubernetes.io/part-of": "argocd"}},
        "data": data,
    }


def argocd_kustomization() -> Obj:
    """`kubectl apply -k output/<cluster>/argocd`: the project first, then the Application."""
    return {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
            "resources": ["project.yaml", "application.yaml"]}


def argocd_files(cluster: Cluster) -> dict[str, list[Obj]]:
    """The bundle's argocd/ directory."""
    return {
        APPLICATION_FILE: [application(cluster)],
        PROJECT_FILE: [app_project(cluster)],
        KUSTOMIZATION_FILE: [argocd_kustomization()],
        HEALTH_FILE: [health_patch(cluster)],
    }
