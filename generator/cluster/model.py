"""A cluster as the rest of gen sees it: its spec file validated, every default applied, every fact resolved
from the catalog. Built by ``generator.cluster.parse``; everything after it reads only this."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from generator.catalog import Release, VmSize

MODES = ("base", "sriov", "shared", "ipoib")


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
class Verify:
    """Opt-in Argo CD PostSync check: ib_write_bw between two InfiniBand nodes."""

    enabled: bool
    image: str
    bandwidth_floor_gbps: int | None  # None: the VM size's floor from the catalog


@dataclass(frozen=True)
class Images:
    """Where the cluster pulls its images from (spec ``imageRegistry`` and ``imageDigests``)."""

    mirrors: tuple[tuple[str, str], ...] = ()  # (public prefix, mirror prefix), as the spec gives them
    digests: tuple[tuple[str, str], ...] = ()  # (public image name without tag, sha256:<64 hex>), as given


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
    argocd: ArgoCD
    verify: Verify
    tolerations: tuple[dict[str, Any], ...]  # for the InfiniBand pool's taints; reach every node-level component
    taints: tuple[dict[str, Any], ...]  # the pool's taints, when the spec names them (checked, never rendered)
    chart_values: dict[str, Any]  # networkOperator.values: the user's, merged over the generated ones
    images: Images = Images()  # private registry mirrors and pinned digests, applied to every image gen writes
    notes: tuple[str, ...] = ()  # warnings about the spec, printed by the commands (file:line: field: why)
    # where each field is in the spec file (generator.cluster.parse.SpecSource), for checks that point at a field
    source: object = field(default=None, compare=False, repr=False)
