"""The values of the rdma-infiniband chart for a cluster: the cluster-level knobs the chart builds the mode overlay's
objects from (``output/<name>/helm/rdma-infiniband-values.yaml``, and the Application's ``valuesObject`` with
``argocd.source: chart``). Pure: a function of the Cluster alone.

With these values, ``helm template`` of the chart gives the objects ``kustomize build output/<name>/overlays/<mode>``
gives (compared as data); the tests check it for every mode, release and VM size, and ``gen bundle`` checks it for
every cluster whenever the chart is in output/ (rule ``chart-equivalence``).
"""

from __future__ import annotations

from generator.cluster.model import Cluster
from generator.core.kube import MELLANOX_VENDOR, Obj
from generator.render.bundle_objects import (
    INFINIBAND_CLASS,
    SHARED_RESOURCE_NAME,
    SRIOV_RESOURCE_NAME,
    SRIOV_RESOURCE_PREFIX,
)
from generator.render.data import template
from generator.render.gpu import reloader_values, wants_reloader
from generator.render.verify import bandwidth_floor

VALUES_FILE = "helm/rdma-infiniband-values.yaml"  # in output/<name>/


def chart_values(cluster: Cluster) -> Obj:
    """Every value the chart reads, resolved (nothing is left to the chart's defaults)."""
    ipoib = cluster.ipoib
    values = {
        "mode": cluster.mode,
        "namespace": {"name": cluster.namespace, "create": True},
        "argocd": {"annotations": True},
        "images": {name: image.as_dict() for name, image in cluster.release.images.items()},
        "imagePullSecrets": list(cluster.image_pull_secrets),
        "tolerations": list(cluster.tolerations),
        "nics": {"vendor": MELLANOX_VENDOR, "class": INFINIBAND_CLASS, "deviceIds": list(cluster.device_ids)},
        "driver": template("ofed-driver.yaml"),
        "sriovDevicePlugin": {"resourcePrefix": SRIOV_RESOURCE_PREFIX, "resourceName": SRIOV_RESOURCE_NAME},
        "rdmaSharedDevicePlugin": {"resourceName": SHARED_RESOURCE_NAME, "rdmaHcaMax": cluster.rdma_hca_max},
        "ipoib": {
            "networkName": ipoib.network_name,
            "namespace": ipoib.namespace,
            "master": ipoib.master,
            "ipam": ipoib.ipam,
            "range": str(ipoib.range),
            "gateway": str(ipoib.gateway),
            "exclude": [str(net) for net in ipoib.exclude],
            "perNodeBlockSize": ipoib.per_node_block_size,
            "createIPPool": True,
        },
        "verify": {
            "enabled": cluster.verify.enabled,
            "image": cluster.verify.image,
            "bandwidthFloorGbps": bandwidth_floor(cluster),
        },
    }
    if wants_reloader(cluster):  # only then: the values of every other cluster stay as they were
        values["peermemReloader"] = reloader_values(cluster)
    return values
