"""The extended resources the device plugins advertise, and so what pods request: ``rdma/ib`` (SR-IOV, the guide's
prefix) or ``rdma/shared_ib`` (the RDMA shared device plugin), and with the operator's admission webhook on, an SR-IOV
prefix the webhook accepts. The overlay, the example pods, the verify Job and the rdma-infiniband chart's values all
take them from here."""

from __future__ import annotations

from generator.cluster.model import Cluster

# The device plugins' resources: pods request rdma/ib (SR-IOV, the guide's prefix) or rdma/shared_ib (shared)
SRIOV_RESOURCE_PREFIX = "rdma"
SRIOV_RESOURCE_NAME = "ib"
SHARED_RESOURCE_PREFIX = "rdma"  # the RDMA shared device plugin's own prefix (its config sets none)
SHARED_RESOURCE_NAME = "shared_ib"
# With the operator's admission webhook on (chart value operator.admissionController.enabled), a resourcePrefix must
# be an FQDN (isValidFQDN in the webhook of every supported release): the guide's `rdma` is refused (failurePolicy
# Fail), so the SR-IOV resource takes NVIDIA's prefix, as the operator's own examples do (nvidia.com/<name>).
WEBHOOK_SRIOV_RESOURCE_PREFIX = "nvidia.com"
WEBHOOK_VALUE = ("operator", "admissionController", "enabled")


def webhook_enabled(cluster: Cluster) -> bool:
    """Whether the cluster's networkOperator.values turn the operator's admission webhook on (off by default): the
    chart's ``{{- if .Values.operator.admissionController.enabled }}``, so any value a Go template takes as true
    (``true``, and also a non-empty string such as "false", a non-zero number, a non-empty list or map)."""
    value: object = cluster.chart_values
    for key in WEBHOOK_VALUE:
        value = value.get(key) if isinstance(value, dict) else None
    return bool(value) if isinstance(value, (bool, int, float, str, list, dict)) else False


def sriov_resource_prefix(cluster: Cluster) -> str:
    """The SR-IOV resource's prefix: the guide's ``rdma``, or an FQDN the webhook accepts when it is on."""
    return WEBHOOK_SRIOV_RESOURCE_PREFIX if webhook_enabled(cluster) else SRIOV_RESOURCE_PREFIX


def mode_resource(cluster: Cluster) -> str | None:
    """The extended resource a pod of the cluster's mode requests (None in base mode: no device plugin)."""
    if cluster.mode == "base":
        return None
    if cluster.mode == "sriov":
        return f"{sriov_resource_prefix(cluster)}/{SRIOV_RESOURCE_NAME}"
    return f"{SHARED_RESOURCE_PREFIX}/{SHARED_RESOURCE_NAME}"
