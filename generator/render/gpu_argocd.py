"""Argo CD objects of the GPU Operator (``gpu.driver: operator``): its Application, with two sources like the network
operator's (the ``gpu-operator`` chart with the cluster's values, and the git directory holding its Namespace), and its
AppProject, computed from what the chart renders with those values.

Order: the Application carries sync wave 1, the network-operator Application wave 0. Synced by a parent Application
(app of apps) over ``output/<name>/argocd``, Argo CD creates the GPU Operator's Application only once the network
operator's is healthy, which needs its NicClusterPolicy healthy (the policy's Lua health check) and, for the parent to
see an Application's health at all, the ``argoproj.io_Application`` health check (``argocd/argocd-cm-health.yaml``).
"""

from __future__ import annotations

from generator import catalog
from generator.catalog.gpu import load_gpu
from generator.cluster.model import Cluster
from generator.core import layout
from generator.core.kube import PART_OF, WAVE, Obj
from generator.render.argocd import ARGOCD_API, FINALIZER, cluster_destination, sync_policy
from generator.render.gpu import GPU_SOURCE_DIR, facts_of, gpu_namespace, gpu_values, operator_of

GPU_APPLICATION_FILE = "argocd/gpu-operator-application.yaml"
GPU_PROJECT_FILE = "argocd/gpu-operator-project.yaml"
GPU_RELEASE_NAME = "gpu-operator"
WAVE_GPU_APPLICATION = "1"  # after network-operator-<name> (wave 0) is healthy, when a parent syncs argocd/


def gpu_application_name(cluster: Cluster) -> str:
    return f"gpu-operator-{cluster.name}"


def gpu_project_name(cluster: Cluster) -> str:
    return f"gpu-operator-{cluster.name}"


def gpu_source_path(cluster: Cluster) -> str:
    return f"{layout.output_dir(cluster.name)}/{GPU_SOURCE_DIR}"


def _labels(cluster: Cluster) -> dict[str, str]:
    return {**PART_OF, "rdma-gitops/cluster": cluster.name}


def gpu_destination(cluster: Cluster) -> Obj:
    operator = operator_of(cluster)
    assert operator is not None
    return {**cluster_destination(cluster), "namespace": operator.namespace}


def gpu_chart_source(cluster: Cluster) -> Obj:
    operator = operator_of(cluster)
    assert operator is not None
    gpu = load_gpu()
    return {"repoURL": gpu.chart_repository, "chart": gpu.chart_name, "targetRevision": operator.release.chart_version,
            "helm": {"releaseName": GPU_RELEASE_NAME, "valuesObject": gpu_values(cluster)}}


def gpu_application(cluster: Cluster) -> Obj:
    return {
        "apiVersion": ARGOCD_API,
        "kind": "Application",
        "metadata": {
            "name": gpu_application_name(cluster),
            "namespace": cluster.argocd.namespace,
            "labels": _labels(cluster),
            "annotations": {WAVE: WAVE_GPU_APPLICATION},
            "finalizers": [FINALIZER],
        },
        "spec": {
            "project": gpu_project_name(cluster),
            "destination": gpu_destination(cluster),
            "sources": [gpu_chart_source(cluster),
                        {"repoURL": cluster.argocd.repo_url, "targetRevision": cluster.argocd.target_revision,
                         "path": gpu_source_path(cluster)}],
            "syncPolicy": sync_policy(cluster.argocd.automated),
        },
    }


def gpu_cluster_scoped_kinds(cluster: Cluster) -> list[tuple[str, str]]:
    """What the chart renders cluster-scoped with the cluster's values (hooks too), its CRDs, and the Namespace."""
    operator = operator_of(cluster)
    assert operator is not None
    facts = facts_of(operator).chart
    kinds = {(o.group, o.kind) for o in facts.rendered_objects(gpu_values(cluster)) if not o.namespaced}
    if facts.crds:
        kinds.add(("apiextensions.k8s.io", "CustomResourceDefinition"))
    builtin = catalog.load().builtin_scopes
    namespace = gpu_namespace(cluster)
    if builtin.get(("", str(namespace["kind"]))):
        kinds.add(("", "Namespace"))
    return sorted(kinds)


def gpu_project(cluster: Cluster) -> Obj:
    """Only this cluster with the GPU Operator's namespace, only the git repo and NVIDIA's Helm repository, only the
    cluster-scoped kinds the chart and the Namespace make."""
    return {
        "apiVersion": ARGOCD_API,
        "kind": "AppProject",
        "metadata": {"name": gpu_project_name(cluster), "namespace": cluster.argocd.namespace,
                     "labels": _labels(cluster)},
        "spec": {
            "description": f"NVIDIA GPU Operator (GPUDirect RDMA) on cluster {cluster.name}",
            "sourceRepos": [cluster.argocd.repo_url, load_gpu().chart_repository],
            "destinations": [gpu_destination(cluster)],
            "clusterResourceWhitelist": [{"group": g, "kind": k} for g, k in gpu_cluster_scoped_kinds(cluster)],
        },
    }
