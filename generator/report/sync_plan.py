"""The order Argo CD applies a cluster's bundle: phase -> wave -> kind -> name (gitops-engine's sync task
order), with the Helm chart as one row in wave 0 (its CRDs go first; Argo CD moves a CRD ahead of its CRs)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from generator.cluster.model import Cluster
from generator.kube import HELM_HOOK, HOOK, SYNC_OPTIONS, WAVE

PHASES = ("PreSync", "Sync", "PostSync")
CHART_KIND = "helm"
# gitops-engine pkg/sync/sync_tasks.go kindOrder (kinds not listed come after, by name)
KIND_ORDER = (
    "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy", "PodDisruptionBudget",
    "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass", "PersistentVolume",
    "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
    "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service", "DaemonSet",
    "Pod", "ReplicationController", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job",
    "CronJob", "IngressClass", "Ingress", "APIService",
)

Obj = dict[str, Any]


@dataclass(frozen=True)
class Row:
    phase: str
    wave: int
    kind: str
    name: str
    namespace: str = ""
    sync_options: str = ""

    def line(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        options = f"  [{self.sync_options}]" if self.sync_options else ""
        return f"{self.phase:8} {self.wave:>4}  {self.kind:24} {where}{options}"


def _phase(annotations: dict[str, str]) -> str:
    hook = annotations.get(HOOK, "")
    if hook:
        return hook.split(",")[0].strip()
    helm = annotations.get(HELM_HOOK, "")
    if "pre-install" in helm or "pre-upgrade" in helm:
        return "PreSync"
    if "post-install" in helm or "post-upgrade" in helm:
        return "PostSync"
    return "Sync"


def row(obj: Obj) -> Row:
    meta = obj.get("metadata", {})
    annotations = meta.get("annotations") or {}
    return Row(
        phase=_phase(annotations),
        wave=int(annotations.get(WAVE, "0")),
        kind=str(obj.get("kind", "")),
        name=str(meta.get("name", "")),
        namespace=str(meta.get("namespace", "")),
        sync_options=str(annotations.get(SYNC_OPTIONS, "")),
    )


def chart_row(cluster: Cluster) -> Row:
    return Row("Sync", 0, CHART_KIND, f"network-operator {cluster.release.chart_version} (CRDs first)")


def _key(item: Row) -> tuple[int, int, int, str, str]:
    phase = PHASES.index(item.phase) if item.phase in PHASES else len(PHASES)
    if item.kind == CHART_KIND:  # CRDs lead the chart's objects
        kind = KIND_ORDER.index("CustomResourceDefinition")
    else:
        kind = KIND_ORDER.index(item.kind) if item.kind in KIND_ORDER else len(KIND_ORDER)
    return (phase, item.wave, kind, item.kind if kind == len(KIND_ORDER) else "", item.name)


def plan(cluster: Cluster, objects: Iterable[Obj]) -> list[Row]:
    """Rows in Argo CD's apply order for the objects kustomize built from overlays/<mode> plus the chart."""
    return sorted([chart_row(cluster), *(row(obj) for obj in objects)], key=_key)


def render(rows: Iterable[Row]) -> str:
    head = f"{'PHASE':8} {'WAVE':>4}  {'KIND':24} NAME"
    return "\n".join([head, *(r.line() for r in rows)]) + "\n"
