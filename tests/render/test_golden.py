"""Golden files: the exact bytes each representative spec renders to.

Regenerate after an intended change with ``GEN_UPDATE_GOLDEN=1 pytest tests/unit/test_golden.py`` and
review the diff like any other change.
"""

from __future__ import annotations

import pytest

from generator.pipeline.clusters import checked_cluster
from generator.render.cluster_bundle import render_bundle
from tests.conftest import REPO, spec_text
from tests.helpers import assert_golden

GOLDEN = REPO / "tests" / "render" / "golden"
MIRRORS = ("imageRegistry:\n  nvcr.io/nvidia: myacr.azurecr.io/nvidia\n  ghcr.io: myacr.azurecr.io/ghcr\n"
           "  registry.k8s.io: myacr.azurecr.io/k8s\n")
TAINTED = ("tolerations:\n- {key: sku, operator: Equal, value: gpu, effect: NoSchedule}\n"
           "taints:\n- {key: sku, value: gpu, effect: NoSchedule}\n")
CASES = {
    "base-v25.4.0": spec_text(mode="base"),
    "sriov-v25.4.0": spec_text(mode="sriov"),
    "shared-v25.4.0": spec_text(mode="shared"),
    "ipoib-v25.4.0": spec_text(mode="ipoib"),
    "ipoib-v26.4.1-h100": spec_text(mode="ipoib", version="v26.4.1", vm_size="Standard_ND96isr_H100_v5"),
    "shared-options": spec_text(mode="shared", version="v25.10.0", extra=(
        "shared:\n  rdmaHcaMax: 127\n"
    )).replace("networkOperator:\n  version: v25.10.0\n",
               "networkOperator:\n  version: v25.10.0\n  namespace: nvidia-network-operator\n"
               "  imagePullSecrets: ['true', 'no', '0']\n"),
    # a tainted GPU pool: tolerations everywhere that runs on it, chart values merged over the generated ones
    "sriov-tainted-pool-v26.4.1": spec_text(mode="sriov", version="v26.4.1", extra=(
        "tolerations:\n- {key: sku, operator: Equal, value: gpu, effect: NoSchedule}\n"
        "taints:\n- {key: sku, value: gpu, effect: NoSchedule}\n"
        "verify:\n  enabled: true\n"
    )).replace("networkOperator:\n  version: v26.4.1\n",
               "networkOperator:\n  version: v26.4.1\n  values:\n    operator:\n      nodeSelector:\n"
               "        kubernetes.azure.com/mode: system\n"),
    # a private registry: every public image moved to the mirror, some pinned by digest (chart images on the tag)
    "sriov-mirrored-v25.4.0": spec_text(mode="sriov", extra=(
        MIRRORS
        + "imageDigests:\n"
        "  ghcr.io/k8snetworkplumbingwg/sriov-network-device-plugin: sha256:" + "1" * 64 + "\n"
        "  nvcr.io/nvidia/cloud-native/network-operator: sha256:" + "2" * 64 + "\n"
        "  registry.k8s.io/nfd/node-feature-discovery: sha256:" + "3" * 64 + "\n"
    )),
    # from v25.10.0 the DOCA driver can be pinned too; multus keeps its tag in front of the digest
    "ipoib-mirrored-v25.10.0": spec_text(mode="ipoib", version="v25.10.0", extra=(
        MIRRORS
        + "imageDigests:\n"
        "  nvcr.io/nvidia/mellanox/doca-driver: sha256:" + "4" * 64 + "\n"
        "  nvcr.io/nvidia/mellanox/multus-cni: sha256:" + "5" * 64 + "\n"
        "  ghcr.io/azure/aks-rdma-infiniband/ibtools: sha256:" + "6" * 64 + "\n"
        "verify:\n  enabled: true\n"
    )),
    # today's AKS nodes: Ubuntu 24.04 (Kubernetes 1.35), its DOCA driver pinned by the digest of its -ubuntu24.04-amd64
    # image; and an Arm64 GB200 pool (4 NICs per VM)
    "sriov-v26.4.1-ubuntu24.04": spec_text(mode="sriov", version="v26.4.1", vm_size="Standard_ND96isr_H100_v5",
                                           extra='kubernetes:\n  version: "1.35"\nimageDigests:\n'
                                                 "  nvcr.io/nvidia/mellanox/doca-driver: sha256:" + "7" * 64 + "\n"),
    "sriov-v26.4.1-gb200": spec_text(mode="sriov", version="v26.4.1", vm_size="Standard_ND128isr_NDR_GB200_v6",
                                     extra='kubernetes:\n  version: "1.35"\n'),
    # GPUDirect RDMA (issue 22): the GPU Operator over DMA-BUF on a tainted H100 pool (its Application, project,
    # Namespace, values, the ClusterPolicy and Application health checks); AKS's driver with nvidia-peermem (the
    # reloader in base/, after the policy); AKS's driver with DMA-BUF (nothing but a note)
    "gpu-operator-dmabuf-v26.4.1-h100": spec_text(mode="sriov", version="v26.4.1", vm_size="Standard_ND96isr_H100_v5",
                                                  extra=TAINTED + "gpu: {driver: operator, rdma: dmabuf}\n"),
    "gpu-aks-peermem-v26.4.1-h100": spec_text(mode="shared", version="v26.4.1", vm_size="Standard_ND96isr_H100_v5",
                                              extra=TAINTED + "gpu: {driver: aks, rdma: peermem}\n"),
    "gpu-aks-dmabuf-v26.4.1-h100": spec_text(mode="sriov", version="v26.4.1", vm_size="Standard_ND96isr_H100_v5",
                                             extra="gpu: {driver: aks}\n"),
}


# gitops: flux, one cluster of each mode: the Flux chain instead of the Argo CD Application (the rest as with Argo CD)
FLUX = ("gitops: flux\nflux:\n  repoURL: https://github.com/example/aks-gitops.git\n  ref: {branch: main}\n")


def flux_spec(text: str) -> str:
    return text.replace("argocd:\n  repoURL: https://github.com/example/aks-gitops.git\n  targetRevision: main\n", FLUX)


CASES.update({
    "flux-base-v26.4.1": flux_spec(spec_text(mode="base", version="v26.4.1")),
    "flux-sriov-v25.4.0": flux_spec(spec_text(mode="sriov")),
    "flux-shared-v25.10.0": flux_spec(spec_text(mode="shared", version="v25.10.0")),  # its NFD schema needs the web
    "flux-ipoib-nv-ipam-verify-v26.4.1": flux_spec(spec_text(mode="ipoib", version="v26.4.1", extra=(
        "verify:\n  enabled: true\n"
        "tolerations:\n- {key: sku, operator: Equal, value: gpu, effect: NoSchedule}\n"))),
})


# node pools: an A100 pool on SR-IOV and a tainted H100 pool on the shared plugin, one NicNodePolicy each (v26.4.1),
# verify and NCCL per pool; the same pools before v26.4.0 share the NicClusterPolicy (they differ only in VM size,
# taints and tolerations); with Flux and IPoIB, the pools step and the cluster-wide IPoIB network
POOLS = ("pools:\n"
         "- name: a100\n"
         "  devicePlugin: sriov\n"
         "- name: h100\n"
         "  vmSize: Standard_ND96isr_H100_v5\n"
         "  devicePlugin: shared\n"
         "  taints: [{key: sku, value: gpu, effect: NoSchedule}]\n"
         "  tolerations: [{key: sku, operator: Equal, value: gpu, effect: NoSchedule}]\n")
NCCL = ("verify:\n  enabled: true\n  image: ghcr.io/azure/aks-rdma-infiniband/ibtools@sha256:" + "a" * 64 + "\n"
        "  nccl:\n    enabled: true\n    image: ghcr.io/azure/aks-rdma-infiniband/nccl-tests@sha256:" + "b" * 64 + "\n")
CASES.update({
    "pools-v26.4.1": spec_text(mode="sriov", version="v26.4.1", extra='kubernetes:\n  version: "1.35"\n' + NCCL
                               + POOLS),
    "pools-shared-policy-v26.1.2": spec_text(mode="sriov", version="v26.1.2", extra=POOLS.replace(
        "  devicePlugin: sriov\n", "").replace("  devicePlugin: shared\n", "")),
    "flux-pools-ipoib-v26.4.1": flux_spec(spec_text(mode="ipoib", version="v26.4.1", extra=(
        "verify:\n  enabled: true\n" + POOLS.replace("devicePlugin: shared", "devicePlugin: none")))),
    # the pools with the GPU half: AKS's driver with the nvidia-peermem reloader after the NicNodePolicies (wave 4);
    # with Flux, the GPU Operator's HelmRelease after the pools' step
    "pools-gpu-aks-peermem-v26.4.1": spec_text(mode="sriov", version="v26.4.1", extra=(
        "gpu: {driver: aks, rdma: peermem}\n" + POOLS)),
    "flux-pools-gpu-operator-v26.4.1": flux_spec(spec_text(mode="shared", version="v26.4.1", extra=(
        "gpu: {driver: operator, rdma: dmabuf}\n" + POOLS))),
})


def rendered(case: str) -> dict[str, bytes]:
    spec = checked_cluster(CASES[case].encode(), "clusters/prod.yaml", expected_name="prod")
    return render_bundle(spec).files


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str) -> None:
    files = rendered(case)
    directory = GOLDEN / case
    assert_golden(directory, files, f"{case}/")


def test_yaml_traps_survive_rendering() -> None:
    """Pull-secret names that YAML 1.1 reads as bool/number stay quoted strings in every file."""
    files = rendered("shared-options")
    policy = files["base/nicclusterpolicy.yaml"].decode()
    for name in ('"true"', '"no"', '"0"'):
        assert f"- {name}" in policy
    assert 'rdmaHcaMax": 127' in files["overlays/shared/rdma-shared-device-plugin.yaml"].decode()


def test_render_is_pure() -> None:
    assert rendered("ipoib-v25.4.0") == rendered("ipoib-v25.4.0")
