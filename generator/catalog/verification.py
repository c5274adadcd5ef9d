"""What a healthy node of each InfiniBand VM size measures: the floors of the opt-in checks (ib_write_bw per HCA over
host or GPU memory, the two-node NCCL all_reduce_perf bus bandwidth), the NCCL settings and topology file of the
size's family, and what is known of the checks' images. Data in ``verification.yaml``, each number with its source;
this module only reads it."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.yamlio import cached as cached_yaml

DATA_FILE = Path(__file__).resolve().parent / "verification.yaml"


@dataclass(frozen=True)
class Floor:
    value: int
    source: str  # a key of the file's sources, or "estimate: <basis>"

    @property
    def estimate(self) -> bool:
        return self.source.startswith("estimate:")


@dataclass(frozen=True)
class TopologyBridge:
    bus: str
    devices: tuple[tuple[str, str], ...]  # (gpu | nic, PCI bus ID), in order


@dataclass(frozen=True)
class TopologyCpu:
    numa: int
    affinity: str
    vendor: str
    family: int
    model: int
    bridges: tuple[TopologyBridge, ...]


@dataclass(frozen=True)
class Topology:
    """An NCCL topology file's facts (NCCL_TOPO_FILE): which GPUs and NICs share a PCI bridge and a NUMA node."""

    name: str  # ndv4
    source: str
    arch: str
    link_speed: str
    link_width: int
    bridge_ids: bool  # bridges carry vendor/device/subsystem IDs (all 0x0000)
    cpus: tuple[TopologyCpu, ...]


@dataclass(frozen=True)
class NcclProfile:
    name: str
    source: str
    env: tuple[tuple[str, str], ...]  # the common environment, then the profile's own (a profile's wins)
    topology: Topology | None


@dataclass(frozen=True)
class SizeChecks:
    """The floors one VM size is held to."""

    host_memory: Floor  # ib_write_bw per HCA, Gb/s, host memory
    gpu_memory: Floor | None  # the same from and to GPU memory (GPUDirect RDMA); None: no CUDA GPUs
    nccl: NcclProfile | None  # None: no NCCL (no NVIDIA GPUs)
    nccl_floor: Floor | None  # all_reduce_perf busbw, GB/s, two nodes


@dataclass(frozen=True)
class Verification:
    sizes: dict[str, SizeChecks]
    sources: dict[str, str]  # short name -> repository, path and commit
    without_cuda_perftest: tuple[str, ...]  # image names (no tag) whose ib_write_bw cannot use GPU memory
    nccl_tests_image: str  # Azure's nccl-tests image name (no default reference: no published digest is known)


def _floor(raw: dict[str, Any], value: str, source: str) -> Floor | None:
    if value not in raw:
        return None
    return Floor(int(raw[value]), " ".join(str(raw[source]).split()))


def _topology(name: str, raw: dict[str, Any]) -> Topology:
    cpus = tuple(TopologyCpu(int(c["numa"]), str(c["affinity"]), str(c["vendor"]), int(c["family"]), int(c["model"]),
                             tuple(TopologyBridge(str(b["bus"]), tuple((str(k), str(bus)) for k, bus in b["devices"]))
                                   for b in c["bridges"]))
                 for c in raw["cpus"])
    return Topology(name, str(raw["source"]), str(raw["arch"]), str(raw["linkSpeed"]), int(raw["linkWidth"]),
                    bool(raw["bridgeIds"]), cpus)


def _profile(name: str, raw: dict[str, Any], common: dict[str, Any], topologies: dict[str, Topology]
             ) -> NcclProfile:
    env = {**{str(k): str(v) for k, v in common["env"].items()}, **{str(k): str(v) for k, v in raw["env"].items()}}
    topology = topologies[raw["topology"]] if raw.get("topology") else None
    return NcclProfile(name, " ".join(str(raw["source"]).split()), tuple(env.items()), topology)


def _size(raw: dict[str, Any], profiles: dict[str, NcclProfile]) -> SizeChecks:
    bw = raw["ibWriteBw"]
    host = _floor(bw, "hostMemoryGbps", "hostMemorySource")
    assert host is not None, "every size has a host-memory floor"
    nccl = raw.get("nccl")
    return SizeChecks(host_memory=host, gpu_memory=_floor(bw, "gpuMemoryGbps", "gpuMemorySource"),
                      nccl=profiles[nccl["profile"]] if nccl else None,
                      nccl_floor=_floor(nccl, "busBandwidthGBps", "source") if nccl else None)


@functools.cache
def load() -> Verification:
    raw = cached_yaml.load(DATA_FILE.read_text("utf-8"))
    topologies = {name: _topology(name, t) for name, t in raw["topologies"].items()}
    profiles = {name: _profile(name, p, raw["ncclCommon"], topologies) for name, p in raw["ncclProfiles"].items()}
    return Verification(
        sizes={name: _size(s, profiles) for name, s in raw["sizes"].items()},
        sources={str(k): str(v) for k, v in raw["sources"].items()},
        without_cuda_perftest=tuple(str(i) for i in raw["images"]["withoutCudaPerftest"]),
        nccl_tests_image=str(raw["images"]["ncclTests"]),
    )


def size_checks(vm_size: str) -> SizeChecks | None:
    """The floors of a catalog VM size (None for a size the catalog does not know)."""
    return load().sizes.get(vm_size)
