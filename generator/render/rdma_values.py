"""The values of the rdma-infiniband chart for a cluster: the cluster-level knobs the chart builds the mode overlay's
objects from (``output/<name>/helm/rdma-infiniband-values.yaml``, and the Application's ``valuesObject`` with
``argocd.source: chart``). Pure: a function of the Cluster alone.

With these values, ``helm template`` of the chart gives the objects ``kustomize build output/<name>/overlays/<mode>``
gives (compared as data); the tests check it for every mode, release and VM size, and ``gen bundle`` checks it for
every cluster whenever the chart is in output/ (rule ``chart-equivalence``).
"""

from __future__ import annotations

from generator.catalog import verification as facts
from generator.cluster.model import Cluster
from generator.cluster.verification import bandwidth_floor, nccl_floor, uses_gpu_memory
from generator.core.kube import MELLANOX_VENDOR, Obj
from generator.render.bundle_objects import DRIVER, INFINIBAND_CLASS
from generator.render.data import template
from generator.render.gpu import reloader_values, wants_reloader
from generator.render.image_refs import policy_image, rewrite
from generator.render.resources import SHARED_RESOURCE_NAME, SRIOV_RESOURCE_NAME, sriov_resource_prefix
from generator.render.verify import gpu_memory, nccl_env, rdma_resources, topology_xml

VALUES_FILE = "helm/rdma-infiniband-values.yaml"  # in output/<name>/


def chart_values(cluster: Cluster) -> Obj:
    """Every value the chart reads, resolved (nothing is left to the chart's defaults)."""
    ipoib = cluster.ipoib
    values = {
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
        "verify": verify_values(cluster),
    }
    if wants_reloader(cluster):  # only then: the values of every other cluster stay as they were
        values["peermemReloader"] = reloader_values(cluster)
    return values


def verify_values(cluster: Cluster) -> Obj:
    """The checks' values, resolved: the ib_write_bw Job's knobs, and the NCCL Job's environment and topology."""
    gpus = cluster.vm_size.gpus if uses_gpu_memory(cluster) else 0
    nccl = cluster.verify.nccl
    checks = facts.size_checks(cluster.vm_size.name)
    profile = checks.nccl if checks is not None else None
    on = cluster.verify.enabled and nccl.enabled and profile is not None
    return {
        "enabled": cluster.verify.enabled,
        "image": rewrite(cluster.verify.image, cluster.images),
        "bandwidthFloorGbps": bandwidth_floor(cluster),
        "vmSize": cluster.vm_size.name,
        "hcas": cluster.vm_size.nics,
        "gpuMemory": gpu_memory(cluster),
        "gpus": gpus,
        "resources": _listed(rdma_resources(cluster, gpus)),
        "nccl": {
            "enabled": on,
            "image": rewrite(nccl.image, cluster.images) if nccl.image else "",
            "busBandwidthFloorGBps": nccl_floor(cluster),
            "env": nccl_env(cluster) if on else [],
            "topology": topology_xml(profile.topology) if on and profile and profile.topology else "",
            "resources": _listed(rdma_resources(cluster, cluster.vm_size.gpus)) if on else [],
        },
    }


def _listed(resources: dict[str, str]) -> list[Obj]:
    """Resources as a list: Helm merges a map of the values file into the chart's default map (a default rdma/ib
    would stay beside a cluster's rdma/shared_ib), and replaces a list."""
    return [{"name": name, "quantity": quantity} for name, quantity in resources.items()]
