"""The order Argo CD applies a cluster's bundle: phase -> wave -> kind -> name (gitops-engine's sync task
order), with the Helm chart as one row in wave 0 (its CRDs go first; Argo CD moves a CRD ahead of its CRs)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from generator.catalog.charts import chart_facts
from generator.cluster.model import Cluster
from generator.core.kube import HELM_HOOK, HELM_HOOK_WEIGHT, HOOK, SYNC_OPTIONS, WAVE
from generator.render.flux import Link, kustomization_name
from generator.render.operator_values import helm_values

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
CLUSTER_SCOPED_KINDS = ("ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "Namespace")


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
    # a Helm hook's weight is its wave (Argo CD maps helm.sh/hook-weight to the sync wave)
    wave = annotations.get(WAVE, annotations.get(HELM_HOOK_WEIGHT, "0") if HELM_HOOK in annotations else "0")
    return Row(
        phase=_phase(annotations),
        wave=int(wave),
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


def facts_rows(cluster: Cluster) -> list[Row]:
    """The chart as one row, and its hooks, from the catalog's chart facts (the chart is not at hand)."""
    facts = chart_facts(cluster.release.tag)
    hooks = [Row(o.hook.argocd[0] if o.hook.argocd else "PreSync", o.hook.weight, o.kind, o.name,
                 cluster.namespace if o.namespaced else "")
             for o in facts.rendered_objects(helm_values(cluster)) if o.hook is not None]
    return [chart_row(cluster), *hooks]


def plan(cluster: Cluster, objects: Iterable[Obj], chart_objects: list[Obj] | None = None) -> list[Row]:
    """Rows in Argo CD's apply order for the objects kustomize built from overlays/<mode>, plus the chart's when
    Argo CD renders it (helm delivery): each object and hook as helm rendered it, else from the chart facts."""
    rows = [row(obj) for obj in objects]
    if cluster.argocd.delivery == "helm":
        rows += [row(obj) for obj in chart_objects] if chart_objects is not None else facts_rows(cluster)
    return _namespace_first(sorted(rows, key=_key), cluster.namespace)


def _namespace_first(rows: list[Row], namespace: str) -> list[Row]:
    """gitops-engine's adjustDeps: the Namespace moves ahead of the first task in it, taking that task's phase and
    wave (so, with the chart's PreSync hooks, the Namespace is created in PreSync)."""
    index = next((i for i, r in enumerate(rows) if r.kind == "Namespace" and r.name == namespace), None)
    first = next((i for i, r in enumerate(rows) if r.namespace == namespace or (r.phase == "PreSync" and not
                  r.namespace and r.kind not in CLUSTER_SCOPED_KINDS)), None)
    if index is None or first is None or first > index:
        return rows
    moved = dataclasses.replace(rows[index], phase=rows[first].phase, wave=rows[first].wave)
    rest = rows[:index] + rows[index + 1:]
    return [*rest[:first], moved, *rest[first:]]


def render(rows: Iterable[Row]) -> str:
    head = f"{'PHASE':8} {'WAVE':>4}  {'KIND':24} NAME"
    return "\n".join([head, *(r.line() for r in rows)]) + "\n"


# -- Flux (gitops: flux) ------------------------------------------------------------------------------------------

_FLUX_FIRST = ("CustomResourceDefinition", "Namespace")  # kustomize-controller applies these first, then the rest


def flux_plan(cluster: Cluster, links: Iterable[Link], built: dict[str, list[Obj]]) -> str:
    """The Flux chain of a cluster: each Kustomization in order, what it waits on (dependsOn), when it is Ready, and
    the objects it applies (Namespaces and CRDs first, as kustomize-controller applies them)."""
    lines = [f"{'STEP':4}  {'KUSTOMIZATION':22} {'WAITS ON':30} READY WHEN"]
    for number, link in enumerate(links, start=1):
        step = link.step
        waits = ", ".join(kustomization_name(name) for name in link.depends_on) or "-"
        lines.append(f"{number:<4}  {kustomization_name(step.name):22} {waits:30} {step.why}")
        objects = sorted(built.get(step.directory, []), key=lambda o: str(o.get("kind")) not in _FLUX_FIRST)
        for obj in objects:
            meta = obj.get("metadata") or {}
            where = f"{meta['namespace']}/{meta.get('name', '')}" if meta.get("namespace") else str(meta.get("name"))
            lines.append(f"{'':6}{obj.get('kind')!s:22} {where}")
            if obj.get("kind") == "HelmRelease":
                chart = ((obj.get("spec") or {}).get("chart") or {}).get("spec") or {}
                hooks = "hooks off" if ((obj.get("spec") or {}).get("install") or {}).get("disableHooks") else \
                    "its hooks as Helm runs them"
                lines.append(f"{'':8}{CHART_KIND:20} {chart.get('chart')} {chart.get('version')} (its crds/ first; "
                             f"{hooks})")
    return "\n".join(lines) + "\n"
