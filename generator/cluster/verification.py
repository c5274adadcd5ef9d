"""The spec's ``verify`` section held to what the checks can do on the VM size: a floor to measure against, GPUs for
the NCCL check, an ib_write_bw that can reach GPU memory when the cluster uses GPUDirect RDMA. A check that could
only fail (or only pass) on the cluster is a spec error here, naming the field and the fix."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Protocol

from generator.catalog import VmSize
from generator.catalog import verification as facts
from generator.cluster.model import Cluster, Nccl, Verify

JsonPath = tuple[str | int, ...]


class Source(Protocol):
    def given(self, path: JsonPath) -> bool: ...

    def error(self, path: JsonPath, message: str) -> Exception: ...


def image_name(image: str) -> str:
    """The image's name without tag or digest (``ghcr.io/a/b`` for ``ghcr.io/a/b:1@sha256:...``)."""
    name = image.partition("@")[0]
    return name.rpartition(":")[0] if ":" in name.rpartition("/")[2] else name


def verify_of(value: dict[str, Any]) -> Verify:
    """The Verify of a spec with its defaults filled in."""
    raw = value["verify"]
    nccl = raw.get("nccl") or {}
    return Verify(enabled=raw["enabled"], image=raw["image"], bandwidth_floor_gbps=raw.get("bandwidthFloorGbps"),
                  nccl=Nccl(enabled=bool(nccl.get("enabled", False)), image=str(nccl.get("image", "")),
                            bus_bandwidth_floor_gbytes=nccl.get("busBandwidthFloorGBps")))


def check_verify(verify: Verify, vm: VmSize, spec: Source) -> None:
    """Refuse a verify section whose checks cannot measure anything on the VM size."""
    checks = facts.size_checks(vm.name)
    if verify.enabled and checks is None and verify.bandwidth_floor_gbps is None:
        raise spec.error(("verify", "enabled"), f"{vm.name} is not in the catalog, so gen knows no ib_write_bw floor "
                                                "for it; give verify.bandwidthFloorGbps (Gb/s per HCA, 8 MiB "
                                                "messages)")
    if not verify.nccl.enabled:
        return
    path: JsonPath = ("verify", "nccl", "enabled")
    if not verify.enabled:
        raise spec.error(path, "the NCCL check runs after the ib_write_bw check, as a later PostSync hook: set "
                               "verify.enabled: true too")
    if checks is None or checks.nccl is None or vm.gpu_resource != "nvidia.com/gpu":
        raise spec.error(path, f"{vm.name} has no NVIDIA GPUs gen knows NCCL settings for (sizes with them: "
                               f"{', '.join(n for n, c in facts.load().sizes.items() if c.nccl)}); leave "
                               "verify.nccl off")
    if not verify.nccl.image:
        raise spec.error(path, f"give verify.nccl.image: an nccl-tests image pinned by digest, such as "
                               f"{facts.load().nccl_tests_image}@sha256:<digest> (gen knows no published digest "
                               "of it)")


def has_nccl(vm: VmSize) -> bool:
    """Whether the NCCL check can run on the size (NVIDIA GPUs and NCCL settings in the catalog)."""
    checks = facts.size_checks(vm.name)
    return checks is not None and checks.nccl is not None and vm.gpu_resource == "nvidia.com/gpu"


def check_pools(cluster: Cluster, spec: Source) -> None:
    """The verify section held to each pool's VM size (each pool gets its own checks): the ib_write_bw floor on every
    pool, the NCCL check on the pools that can run it (refused only when none can)."""
    if not cluster.pools:
        return
    for pool in cluster.pools:
        able = has_nccl(pool.vm_size)
        verify = cluster.verify if able else replace(cluster.verify, nccl=Nccl())
        check_verify(verify, pool.vm_size, spec)
        check_gpu_memory(cluster.pool_view(pool), spec)
    if cluster.verify.nccl.enabled and not any(has_nccl(p.vm_size) for p in cluster.pools):
        check_verify(cluster.verify, cluster.pools[0].vm_size, spec)


def check_gpu_memory(cluster: Cluster, spec: Source) -> None:
    """With GPUDirect RDMA (``gpu``), the verify Job measures GPU memory: its image's ib_write_bw needs CUDA."""
    if not cluster.verify.enabled or not uses_gpu_memory(cluster):
        return
    name = image_name(cluster.verify.image)
    if name in facts.load().without_cuda_perftest:
        path: JsonPath = ("verify", "image") if spec.given(("verify", "image")) else ("verify", "enabled")
        raise spec.error(path, f"{name} has an ib_write_bw built without CUDA (Ubuntu's perftest package), and with "
                               f"gpu set the verify Job measures GPU memory (--use_cuda): it would fail with "
                               f"'Unsupported memory type'; give verify.image a perftest image built with CUDA "
                               f"(bash, awk, getent, ib_write_bw), pinned by digest")


def uses_gpu_memory(cluster: Cluster) -> bool:
    """Whether the checks move data from and to GPU memory: GPUDirect RDMA is on (``gpu``) and the size's GPUs are
    NVIDIA's (perftest's --use_cuda)."""
    return cluster.gpu is not None and cluster.vm_size.gpu_resource == "nvidia.com/gpu"


def bandwidth_floor(cluster: Cluster) -> int:
    """The ib_write_bw floor (Gb/s) of each HCA: the spec's, else the catalog's for the memory the Job uses."""
    if cluster.verify.bandwidth_floor_gbps:
        return cluster.verify.bandwidth_floor_gbps
    checks = facts.size_checks(cluster.vm_size.name)
    if checks is None:
        return 0  # refused by check_verify when the Job is on
    if uses_gpu_memory(cluster) and checks.gpu_memory is not None:
        return checks.gpu_memory.value
    return checks.host_memory.value


def nccl_floor(cluster: Cluster) -> int:
    """The NCCL bus bandwidth floor (GB/s): the spec's, else the catalog's (0 where the size has none)."""
    if cluster.verify.nccl.bus_bandwidth_floor_gbytes:
        return cluster.verify.nccl.bus_bandwidth_floor_gbytes
    checks = facts.size_checks(cluster.vm_size.name)
    return checks.nccl_floor.value if checks and checks.nccl_floor else 0
