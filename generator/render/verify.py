"""Opt-in post-sync verification (spec ``verify.enabled``): an ib_write_bw run between two InfiniBand nodes.

Argo CD runs both objects as PostSync hooks after every sync: a headless Service and an Indexed Job of two
pods on two different InfiniBand nodes (index 0 serves, index 1 measures). A bandwidth below the VM size's
floor fails the Job, and so the sync.
"""

from __future__ import annotations

from generator.cluster.model import Cluster
from generator.core.kube import HOOK, HOOK_DELETE_POLICY, NETWORKS_ANNOTATION, PART_OF, Obj, nfd_node_selector_terms
from generator.render import data
from generator.render.image_refs import rewrite
from generator.render.resources import mode_resource

VERIFY_FILE = "verify.yaml"  # in overlays/<mode>/ when cluster.verify.enabled
VERIFY_NAME = "rdma-verify"


def _hook_annotations() -> dict[str, str]:
    # Argo CD deletes the previous run when it creates the next one; a failed Job fails the sync
    return {HOOK: "PostSync", HOOK_DELETE_POLICY: "BeforeHookCreation"}


def bandwidth_floor(cluster: Cluster) -> int:
    return cluster.verify.bandwidth_floor_gbps or cluster.vm_size.bandwidth_floor_gbps


def _verify_container(cluster: Cluster) -> Obj:
    env = [
        {"name": "MODE", "value": cluster.mode},
        {"name": "FLOOR_GBPS", "value": str(bandwidth_floor(cluster))},
        {"name": "SERVER", "value": f"{VERIFY_NAME}-0.{VERIFY_NAME}.{cluster.namespace}.svc"},
        {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
    ]
    if cluster.mode == "ipoib":
        env.append({"name": "IPOIB_INTERFACE", "value": "net1"})  # the ipoib CNI's interface in the pod
    container: Obj = {
        "name": "ib-write-bw",
        "image": rewrite(cluster.verify.image, cluster.images),
        "command": ["/bin/bash", "-c", data.text("argocd-verify.sh")],
        "env": env,
        "ports": [{"name": "perftest", "containerPort": 18515, "protocol": "TCP"}],
    }
    if cluster.mode == "base":
        # driver only: no device plugin hands out /dev/infiniband, so the pod needs privileges
        container["securityContext"] = {"privileged": True}
        return container
    # without IPC_LOCK, `ulimit -l` is 64 KiB and ib_write_bw cannot register its buffers
    container["securityContext"] = {"capabilities": {"add": ["IPC_LOCK"]}}
    resource = str(mode_resource(cluster))
    container["resources"] = {"requests": {resource: "1"}, "limits": {resource: "1"}}
    return container


def _verify_pod_template(cluster: Cluster) -> Obj:
    meta: Obj = {"labels": {"app.kubernetes.io/name": VERIFY_NAME}}
    if cluster.mode == "ipoib":
        # <namespace>/<network>: the NetworkAttachmentDefinition the operator made from the IPoIBNetwork
        meta["annotations"] = {NETWORKS_ANNOTATION: f"{cluster.ipoib.namespace}/{cluster.ipoib.network_name}"}
    return {
        "metadata": meta,
        "spec": {
            "restartPolicy": "Never",
            "subdomain": VERIFY_NAME,  # index 0 is reachable as rdma-verify-0.rdma-verify
            "affinity": {
                "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": nfd_node_selector_terms()}},
                "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
                    "labelSelector": {"matchLabels": {"app.kubernetes.io/name": VERIFY_NAME}},
                    "topologyKey": "kubernetes.io/hostname"}]},
            },
            **({"tolerations": list(cluster.tolerations)} if cluster.tolerations else {}),
            "containers": [_verify_container(cluster)],
        },
    }


def verify_objects(cluster: Cluster) -> list[Obj]:
    """Headless Service + Indexed Job (2 completions, one pod per node), both PostSync hooks."""
    labels = {**PART_OF, "app.kubernetes.io/name": VERIFY_NAME}
    service: Obj = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": VERIFY_NAME, "namespace": cluster.namespace, "labels": labels,
                     "annotations": _hook_annotations()},
        "spec": {"clusterIP": "None", "publishNotReadyAddresses": True,
                 "selector": {"app.kubernetes.io/name": VERIFY_NAME},
                 "ports": [{"name": "perftest", "port": 18515, "targetPort": 18515, "protocol": "TCP"}]},
    }
    job: Obj = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": VERIFY_NAME, "namespace": cluster.namespace, "labels": labels,
                     "annotations": _hook_annotations()},
        "spec": {
            "completionMode": "Indexed",
            "completions": 2,
            "parallelism": 2,
            "backoffLimit": 0,  # a low bandwidth must fail the sync, not be retried into a pass
            "activeDeadlineSeconds": 900,  # the server never hears from a client that failed to start
            "template": _verify_pod_template(cluster),
        },
    }
    return [service, job]
