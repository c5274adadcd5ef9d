"""A cluster as the rest of gen sees it: its spec file validated, every default applied, every fact resolved
from the catalog. Built by ``generator.cluster.parse``; everything after it reads only this."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from generator.catalog import NodePlatform, Release, VmSize
from generator.catalog.gpu import GpuRelease

MODES = ("base", "sriov", "shared", "ipoib")
GITOPS = ("argocd", "flux")  # spec gitops: the engine that delivers the bundle


@dataclass(frozen=True)
class Ipoib:
    network_name: str
    namespace: str
    master: str
    range: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address
    exclude: tuple[ipaddress.IPv4Network, ...]
    ipam: str  # whereabouts | nv-ipam
    per_node_block_size: int


@dataclass(frozen=True)
class ArgoCD:
    repo_url: str
    target_revision: str
    namespace: str
    destination_name: str | None
    destination_server: str | None
    automated: bool
    delivery: str  # helm | rendered
    source: str  # overlay | chart: what the Application applies besides the network-operator chart


@dataclass(frozen=True)
class Flux:
    """Where Flux reads this repo and where its objects live (spec ``flux``, with ``gitops: flux``)."""

    repo_url: str
    ref: tuple[str, str]  # (branch | tag | semver | commit | name, its value): the GitRepository's spec.ref
    namespace: str  # Flux's namespace: the GitRepository and the Kustomizations
    git_repository: str  # the GitRepository's name (an AKS fluxConfiguration's name, when AKS creates it)


@dataclass(frozen=True)
class Nccl:
    """Opt-in two-node NCCL all_reduce_perf check, a PostSync hook after the ib_write_bw Job."""

    enabled: bool = False
    image: str = ""  # pinned by digest; "" when not given (required with enabled)
    bus_bandwidth_floor_gbytes: int | None = None  # None: the VM size's floor from the catalog


@dataclass(frozen=True)
class Verify:
    """Opt-in Argo CD PostSync checks: ib_write_bw on every HCA between two InfiniBand nodes; NCCL after it."""

    enabled: bool
    image: str
    bandwidth_floor_gbps: int | None  # None: the VM size's floor from the catalog
    nccl: Nccl = Nccl()


@dataclass(frozen=True)
class Images:
    """Where the cluster pulls its images from (spec ``imageRegistry`` and ``imageDigests``)."""

    mirrors: tuple[tuple[str, str], ...] = ()  # (public prefix, mirror prefix), as the spec gives them
    digests: tuple[tuple[str, str], ...] = ()  # (public image name without tag, sha256:<64 hex>), as given


@dataclass(frozen=True)
class Kubernetes:
    """The Kubernetes version the cluster runs (spec ``kubernetes.version``): the chart is rendered for it (``helm
    template --kube-version``), core kinds are checked against its schemas, and AKS's default node OS follows it."""

    version: str  # major.minor
    given: bool  # set in the spec; else assumed: the newest the release supports


@dataclass(frozen=True)
class Node:
    """What the InfiniBand pool's nodes run (spec ``node``): the AKS OS SKU, and the node platform it gives on the
    cluster's Kubernetes version with the VM size's architecture. A pool will carry its own (``pools``)."""

    os_sku: str  # AKS --os-sku: Ubuntu (AKS's default, its version follows Kubernetes), Ubuntu2204, Ubuntu2404, ...
    platform: NodePlatform  # OS, version, architecture: the DOCA driver image the nodes pull
    assumed: bool  # follows from an assumed Kubernetes version (kubernetes.version not set, osSku a moving default)


@dataclass(frozen=True)
class GpuOperator:
    """The GPU Operator a ``driver: operator`` cluster runs (spec ``gpu.operator``)."""

    release: GpuRelease
    values: dict[str, Any]  # gpu.operator.values: the user's, merged over the generated ones
    namespace: str  # its own, labelled privileged


@dataclass(frozen=True)
class Gpu:
    """GPUDirect RDMA: who installs the GPU driver on the pool, and how the NIC reaches GPU memory."""
    driver: str  # "aks" (the node pool's AKS-managed driver) | "operator" (the GPU Operator; pool made with
    #              --gpu-driver none)
    rdma: str  # "dmabuf" | "peermem"
    operator: GpuOperator | None = None  # driver operator: the release and the chart values

    @property
    def peermem(self) -> bool:
        return self.rdma == "peermem"


@dataclass(frozen=True)
class Cluster:
    name: str
    spec_file: str  # repo-relative, POSIX
    mode: str
    vm_size: VmSize  # with any `nic` override applied
    device_ids: tuple[str, ...]  # the NodeFeatureRule's: vmSize's plus every Azure IB VF ID known, sorted
    release: Release
    namespace: str
    image_pull_secrets: tuple[str, ...]
    rdma_hca_max: int
    ipoib: Ipoib
    argocd: ArgoCD  # with gitops: flux: the git source and chart delivery (helm, overlay) Flux uses; the rest unused
    verify: Verify
    tolerations: tuple[dict[str, Any], ...]  # for the InfiniBand pool's taints; reach every node-level component
    taints: tuple[dict[str, Any], ...]  # the pool's taints, when the spec names them (checked, never rendered)
    chart_values: dict[str, Any]  # networkOperator.values: the user's, merged over the generated ones
    kubernetes: Kubernetes  # the version it runs (or, unset in the spec, the one gen assumes)
    node: Node  # its InfiniBand nodes' OS SKU and platform
    images: Images = Images()  # private registry mirrors and pinned digests, applied to every image gen writes
    gitops: str = "argocd"  # GITOPS: who delivers the bundle
    flux: Flux | None = None  # with gitops: flux
    gpu: Gpu | None = None  # None: no GPU section: GPU memory is not used
    notes: tuple[str, ...] = ()  # warnings about the spec, printed by the commands (file:line: field: why)
    # where each field is in the spec file (generator.cluster.parse.SpecSource), for checks that point at a field
    source: object = field(default=None, compare=False, repr=False)

    @property
    def platforms(self) -> tuple[NodePlatform, ...]:
        """Every node platform of the cluster's InfiniBand nodes (one per pool once pools exist), each pulling its
        own DOCA driver image."""
        return (self.node.platform,)
