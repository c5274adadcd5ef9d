"""Argo CD objects for a cluster: one Application with two sources (chart + mode overlay)."""

from __future__ import annotations

from typing import Any

from generator import catalog
from generator.render.objects import helm_values, template
from generator.spec.model import ClusterSpec

Obj = dict[str, Any]
FINALIZER = "resources-finalizer.argocd.argoproj.io"


def application_name(spec: ClusterSpec) -> str:
    return f"network-operator-{spec.name}"


def overlay_path(spec: ClusterSpec) -> str:
    """Repo-relative path of the overlay Argo CD applies."""
    return f"output/{spec.name}/overlays/{spec.mode}"


def destination(spec: ClusterSpec) -> Obj:
    dest: Obj = {}
    if spec.argocd.destination_name:
        dest["name"] = spec.argocd.destination_name
    else:
        dest["server"] = spec.argocd.destination_server
    dest["namespace"] = spec.namespace
    return dest


def application(spec: ClusterSpec) -> Obj:
    cat = catalog.load()
    sync: Obj = {}
    if spec.argocd.automated:
        sync["automated"] = {"prune": True, "selfHeal": True}
    sync.update(template("argocd-sync.yaml"))
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": application_name(spec),
            "namespace": spec.argocd.namespace,
            "labels": {"app.kubernetes.io/part-of": "rdma-gitops", "rdma-gitops/cluster": spec.name},
            # deleting the Application removes what it deployed, CRs first (reverse waves)
            "finalizers": [FINALIZER],
        },
        "spec": {
            "project": "default",
            "destination": destination(spec),
            "sources": [
                {
                    "repoURL": cat.chart_repository,
                    "chart": cat.chart_name,
                    "targetRevision": spec.release.chart_version,
                    "helm": {"releaseName": "network-operator", "valuesObject": helm_values(spec)},
                },
                {
                    "repoURL": spec.argocd.repo_url,
                    "targetRevision": spec.argocd.target_revision,
                    "path": overlay_path(spec),
                },
            ],
            "syncPolicy": sync,
        },
    }
