"""Golden files of the opt-in checks (the ib_write_bw Job of every HCA and the NCCL Job) for three VM sizes, over host
memory and over GPU memory (GPUDirect RDMA, DMA-BUF or nvidia-peermem), in three modes.

The spec's ``gpu`` section is parsed by another change: until it lands, the GPU cases set ``Cluster.gpu`` with
``dataclasses.replace`` on a spec whose verify image is a CUDA-enabled perftest (what gen requires with ``gpu``).
Regenerate with ``GEN_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import pytest

from generator.cluster.model import Cluster
from generator.render.cluster_bundle import render_bundle
from tests.conftest import REPO
from tests.helpers import assert_golden, make_cluster

GOLDEN = REPO / "tests" / "render" / "golden" / "checks"
NCCL_IMAGE = "ghcr.io/azure/aks-rdma-infiniband/nccl-tests@sha256:" + "a" * 64
CUDA_PERFTEST = "registry.example/perftest-cuda@sha256:" + "b" * 64
TAINT = "tolerations:\n- {key: sku, operator: Equal, value: gpu, effect: NoSchedule}\n"

# case -> (mode, VM size, GPUDirect RDMA or None, verify image or "" for the default)
CASES: dict[str, tuple[str, str, str | None, str]] = {
    "nd96asr_v4-sriov-host": ("sriov", "Standard_ND96asr_v4", None, ""),
    "nd96asr_v4-sriov-peermem": ("sriov", "Standard_ND96asr_v4", "peermem", CUDA_PERFTEST),
    "h100-shared-host": ("shared", "Standard_ND96isr_H100_v5", None, ""),
    "h100-shared-dmabuf": ("shared", "Standard_ND96isr_H100_v5", "dmabuf", CUDA_PERFTEST),
    "gb200-ipoib-host": ("ipoib", "Standard_ND128isr_NDR_GB200_v6", None, CUDA_PERFTEST),
    "gb200-ipoib-dmabuf": ("ipoib", "Standard_ND128isr_NDR_GB200_v6", "dmabuf", CUDA_PERFTEST),
}


def case_cluster(case: str) -> Cluster:
    mode, vm_size, rdma, image = CASES[case]
    kube = 'kubernetes:\n  version: "1.35"\n' if "GB200" in vm_size else ""
    extra = (kube + TAINT + "verify:\n  enabled: true\n" + (f"  image: {image}\n" if image else "")
             + f"  nccl:\n    enabled: true\n    image: {NCCL_IMAGE}\n")
    gpu = f"gpu:\n  driver: operator\n  rdma: {rdma}\n" if rdma else ""
    return make_cluster("prod", mode, extra=extra + gpu, version="v26.4.1", vm_size=vm_size)


def check_files(case: str) -> dict[str, bytes]:
    cluster = case_cluster(case)
    files = render_bundle(cluster).files
    overlay = f"overlays/{cluster.mode}/"
    return {rel: data for rel, data in files.items()
            if (rel.startswith(overlay) and rel.endswith(("verify.yaml", "nccl.yaml", "kustomization.yaml")))
            or rel in ("examples/pod.yaml", "helm/rdma-infiniband-values.yaml")}


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str) -> None:
    files = check_files(case)
    directory = GOLDEN / case
    assert_golden(directory, files, f"{case}/")
