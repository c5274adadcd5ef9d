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
from generator.render.bundle_objects import DRIVER, INFINIBAND_CLASS
from generator.render.data import template
from generator.render.image_refs import policy_image, rewrite
from generator.render.resources import SHARED_RESOURCE_NAME, SRIOV_RESOURCE_NAME, sriov_resource_prefix
from generator.render.verify import bandwidth_floor

VALUES_FILE = "helm/rdma-infiniband-values.yaml"  # in output/<name>/


def chart_values(cluster: Cluster) -> Obj:
    """Every value the chart reads, resolved (nothing is left to the chart's defaults)."""
    ipoib = cluster.ipoib
    return {
        "mode": cluster.mode,
        "release": cluster.release.tag,
        "namespace": {"name": cluster.namespace, "create": True},
        "argocd": {"annotations": True},
        # as the overlay's policy names them: moved to the spec's mirrors, pinned to its digests
        "images": {name: policy_image(image, cluster.images, driver=name == DRIVER)
                   for name, image in cluster.release.images.items()},
        "imagePullSecrets": list(cluster.image_pull_secrets),
        "tolerations": list(cluster.tolerations),
        "nics": {"vendor": MELLANOX_VENDOR, "class": INFINIBAND_CLASS, "deviceIds": list(cluster.device_ids)},
        "driver": template("ofed-driver.yaml"),
        "sriovDevicePlugin": {"resourcePrefix": sriov_resource_prefix(cluster), "resourceName": SRIOV_RESOURCE_NAME},
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
            "image": rewrite(cluster.verify.image, cluster.images),
            "bandwidthFloorGbps": bandwidth_floor(cluster),
        },
    }
