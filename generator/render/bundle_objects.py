"""Kubernetes objects of the bundle, as pure functions of the Cluster.

Every object is built in Kubernetes key order: apiVersion, kind, metadata, spec.
"""

from __future__ import annotations

import json

from generator.cluster.model import MODES, Cluster
from generator.core.kube import (
    MELLANOX_VENDOR,
    NETWORKS_ANNOTATION,
    NFD_LABEL,
    POLICY_NAME,
    PSA_ENFORCE,
    SKIP_DRY_RUN,
    SYNC_OPTIONS,
    WAVE,
    Obj,
    nfd_node_selector_terms,
)
from generator.render.data import template
from generator.render.gpu import reloader_objects, wants_reloader
from generator.render.image_refs import policy_image
from generator.render.resources import (
    SHARED_RESOURCE_NAME,
    SRIOV_RESOURCE_NAME,
    mode_resource,
    sriov_resource_prefix,
)
from generator.render.verify import nccl_objects, verify_objects

INFINIBAND_CLASS = "0207"  # PCI class: network controller, InfiniBand
# Argo CD sync waves: Namespace, then the chart (wave 0, CRDs first), then the CRs that need its CRDs.
WAVE_NAMESPACE = "-1"
WAVE_NODE_FEATURE_RULE = "1"
WAVE_POLICY = "2"
WAVE_NETWORK = "3"


def _metadata(name: str, namespace: str | None = None, annotations: dict[str, str] | None = None,
              labels: dict[str, str] | None = None) -> Obj:
    meta: Obj = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = labels
    if annotations:
        meta["annotations"] = annotations
    return meta


def _cr_annotations(wave: str) -> dict[str, str]:
    return {WAVE: wave, SYNC_OPTIONS: SKIP_DRY_RUN}


def namespace(cluster: Cluster) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": _metadata(
            cluster.namespace,
            labels={PSA_ENFORCE: "privileged"},
            # never deleted with the Application: it holds the operator's state and the users' secrets
            annotations={WAVE: WAVE_NAMESPACE, SYNC_OPTIONS: "Delete=false"},
        ),
    }


def node_feature_rule(cluster: Cluster) -> Obj:
    return {
        "apiVersion": "nfd.k8s-sigs.io/v1alpha1",
        "kind": "NodeFeatureRule",
        "metadata": _metadata("nfd-network-rule", annotations=_cr_annotations(WAVE_NODE_FEATURE_RULE)),
        "spec": {
            "rules": [
                {
                    "name": "nfd-network-rule",
                    "labels": {NFD_LABEL: "true"},
                    # one PCI device that is NVIDIA Mellanox, an InfiniBand controller (class 0207: never an
                    # Ethernet VF, which can share a device ID such as 101e) and an Azure IB VF ID
                    "matchFeatures": [
                        {
                            "feature": "pci.device",
                            "matchExpressions": {
                                "vendor": {"op": "In", "value": [MELLANOX_VENDOR]},
                                "class": {"op": "In", "value": [INFINIBAND_CLASS]},
                                "device": {"op": "In", "value": list(cluster.device_ids)},
                            },
                        }
                    ],
                }
            ]
        },
    }


DRIVER = "docaDriver"


def _image(cluster: Cluster, component: str) -> Obj:
    """A component's image as the policy names it: the release's, moved to the spec's mirror and pinned."""
    image: Obj = policy_image(cluster.release.image(component), cluster.images, driver=component == DRIVER)
    if cluster.image_pull_secrets:
        image["imagePullSecrets"] = list(cluster.image_pull_secrets)
    return image


def nic_cluster_policy(cluster: Cluster) -> Obj:
    """The base policy: DOCA driver on nodes NFD labelled, plus DOCA telemetry (the guide's base)."""
    driver = {**_image(cluster, DRIVER), **template("ofed-driver.yaml")}
    return {
        "apiVersion": "mellanox.com/v1alpha1",
        "kind": "NicClusterPolicy",
        "metadata": _metadata(POLICY_NAME, annotations=_cr_annotations(WAVE_POLICY)),
        "spec": {
            "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": nfd_node_selector_terms()}},
            **({"tolerations": list(cluster.tolerations)} if cluster.tolerations else {}),
            "ofedDriver": driver,
            "docaTelemetryService": _image(cluster, "docaTelemetryService"),
        },
    }


def _policy_patch(spec_fields: Obj) -> Obj:
    return {
        "apiVersion": "mellanox.com/v1alpha1",
        "kind": "NicClusterPolicy",
        "metadata": {"name": POLICY_NAME},
        "spec": spec_fields,
    }


def json_config(value: Obj) -> str:
    """An embedded JSON config (device plugins, IPAM) as Helm's ``toPrettyJson`` writes it: keys sorted, indented by
    two spaces, so the rdma-infiniband chart and the overlay carry the same string."""
    return json.dumps(value, indent=2, sort_keys=True) + "\n"


def sriov_device_plugin_config(cluster: Cluster) -> Obj:
    return {
        "resourceList": [
            {
                "resourcePrefix": sriov_resource_prefix(cluster),
                "resourceName": SRIOV_RESOURCE_NAME,
                "selectors": {"vendors": [MELLANOX_VENDOR], "linkTypes": ["infiniband"], "isRdma": True},
            }
        ]
    }


def rdma_shared_device_plugin_config(cluster: Cluster) -> Obj:
    return {
        "configList": [
            {
                "resourceName": SHARED_RESOURCE_NAME,
                "rdmaHcaMax": cluster.rdma_hca_max,
                "selectors": {"vendors": [MELLANOX_VENDOR], "linkTypes": ["infiniband"]},
            }
        ]
    }


def sriov_patch(cluster: Cluster) -> Obj:
    plugin = {**_image(cluster, "sriovDevicePlugin"), "config": json_config(sriov_device_plugin_config(cluster))}
    return _policy_patch({"sriovDevicePlugin": plugin})


def shared_patch(cluster: Cluster) -> Obj:
    plugin = {**_image(cluster, "rdmaSharedDevicePlugin"),
              "config": json_config(rdma_shared_device_plugin_config(cluster))}
    return _policy_patch({"rdmaSharedDevicePlugin": plugin})


def ipoib_patch(cluster: Cluster) -> Obj:
    secondary: Obj = {
        "cniPlugins": _image(cluster, "cniPlugins"),
        "multus": _image(cluster, "multus"),
        "ipoib": _image(cluster, "ipoib"),
    }
    fields: Obj = {"secondaryNetwork": secondary}
    if cluster.ipoib.ipam == "whereabouts":
        secondary["ipamPlugin"] = _image(cluster, "whereabouts")
    else:
        fields["nvIpam"] = {**_image(cluster, "nvIpam"), "enableWebhook": False}
    return _policy_patch(fields)


def policy_components(cluster: Cluster) -> dict[str, tuple[str, ...]]:
    """Each catalog component the NicClusterPolicy deploys (its image) -> the mode overlays that deploy it, as
    ``nic_cluster_policy`` and the mode patches above build them (the ipoib overlay includes the shared one)."""
    ipam = "whereabouts" if cluster.ipoib.ipam == "whereabouts" else "nvIpam"
    return {
        DRIVER: MODES,
        "docaTelemetryService": MODES,
        "sriovDevicePlugin": ("sriov",),
        "rdmaSharedDevicePlugin": ("shared", "ipoib"),
        "cniPlugins": ("ipoib",),
        "multus": ("ipoib",),
        "ipoib": ("ipoib",),
        ipam: ("ipoib",),
    }


def ipam_config(cluster: Cluster) -> Obj:
    ipoib = cluster.ipoib
    if ipoib.ipam == "nv-ipam":
        return {"type": "nv-ipam", "poolName": ipoib.network_name}
    return {
        "type": "whereabouts",
        "datastore": "kubernetes",
        "kubernetes": {"kubeconfig": "/etc/cni/net.d/whereabouts.d/whereabouts.kubeconfig"},
        "range": str(ipoib.range),
        "exclude": [str(net) for net in ipoib.exclude],
        "log_file": "/var/log/whereabouts.log",
        "log_level": "info",
        "gateway": str(ipoib.gateway),
    }


def ipoib_network(cluster: Cluster) -> Obj:
    return {
        "apiVersion": "mellanox.com/v1alpha1",
        "kind": "IPoIBNetwork",
        "metadata": _metadata(cluster.ipoib.network_name, annotations=_cr_annotations(WAVE_NETWORK)),
        "spec": {
            "networkNamespace": cluster.ipoib.namespace,
            "master": cluster.ipoib.master,
            "ipam": json_config(ipam_config(cluster)),
        },
    }


def nv_ipam_pool(cluster: Cluster) -> Obj:
    """NVIDIA IPAM pool for the IPoIB network (its CRD comes with the operator's nv-ipam operand)."""
    ipoib = cluster.ipoib
    pool: Obj = {
        "subnet": str(ipoib.range),
        "perNodeBlockSize": ipoib.per_node_block_size,
        "gateway": str(ipoib.gateway),
    }
    if ipoib.exclude:
        pool["exclusions"] = [
            {"startIP": str(net.network_address), "endIP": str(net.broadcast_address)} for net in ipoib.exclude
        ]
    pool["nodeSelector"] = {"nodeSelectorTerms": nfd_node_selector_terms()}
    return {
        "apiVersion": "nv-ipam.nvidia.com/v1alpha1",
        "kind": "IPPool",
        "metadata": _metadata(ipoib.network_name, cluster.namespace, annotations=_cr_annotations(WAVE_NETWORK)),
        "spec": pool,
    }


def example_pod(cluster: Cluster) -> Obj:
    pod: Obj = template("example-pod.yaml")
    container = pod["spec"]["containers"][0]
    meta = pod["metadata"]
    if cluster.tolerations:
        pod["spec"]["tolerations"] = list(cluster.tolerations)
    if cluster.mode == "base":
        # driver only: no device plugin, so the pod needs privileges to reach /dev/infiniband
        container["securityContext"] = {"privileged": True}
        if cluster.vm_size.gpus:
            gpus = {cluster.vm_size.gpu_resource: cluster.vm_size.gpus}
            container["resources"] = {"requests": dict(gpus), "limits": dict(gpus)}
        return pod
    # without IPC_LOCK `ulimit -l` is 64 KiB and RDMA memory registration fails
    container["securityContext"] = {"capabilities": {"add": ["IPC_LOCK"]}}
    # sriov: one VF per NIC, claim them all; shared/ipoib: one of rdmaHcaMax slots, all NICs visible; with every GPU
    # of a GPU size (the guide's "Usage of GPUDirect RDMA": GPUs and the RDMA resource in one pod)
    amount = {cluster.vm_size.gpu_resource: cluster.vm_size.gpus} if cluster.vm_size.gpus else {}
    amount[str(mode_resource(cluster))] = cluster.vm_size.nics if cluster.mode == "sriov" else 1
    container["resources"] = {"requests": dict(amount), "limits": dict(amount)}
    if cluster.mode == "ipoib":
        meta["namespace"] = cluster.ipoib.namespace
        meta["annotations"] = {NETWORKS_ANNOTATION: cluster.ipoib.network_name}
    return pod


def synced_objects(cluster: Cluster) -> list[Obj]:
    """The objects Argo CD syncs from the bundle for the cluster's mode, as they are before the mode's patches."""
    objs = [namespace(cluster), node_feature_rule(cluster), nic_cluster_policy(cluster)]
    if cluster.mode == "ipoib":
        objs.append(ipoib_network(cluster))
        if cluster.ipoib.ipam == "nv-ipam":
            objs.append(nv_ipam_pool(cluster))
    if cluster.verify.enabled:
        objs += verify_objects(cluster)
        if cluster.verify.nccl.enabled:
            objs += nccl_objects(cluster)
    if wants_reloader(cluster):
        objs += reloader_objects(cluster)
    return objs
