"""Kubernetes objects of the bundle, as pure functions of the ClusterSpec.

Every object is built in Kubernetes key order: apiVersion, kind, metadata, spec.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import yaml

from generator.spec.model import ClusterSpec

TEMPLATES = Path(__file__).resolve().parent / "templates"
NFD_LABEL = "feature.node.kubernetes.io/pci-15b3.present"
MELLANOX_VENDOR = "15b3"
POLICY_NAME = "nic-cluster-policy"  # the only name the operator reconciles

WAVE = "argocd.argoproj.io/sync-wave"
SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
# Argo CD sync waves: Namespace, then the chart (wave 0, CRDs first), then the CRs that need its CRDs.
WAVE_NAMESPACE = "-1"
WAVE_NODE_FEATURE_RULE = "1"
WAVE_POLICY = "2"
WAVE_NETWORK = "3"
SKIP_DRY_RUN = "SkipDryRunOnMissingResource=true"

Obj = dict[str, Any]


@functools.cache
def _template(name: str) -> Any:
    return yaml.load((TEMPLATES / name).read_text("utf-8"), Loader=yaml.SafeLoader)


def template(name: str) -> Any:
    """A fresh copy of a data template (callers may mutate it)."""
    return copy.deepcopy(_template(name))


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


def namespace(spec: ClusterSpec) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": _metadata(
            spec.namespace,
            labels={"pod-security.kubernetes.io/enforce": "privileged"},
            # never deleted with the Application: it holds the operator's state and the users' secrets
            annotations={WAVE: WAVE_NAMESPACE, SYNC_OPTIONS: "Delete=false"},
        ),
    }


def node_feature_rule(spec: ClusterSpec) -> Obj:
    return {
        "apiVersion": "nfd.k8s-sigs.io/v1alpha1",
        "kind": "NodeFeatureRule",
        "metadata": _metadata("nfd-network-rule", annotations=_cr_annotations(WAVE_NODE_FEATURE_RULE)),
        "spec": {
            "rules": [
                {
                    "name": "nfd-network-rule",
                    "labels": {NFD_LABEL: "true"},
                    "matchFeatures": [
                        {
                            "feature": "pci.device",
                            "matchExpressions": {"device": {"op": "In", "value": list(spec.device_ids)}},
                        }
                    ],
                }
            ]
        },
    }


def _image(spec: ClusterSpec, component: str) -> Obj:
    image: Obj = spec.release.image(component).as_dict()
    if spec.image_pull_secrets:
        image["imagePullSecrets"] = list(spec.image_pull_secrets)
    return image


def nic_cluster_policy(spec: ClusterSpec) -> Obj:
    """The base policy: DOCA driver on nodes NFD labelled, plus DOCA telemetry (the guide's base)."""
    driver = {**_image(spec, "docaDriver"), **template("ofed-driver.yaml")}
    return {
        "apiVersion": "mellanox.com/v1alpha1",
        "kind": "NicClusterPolicy",
        "metadata": _metadata(POLICY_NAME, annotations=_cr_annotations(WAVE_POLICY)),
        "spec": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": NFD_LABEL, "operator": "In", "values": ["true"]}]}
                    ]
                }
            },
            "ofedDriver": driver,
            "docaTelemetryService": _image(spec, "docaTelemetryService"),
        },
    }


def _policy_patch(spec_fields: Obj) -> Obj:
    return {
        "apiVersion": "mellanox.com/v1alpha1",
        "kind": "NicClusterPolicy",
        "metadata": {"name": POLICY_NAME},
        "spec": spec_fields,
    }


def _json_config(value: Obj) -> str:
    return json.dumps(value, indent=2) + "\n"


def sriov_device_plugin_config() -> Obj:
    return {
        "resourceList": [
            {
                "resourcePrefix": "rdma",
                "resourceName": "ib",
                "selectors": {"vendors": [MELLANOX_VENDOR], "linkTypes": ["infiniband"], "isRdma": True},
            }
        ]
    }


def rdma_shared_device_plugin_config(spec: ClusterSpec) -> Obj:
    return {
        "configList": [
            {
                "resourceName": "shared_ib",
                "rdmaHcaMax": spec.rdma_hca_max,
                "selectors": {"vendors": [MELLANOX_VENDOR], "linkTypes": ["infiniband"]},
            }
        ]
    }


def sriov_patch(spec: ClusterSpec) -> Obj:
    plugin = {**_image(spec, "sriovDevicePlugin"), "config": _json_config(sriov_device_plugin_config())}
    return _policy_patch({"sriovDevicePlugin": plugin})


def shared_patch(spec: ClusterSpec) -> Obj:
    plugin = {**_image(spec, "rdmaSharedDevicePlugin"),
              "config": _json_config(rdma_shared_device_plugin_config(spec))}
    return _policy_patch({"rdmaSharedDevicePlugin": plugin})


def ipoib_patch(spec: ClusterSpec) -> Obj:
    secondary: Obj = {
        "cniPlugins": _image(spec, "cniPlugins"),
        "multus": _image(spec, "multus"),
        "ipoib": _image(spec, "ipoib"),
    }
    fields: Obj = {"secondaryNetwork": secondary}
    if spec.ipoib.ipam == "whereabouts":
        secondary["ipamPlugin"] = _image(spec, "whereabouts")
    else:
        fields["nvIpam"] = {**_image(spec, "nvIpam"), "enableWebhook": False}
    return _policy_patch(fields)


def ipam_config(spec: ClusterSpec) -> Obj:
    ipoib = spec.ipoib
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


def ipoib_network(spec: ClusterSpec) -> Obj:
    return {
        "apiVersion": "mellanox.com/v1alpha1",
        "kind": "IPoIBNetwork",
        "metadata": _metadata(spec.ipoib.network_name, annotations=_cr_annotations(WAVE_NETWORK)),
        "spec": {
            "networkNamespace": spec.ipoib.namespace,
            "master": spec.ipoib.master,
            "ipam": _json_config(ipam_config(spec)),
        },
    }


def nv_ipam_pool(spec: ClusterSpec) -> Obj:
    """NVIDIA IPAM pool for the IPoIB network (its CRD comes with the operator's nv-ipam operand)."""
    ipoib = spec.ipoib
    pool: Obj = {
        "subnet": str(ipoib.range),
        "perNodeBlockSize": ipoib.per_node_block_size,
        "gateway": str(ipoib.gateway),
    }
    if ipoib.exclude:
        pool["exclusions"] = [
            {"startIP": str(net.network_address), "endIP": str(net.broadcast_address)} for net in ipoib.exclude
        ]
    pool["nodeSelector"] = {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": NFD_LABEL, "operator": "In", "values": ["true"]}]}]
    }
    return {
        "apiVersion": "nv-ipam.nvidia.com/v1alpha1",
        "kind": "IPPool",
        "metadata": _metadata(ipoib.network_name, spec.namespace, annotations=_cr_annotations(WAVE_NETWORK)),
        "spec": pool,
    }


def helm_values(spec: ClusterSpec) -> Obj:
    """Values for the network-operator chart (the guide's, plus what a GitOps install needs)."""
    values: Obj = {
        # the bundle ships its own NodeFeatureRule (the guide's values)
        "nfd": {"enabled": True, "deployNodeFeatureRules": False},
        # the chart's pre-install/pre-upgrade Job replaces CRDs wholesale and drops Argo CD's tracking
        # annotation; Argo CD applies the chart's crds/ itself
        "upgradeCRDs": False,
    }
    if spec.image_pull_secrets:
        values["imagePullSecrets"] = list(spec.image_pull_secrets)
    return values


def example_pod(spec: ClusterSpec) -> Obj:
    pod: Obj = template("example-pod.yaml")
    container = pod["spec"]["containers"][0]
    meta = pod["metadata"]
    if spec.mode == "base":
        # driver only: no device plugin, so the pod needs privileges to reach /dev/infiniband
        container["securityContext"] = {"privileged": True}
        return pod
    # without IPC_LOCK `ulimit -l` is 64 KiB and RDMA memory registration fails
    container["securityContext"] = {"capabilities": {"add": ["IPC_LOCK"]}}
    # sriov: one VF per NIC, claim them all; shared/ipoib: one of rdmaHcaMax slots, all NICs visible
    amount = {"rdma/ib": spec.vm_size.nics} if spec.mode == "sriov" else {"rdma/shared_ib": 1}
    container["resources"] = {"requests": dict(amount), "limits": dict(amount)}
    if spec.mode == "ipoib":
        meta["namespace"] = spec.ipoib.namespace
        meta["annotations"] = {"k8s.v1.cni.cncf.io/networks": spec.ipoib.network_name}
    return pod
