"""Argo CD objects for a cluster: one Application with two sources (chart + mode overlay), its AppProject,
the argocd-cm health-check patch, and the kustomization that lists what `kubectl apply -k` installs."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from generator import catalog
from generator.render.objects import TEMPLATES, helm_values, template
from generator.spec.model import ClusterSpec

Obj = dict[str, Any]
FINALIZER = "resources-finalizer.argocd.argoproj.io"
ARGOCD_API = "argoproj.io/v1alpha1"
PART_OF = {"app.kubernetes.io/part-of": "rdma-gitops"}

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

# Cluster-scoped kinds the chart (CRDs, operator + NFD RBAC; admission controller off, so no webhook
# configurations) and the bundle (Namespace, NodeFeatureRule, NicClusterPolicy, IPoIBNetwork) create.
CLUSTER_KINDS: tuple[tuple[str, str], ...] = (
    ("", "Namespace"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("nfd.k8s-sigs.io", "NodeFeatureRule"),
    ("mellanox.com", "NicClusterPolicy"),
    ("mellanox.com", "IPoIBNetwork"),
)


def application_name(spec: ClusterSpec) -> str:
    return f"network-operator-{spec.name}"


def project_name(spec: ClusterSpec) -> str:
    return f"network-operator-{spec.name}"


def overlay_path(spec: ClusterSpec) -> str:
    """Repo-relative path of the overlay Argo CD applies."""
    return f"output/{spec.name}/overlays/{spec.mode}"


def _labels(spec: ClusterSpec) -> dict[str, str]:
    return {**PART_OF, "rdma-gitops/cluster": spec.name}


def cluster_destination(spec: ClusterSpec) -> Obj:
    """The cluster alone: {name} or {server}."""
    if spec.argocd.destination_name:
        return {"name": spec.argocd.destination_name}
    return {"server": spec.argocd.destination_server}


def destination(spec: ClusterSpec) -> Obj:
    return {**cluster_destination(spec), "namespace": spec.namespace}


def chart_source(spec: ClusterSpec) -> Obj:
    cat = catalog.load()
    return {
        "repoURL": cat.chart_repository,
        "chart": cat.chart_name,
        "targetRevision": spec.release.chart_version,
        "helm": {"releaseName": "network-operator", "valuesObject": helm_values(spec)},
    }


def overlay_source(spec: ClusterSpec) -> Obj:
    return {"repoURL": spec.argocd.repo_url, "targetRevision": spec.argocd.target_revision,
            "path": overlay_path(spec)}


def sync_policy(automated: bool) -> Obj:
    sync: Obj = {}
    if automated:
        sync["automated"] = {"prune": True, "selfHeal": True}
    sync.update(template("argocd-sync.yaml"))
    return sync


def application(spec: ClusterSpec) -> Obj:
    return {
        "apiVersion": ARGOCD_API,
        "kind": "Application",
        "metadata": {
            "name": application_name(spec),
            "namespace": spec.argocd.namespace,
            "labels": _labels(spec),
            # deleting the Application removes what it deployed, CRs first (reverse waves)
            "finalizers": [FINALIZER],
        },
        "spec": {
            "project": project_name(spec),
            "destination": destination(spec),
            "sources": [chart_source(spec), overlay_source(spec)],
            "syncPolicy": sync_policy(spec.argocd.automated),
        },
    }


def app_project(spec: ClusterSpec) -> Obj:
    """Only this cluster's destination and namespace, only the git repo and the chart repository, and
    only the cluster-scoped kinds the chart and bundle create. Namespaced kinds stay allowed (the chart's
    set changes between releases); the destination namespace confines them."""
    return {
        "apiVersion": ARGOCD_API,
        "kind": "AppProject",
        "metadata": {"name": project_name(spec), "namespace": spec.argocd.namespace, "labels": _labels(spec)},
        "spec": {
            "description": f"NVIDIA Network Operator (RDMA over InfiniBand) on cluster {spec.name}",
            "sourceRepos": [spec.argocd.repo_url, catalog.load().chart_repository],
            "destinations": [destination(spec)],
            "clusterResourceWhitelist": [{"group": group, "kind": kind} for group, kind in CLUSTER_KINDS],
        },
    }


def health_patch(spec: ClusterSpec) -> Obj:
    """argocd-cm patch with the Lua health checks (kubectl patch --type merge, or a kustomize patch)."""
    data = {f"resource.customizations.health.{key}": (TEMPLATES / name).read_text("utf-8")
            for key, name in HEALTH_CHECKS.items()}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "argocd-cm", "namespace": spec.argocd.namespace,
                     "labels": {"app.kubernetes.io/name": "argocd-cm", "app.kubernetes.io/part-of": "argocd"}},
        "data": data,
    }


def argocd_kustomization() -> Obj:
    """`kubectl apply -k output/<cluster>/argocd`: the project first, then the Application."""
    return {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
            "resources": ["project.yaml", "application.yaml"]}


def argocd_files(spec: ClusterSpec) -> dict[str, list[Obj]]:
    """The bundle's argocd/ directory."""
    return {
        APPLICATION_FILE: [application(spec)],
        PROJECT_FILE: [app_project(spec)],
        KUSTOMIZATION_FILE: [argocd_kustomization()],
        HEALTH_FILE: [health_patch(spec)],
    }


# -- AppProject rules (Argo CD's IsGroupKindPermitted + IsDestinationPermitted, for tests and `gen plan`)

CORE_CLUSTER_SCOPED: frozenset[tuple[str, str]] = frozenset({
    ("", "Namespace"), ("", "Node"), ("", "PersistentVolume"), ("", "ComponentStatus"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"), ("apiregistration.k8s.io", "APIService"),
    ("rbac.authorization.k8s.io", "ClusterRole"), ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
    ("storage.k8s.io", "StorageClass"), ("storage.k8s.io", "CSIDriver"), ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "VolumeAttachment"), ("scheduling.k8s.io", "PriorityClass"),
    ("node.k8s.io", "RuntimeClass"), ("networking.k8s.io", "IngressClass"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"), ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    # custom kinds of the network-operator release CRDs and common add-ons
    ("nfd.k8s-sigs.io", "NodeFeatureRule"), ("mellanox.com", "NicClusterPolicy"),
    ("mellanox.com", "IPoIBNetwork"), ("mellanox.com", "HostDeviceNetwork"), ("mellanox.com", "MacvlanNetwork"),
    ("cert-manager.io", "ClusterIssuer"),
})
CORE_NAMESPACED: frozenset[tuple[str, str]] = frozenset({
    ("", "ConfigMap"), ("", "Secret"), ("", "Service"), ("", "ServiceAccount"), ("", "Pod"),
    ("", "PersistentVolumeClaim"), ("", "ResourceQuota"), ("", "LimitRange"), ("", "Endpoints"),
    ("apps", "Deployment"), ("apps", "DaemonSet"), ("apps", "StatefulSet"), ("apps", "ReplicaSet"),
    ("batch", "Job"), ("batch", "CronJob"), ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "RoleBinding"), ("policy", "PodDisruptionBudget"),
    ("networking.k8s.io", "NetworkPolicy"), ("networking.k8s.io", "Ingress"), ("coordination.k8s.io", "Lease"),
    ("k8s.cni.cncf.io", "NetworkAttachmentDefinition"), ("nv-ipam.nvidia.com", "IPPool"),
    ("nv-ipam.nvidia.com", "CIDRPool"), ("nfd.k8s-sigs.io", "NodeFeature"), ("nfd.k8s-sigs.io", "NodeFeatureGroup"),
    ("whereabouts.cni.cncf.io", "IPPool"), ("argoproj.io", "Application"), ("argoproj.io", "AppProject"),
    ("argoproj.io", "ApplicationSet"),
})


def group_kind(obj: Obj) -> tuple[str, str]:
    api_version = str(obj.get("apiVersion", ""))
    return (api_version.rpartition("/")[0], str(obj.get("kind", "")))


def is_cluster_scoped(group: str, kind: str) -> bool | None:
    """True/False from the known-scopes table; None when the kind is unknown."""
    if (group, kind) in CORE_CLUSTER_SCOPED:
        return True
    if (group, kind) in CORE_NAMESPACED:
        return False
    return None


def _glob(pattern: str, value: str) -> bool:
    return pattern == value or fnmatchcase(value, pattern)


def _listed(entries: list[Obj] | None, group: str, kind: str, name: str) -> bool:
    return any(_glob(str(e.get("group", "")), group) and _glob(str(e.get("kind", "")), kind)
               and _glob(str(e.get("name", "*") or "*"), name) for e in entries or [])


def project_allows(project: Obj, obj: Obj, destination_namespace: str) -> tuple[bool, str]:
    """Whether Argo CD lets an Application of ``project`` sync ``obj`` (and why not).

    Cluster-scoped kinds must be in clusterResourceWhitelist and not in clusterResourceBlacklist.
    Namespaced kinds are allowed unless in namespaceResourceBlacklist, or, when namespaceResourceWhitelist
    is set, unless missing from it; their namespace (the object's, else the destination's) must match one
    of the project's destinations.
    """
    spec = project.get("spec", {})
    group, kind = group_kind(obj)
    name = str(obj.get("metadata", {}).get("name", ""))
    scoped = is_cluster_scoped(group, kind)
    label = f"{group or 'core'}/{kind} {name}"
    if scoped is None:
        return False, f"{label}: scope unknown (add it to the known-scopes table)"
    if scoped:
        if not _listed(spec.get("clusterResourceWhitelist"), group, kind, name):
            return False, f"{label}: cluster-scoped kind not in clusterResourceWhitelist"
        if _listed(spec.get("clusterResourceBlacklist"), group, kind, name):
            return False, f"{label}: in clusterResourceBlacklist"
        return True, f"{label}: cluster-scoped, whitelisted"
    if "namespaceResourceWhitelist" in spec and not _listed(spec["namespaceResourceWhitelist"], group, kind, name):
        return False, f"{label}: not in namespaceResourceWhitelist"
    if _listed(spec.get("namespaceResourceBlacklist"), group, kind, name):
        return False, f"{label}: in namespaceResourceBlacklist"
    namespace = str(obj.get("metadata", {}).get("namespace") or destination_namespace)
    if not any(_glob(str(d.get("namespace", "")), namespace) for d in spec.get("destinations", [])):
        return False, f"{label}: namespace {namespace!r} is not a destination of the project"
    return True, f"{label}: namespaced, in {namespace}"


# -- opt-in PostSync verification: ib_write_bw between two InfiniBand nodes

HOOK = "argocd.argoproj.io/hook"
HOOK_DELETE_POLICY = "argocd.argoproj.io/hook-delete-policy"
VERIFY_FILE = "verify.yaml"  # in overlays/<mode>/ when spec.verify.enabled
VERIFY_NAME = "rdma-verify"
NFD_LABEL = "feature.node.kubernetes.io/pci-15b3.present"


def _hook_annotations() -> dict[str, str]:
    # Argo CD deletes the previous run when it creates the next one; a failed Job fails the sync
    return {HOOK: "PostSync", HOOK_DELETE_POLICY: "BeforeHookCreation"}


def bandwidth_floor(spec: ClusterSpec) -> int:
    return spec.verify.bandwidth_floor_gbps or spec.vm_size.bandwidth_floor_gbps


def _verify_container(spec: ClusterSpec) -> Obj:
    env = [
        {"name": "MODE", "value": spec.mode},
        {"name": "FLOOR_GBPS", "value": str(bandwidth_floor(spec))},
        {"name": "SERVER", "value": f"{VERIFY_NAME}-0.{VERIFY_NAME}.{spec.namespace}.svc"},
        {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
    ]
    if spec.mode == "ipoib":
        env.append({"name": "IPOIB_INTERFACE", "value": "net1"})  # the ipoib CNI's interface in the pod
    container: Obj = {
        "name": "ib-write-bw",
        "image": spec.verify.image,
        "command": ["/bin/bash", "-c", (TEMPLATES / "argocd-verify.sh").read_text("utf-8")],
        "env": env,
        "ports": [{"name": "perftest", "containerPort": 18515, "protocol": "TCP"}],
    }
    if spec.mode == "base":
        # driver only: no device plugin hands out /dev/infiniband, so the pod needs privileges
        container["securityContext"] = {"privileged": True}
        return container
    # without IPC_LOCK, `ulimit -l` is 64 KiB and ib_write_bw cannot register its buffers
    container["securityContext"] = {"capabilities": {"add": ["IPC_LOCK"]}}
    resource = "rdma/ib" if spec.mode == "sriov" else "rdma/shared_ib"
    container["resources"] = {"requests": {resource: "1"}, "limits": {resource: "1"}}
    return container


def _verify_pod_template(spec: ClusterSpec) -> Obj:
    meta: Obj = {"labels": {"app.kubernetes.io/name": VERIFY_NAME}}
    if spec.mode == "ipoib":
        # <namespace>/<network>: the NetworkAttachmentDefinition the operator made from the IPoIBNetwork
        meta["annotations"] = {"k8s.v1.cni.cncf.io/networks": f"{spec.ipoib.namespace}/{spec.ipoib.network_name}"}
    return {
        "metadata": meta,
        "spec": {
            "restartPolicy": "Never",
            "subdomain": VERIFY_NAME,  # index 0 is reachable as rdma-verify-0.rdma-verify
            "affinity": {
                "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                    {"matchExpressions": [{"key": NFD_LABEL, "operator": "In", "values": ["true"]}]}]}},
                "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
                    "labelSelector": {"matchLabels": {"app.kubernetes.io/name": VERIFY_NAME}},
                    "topologyKey": "kubernetes.io/hostname"}]},
            },
            "containers": [_verify_container(spec)],
        },
    }


def verify_objects(spec: ClusterSpec) -> list[Obj]:
    """Headless Service + Indexed Job (2 completions, one pod per node), both PostSync hooks."""
    labels = {**PART_OF, "app.kubernetes.io/name": VERIFY_NAME}
    service: Obj = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": VERIFY_NAME, "namespace": spec.namespace, "labels": labels,
                     "annotations": _hook_annotations()},
        "spec": {"clusterIP": "None", "publishNotReadyAddresses": True,
                 "selector": {"app.kubernetes.io/name": VERIFY_NAME},
                 "ports": [{"name": "perftest", "port": 18515, "targetPort": 18515, "protocol": "TCP"}]},
    }
    job: Obj = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": VERIFY_NAME, "namespace": spec.namespace, "labels": labels,
                     "annotations": _hook_annotations()},
        "spec": {
            "completionMode": "Indexed",
            "completions": 2,
            "parallelism": 2,
            "backoffLimit": 0,  # a low bandwidth must fail the sync, not be retried into a pass
            "activeDeadlineSeconds": 900,  # the server never hears from a client that failed to start
            "template": _verify_pod_template(spec),
        },
    }
    return [service, job]
