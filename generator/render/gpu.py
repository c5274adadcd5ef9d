"""The GPU half of GPUDirect RDMA (spec ``gpu``), as pure functions of the Cluster.

- ``driver: aks`` with ``rdma: peermem``: the nvidia-peermem reloader (a Namespace of its own, labelled privileged, and
  a DaemonSet on the nodes AKS labels ``kubernetes.azure.com/accelerator=nvidia``), in the network-operator Application
  at the wave after the NicClusterPolicy: the DOCA driver's load unloads nvidia-peermem (Azure/aks-rdma-infiniband#50),
  so it must come after the policy is healthy. With ``rdma: dmabuf`` nothing runs on the nodes.
- ``driver: operator``: the gpu-operator chart's values (NFD off, the RDMA path, the open kernel modules for DMA-BUF,
  the pool's tolerations for the operand DaemonSets, the chart's CRD hook off, the image tags pinned to the release),
  the user's ``gpu.operator.values`` merged over them and every image moved to the spec's mirror; and its Namespace.
  The Application and AppProject are in ``render/gpu_argocd.py``.
"""

from __future__ import annotations

import copy

from generator.catalog import Image
from generator.catalog.charts import lookup
from generator.catalog.gpu import GpuChartFacts, gpu_chart_facts, load_gpu
from generator.cluster.model import Cluster, GpuOperator
from generator.core.kube import PSA_ENFORCE, SYNC_OPTIONS, WAVE, Obj
from generator.render.data import TEMPLATES
from generator.render.image_refs import policy_image, rewrite
from generator.render.operator_values import merge, mirrored_values, set_dotted

RELOADER_FILE = "base/nvidia-peermem-reloader.yaml"  # in every mode overlay, through base/
RELOADER_NAME = "nvidia-peermem-reloader"
WAVE_RELOADER = "3"  # after the NicClusterPolicy (wave 2) is healthy: the DOCA driver is loaded by then
WAVE_RELOADER_POOLS = "4"  # with NicNodePolicies (wave 3) the pools' DOCA drivers: after they are healthy
GPU_VALUES_FILE = "helm/gpu-operator-values.yaml"
GPU_SOURCE_DIR = "gpu-operator"  # output/<name>/gpu-operator/: the GPU Operator Application's git source
DAEMONSET_TOLERATIONS = "daemonsets.tolerations"
# resource.customizations.health.<group>_<kind> -> Lua data file under templates/, added for a GPU Operator cluster
GPU_HEALTH_CHECKS = {
    "nvidia.com_ClusterPolicy": "clusterpolicy-health.lua",
    # app-of-apps: Argo CD dropped the Application health check in 1.8; waves between Applications need it back
    "argoproj.io_Application": "argocd-application-health.lua",
}
RELOAD_SCRIPT = """\
# the node's own modprobe (and its modules, zstd-compressed or not), through the host's root
until chroot /host modprobe nvidia-peermem; do
  echo "nvidia-peermem cannot be loaded yet (GPU driver or ib_core missing); retrying in 10s"
  sleep 10
done
echo "nvidia-peermem loaded; the liveness probe loads it again whenever it is unloaded"
while true; do sleep 3600; done
"""
PROBE = ["chroot", "/host", "modprobe", "nvidia-peermem"]


# -- driver aks: the nvidia-peermem reloader -------------------------------------------------------------------------


def wants_reloader(cluster: Cluster) -> bool:
    return cluster.gpu is not None and cluster.gpu.driver == "aks" and cluster.gpu.peermem


def reloader_namespace() -> str:
    return load_gpu().reloader.namespace


def reloader_wave(cluster: Cluster) -> str:
    """The reloader's sync wave: after whichever policy loads the DOCA driver (the NicClusterPolicy, or with pools
    from v26.4.0 the NicNodePolicies) is healthy."""
    return WAVE_RELOADER_POOLS if cluster.node_policies else WAVE_RELOADER


def reloader_objects(cluster: Cluster) -> list[Obj]:
    """The reloader's Namespace and DaemonSet (Azure's configs/nvidia-peermem-reloader, with a pinned image)."""
    reloader = load_gpu().reloader
    key, value = reloader.node_label
    labels = {"app.kubernetes.io/name": RELOADER_NAME}
    pod: Obj = {
        "priorityClassName": "system-node-critical",
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": key, "operator": "In", "values": [value]}]}]}}},
        "containers": [{
            "name": "reloader",
            "image": rewrite(reloader.image, cluster.images),
            "command": ["/bin/sh", "-c", RELOAD_SCRIPT],
            "startupProbe": {"exec": {"command": PROBE}, "initialDelaySeconds": 10, "periodSeconds": 10,
                             "timeoutSeconds": 10, "failureThreshold": 120},
            "livenessProbe": {"exec": {"command": PROBE}, "initialDelaySeconds": 30, "periodSeconds": 30,
                              "timeoutSeconds": 10, "failureThreshold": 1},
            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "50m", "memory": "32Mi"}},
            "securityContext": {"privileged": True},
            "volumeMounts": [{"name": "host-root", "mountPath": "/host", "readOnly": True}],
        }],
        "volumes": [{"name": "host-root", "hostPath": {"path": "/", "type": "Directory"}}],
    }
    if cluster.tolerations:
        pod = {"tolerations": list(cluster.tolerations), **pod}
    return [
        namespace_object(reloader.namespace),
        {"apiVersion": "apps/v1", "kind": "DaemonSet",
         "metadata": {"name": RELOADER_NAME, "namespace": reloader.namespace,
                      "annotations": {WAVE: reloader_wave(cluster)}},
         "spec": {"selector": {"matchLabels": dict(labels)}, "updateStrategy": {"type": "RollingUpdate"},
                  "template": {"metadata": {"labels": dict(labels)}, "spec": pod}}},
    ]


def own_namespaces(cluster: Cluster) -> tuple[str, ...]:
    """The namespaces the mode overlays hold besides the operator's: the reloader's."""
    return (reloader_namespace(),) if wants_reloader(cluster) else ()


def reloader_values(cluster: Cluster) -> Obj:
    """The rdma-infiniband chart's ``peermemReloader`` values: the same objects as ``reloader_objects``."""
    reloader = load_gpu().reloader
    key, value = reloader.node_label
    return {"namespace": reloader.namespace, "image": rewrite(reloader.image, cluster.images),
            "nodeLabel": {"key": key, "value": value}}


def namespace_object(name: str) -> Obj:
    """A namespace for privileged node agents: created first, never deleted with the Application."""
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {PSA_ENFORCE: "privileged"},
                         "annotations": {WAVE: "-1", SYNC_OPTIONS: "Delete=false"}}}


# -- driver operator: the gpu-operator chart ------------------------------------------------------------------------


def operator_of(cluster: Cluster) -> GpuOperator | None:
    return cluster.gpu.operator if cluster.gpu is not None else None


def facts_of(operator: GpuOperator) -> GpuChartFacts:
    return gpu_chart_facts(operator.release.tag)


def generated_gpu_values(cluster: Cluster, operator: GpuOperator) -> Obj:
    """What gen sets, before the user's values."""
    assert cluster.gpu is not None
    facts = facts_of(operator)
    tag = operator.release.tag
    peermem = cluster.gpu.peermem
    values: Obj = {
        # the Network Operator runs NFD for the cluster (Azure's values; Mellanox/network-operator#1212)
        "nfd": {"enabled": False},
        # the image tags the chart takes from its appVersion, pinned to the release whatever the packaging; the CRD
        # hook off: Argo CD would run it on every sync (PreSync) and it replaces the CRDs Argo CD applies itself
        "operator": {"version": tag, "upgradeCRD": False},
        "validator": {"version": tag},
        "driver": {
            # DMA-BUF needs the open kernel modules (RDMA:48-80); peermem works with either (auto picks by driver)
            "kernelModuleType": "auto" if peermem else "open",
            # enabled: the legacy nvidia-peermem sidecar; the DOCA driver runs in a container: never host MOFED
            "rdma": {"enabled": peermem, "useHostMofed": False},
        },
    }
    if facts.chart.verdict("nodeStatusExporter.version").ok:
        values["nodeStatusExporter"] = {"version": tag}
    if cluster.tolerations:
        # Helm replaces lists: keep the chart's own toleration of the operand DaemonSets and add the pool's
        defaults = list(facts.chart.values.get(DAEMONSET_TOLERATIONS) or [])
        values["daemonsets"] = {"tolerations": defaults + [t for t in cluster.tolerations if t not in defaults]}
    return values


def public_gpu_values(cluster: Cluster, operator: GpuOperator) -> Obj:
    """The values before the mirrors and digests."""
    return merge(generated_gpu_values(cluster, operator), operator.values)


def gpu_values(cluster: Cluster) -> Obj:
    """The values Argo CD passes to the gpu-operator chart: every image the chart and the ClusterPolicy make nodes pull
    moved to the spec's mirror and pinned (the GPU driver by the digest of its OS's image)."""
    operator = operator_of(cluster)
    assert operator is not None
    facts = facts_of(operator)
    values = mirrored_values(public_gpu_values(cluster, operator), facts.chart, cluster.images)
    if not cluster.images.mirrors and not cluster.images.digests:
        return values
    out = copy.deepcopy(values)
    policy = facts.cluster_policy(values)["spec"]
    for operand in facts.operands:
        section = lookup(policy, operand.component)
        if not isinstance(section, dict) or not all(k in operand.keys for k in ("repository", "image", "tag")):
            continue
        image = Image(str(section.get("repository", "")), str(section.get("image", "")),
                      str(section.get("version", "")))
        moved = policy_image(image, cluster.images, driver=operand.os_suffix)
        before = image.as_dict()
        for part, field in (("repository", "repository"), ("image", "image"), ("tag", "version")):
            if moved[field] != before[field]:
                set_dotted(out, operand.keys[part], moved[field])
    return out


def gpu_namespace(cluster: Cluster) -> Obj:
    operator = operator_of(cluster)
    assert operator is not None
    return namespace_object(operator.namespace)


def cluster_policy(cluster: Cluster) -> Obj:
    """The ClusterPolicy the chart renders with the cluster's values, from the release's chart facts."""
    operator = operator_of(cluster)
    assert operator is not None
    return facts_of(operator).cluster_policy(gpu_values(cluster))


def gpu_health_checks(cluster: Cluster) -> dict[str, str]:
    """The argocd-cm health checks a GPU Operator cluster adds (key -> Lua)."""
    if operator_of(cluster) is None:
        return {}
    return {f"resource.customizations.health.{key}": (TEMPLATES / name).read_text("utf-8")
            for key, name in GPU_HEALTH_CHECKS.items()}


POOL_COMMAND = "az aks nodepool add ... --node-vm-size <size> --os-sku Ubuntu --gpu-driver none"


def gpu_file_notes(cluster: Cluster, application_file: str, gpu_application_file: str) -> dict[str, str]:
    """Comments after a file's header saying what the node pool must provide for the cluster's ``gpu`` choice (gen
    cannot see the pool)."""
    gpu = cluster.gpu
    if gpu is None:
        return {}
    pools = ", ".join(p.name for p in cluster.pools if p.vm_size.gpu_resource == "nvidia.com/gpu")
    if gpu.driver == "operator":
        who = ("the pool must be created with --gpu-driver none\n" if not pools else
               f"every GPU pool ({pools}) must be created\n# with --gpu-driver none\n")
        return {gpu_application_file: (
            f"# The GPU Operator installs the GPU driver: {who}"
            f"# ({POOL_COMMAND}; it applies to new nodes only:\n"
            "# scale an existing pool to 0 and back). AKS's driver and the operator's cannot share a pool.\n"
            + ("# Sync wave 1: with a parent Application syncing this directory, it starts once network-operator-"
               f"{cluster.name} is healthy.\n" if cluster.gitops == "argocd" else
               "# Its Flux Kustomization waits on the network steps (dependsOn): it starts once the drivers are "
               "ready.\n"))}
    if gpu.peermem:
        return {RELOADER_FILE: (
            "# AKS's GPU driver (the pool created without --gpu-driver none) ships nvidia-peermem but does not load\n"
            "# it, and the DOCA driver's load unloads it (Azure/aks-rdma-infiniband#50): this DaemonSet loads it\n"
            + ("# after the NicClusterPolicy is healthy (sync wave 3) and again whenever it is unloaded.\n"
               if not cluster.node_policies else
               "# after the pools' NicNodePolicies are healthy (sync wave 4) and again whenever it is unloaded.\n"))}
    return {application_file: (
        "# GPUDirect RDMA over DMA-BUF with AKS's GPU driver: nothing is deployed for it. The pool (created without\n"
        "# --gpu-driver none) must run NVIDIA's open kernel modules (`cat /proc/driver/nvidia/version` names the Open\n"
        "# Kernel Module) on a kernel 5.12 or later (AKS Ubuntu: 5.15 on 22.04, 6.8 on 24.04); workloads need CUDA\n"
        "# 11.7 or later.\n")}
