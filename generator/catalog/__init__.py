"""What the tool knows: network-operator releases (with their lifecycle), Azure InfiniBand VM sizes, and the Argo CD
and Kubernetes versions it checks against (data in the YAML files here; this module only reads them)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.yamlio import cached as cached_yaml

DATA_DIR = Path(__file__).resolve().parent
COMPONENTS = (
    "docaDriver",
    "docaTelemetryService",
    "rdmaSharedDevicePlugin",
    "sriovDevicePlugin",
    "cniPlugins",
    "multus",
    "ipoib",
    "nvIpam",
)
IPAM_BACKENDS = ("whereabouts", "nv-ipam")
STATUSES = ("latest", "maintained", "end-of-life")  # a release's support status, best first


class UnknownRelease(KeyError):
    pass


@dataclass(frozen=True)
class Image:
    repository: str
    image: str
    version: str

    def as_dict(self) -> dict[str, str]:
        return {"repository": self.repository, "image": self.image, "version": self.version}


@dataclass(frozen=True)
class Status:
    """What one release's lifecycle notes say of a release."""

    status: str  # latest | maintained | end-of-life (STATUSES)
    word: str  # upstream's own word ("Supported", "Deprecated", "End of Support", ...); "" where the notes are silent
    basis: str  # documented | policy (the notes' table was not updated: the status follows from the policy)
    per: str  # the release whose notes say so

    def describe(self) -> str:
        """``end-of-life ('End of Support', v26.4.1 notes)`` / ``maintained (by policy at v25.7.0)``."""
        said = f"'{self.word}', {self.per} notes" if self.basis == "documented" else f"by policy at {self.per}"
        return f"{self.status} ({said})"


@dataclass(frozen=True)
class Lifecycle:
    released: str  # tag commit date, ISO
    line_released: str  # the same for the line's first release (x.y.0)
    kubernetes: tuple[str, str]  # supported range: oldest, newest (major.minor[.patch])
    doca_driver_lts: str  # the LTS driver NVIDIA offers instead of the release's own
    statuses: tuple[Status, ...]  # what each release's notes say, from its own to the newest release's
    breaking: tuple[str, ...]  # what an upgrade from the previous release must deal with, one line each


@dataclass(frozen=True)
class Release:
    tag: str  # v25.4.0
    chart_version: str  # 25.4.0
    ipam: tuple[str, ...]  # supported IPAM back-ends, default first
    images: dict[str, Image]
    lifecycle: Lifecycle

    def image(self, component: str) -> Image:
        return self.images[component]

    @property
    def key(self) -> tuple[int, ...]:
        return version_key(self.tag)

    @property
    def line(self) -> str:
        """``v26.1`` for v26.1.2."""
        return self.tag.rsplit(".", 1)[0]

    @property
    def doca_driver(self) -> str:
        return self.images["docaDriver"].version

    @property
    def status(self) -> Status:
        """The current status: as the newest release's lifecycle notes give it."""
        return self.lifecycle.statuses[-1]

    @property
    def end_of_life_since(self) -> Status | None:
        """The first notes that put this release at end of life (None while it is supported or maintained)."""
        if self.status.status != "end-of-life":
            return None
        return next(s for s in self.lifecycle.statuses if s.status == "end-of-life")


@dataclass(frozen=True)
class Policy:
    cadence: str
    support: str
    upgrades: str
    upgrades_since: str  # the first release whose notes state the upgrade rule
    words: dict[str, tuple[str, ...]]  # status -> upstream's words for it


@dataclass(frozen=True)
class NewerUpstream:
    """A release line NVIDIA has announced that the catalog does not hold (none of its facts are known here)."""

    line: str  # v26.7
    source: str
    note: str


@dataclass(frozen=True)
class IpamBackend:
    """What deploys an IPAM back-end: a NicClusterPolicy field (``nvIpam``), or a workload running its image."""

    name: str  # whereabouts | nv-ipam (the ``type`` of a network's ipam)
    policy_field: str  # dotted, under the NicClusterPolicy's spec
    image: str  # the image name (last path segment) of its workloads


@dataclass(frozen=True)
class VmSize:
    name: str
    description: str
    gpus: int
    nics: int
    link: str
    nic_family: str
    device_ids: tuple[str, ...]
    ipoib_interface: str
    bandwidth_floor_gbps: int


@dataclass(frozen=True)
class NodePlatform:
    """The OS and CPU architecture of the InfiniBand nodes (AKS's node image), as the operator reads them from NFD."""

    os: str  # ubuntu
    os_version: str  # 22.04
    arch: str  # amd64

    @property
    def driver_suffix(self) -> str:
        """What the operator appends to the DOCA driver's version: ``-ubuntu22.04-amd64``."""
        return f"-{self.os}{self.os_version}-{self.arch}"


@dataclass(frozen=True)
class Catalog:
    default_release: str
    chart_repository: str
    chart_name: str
    releases: dict[str, Release]  # sorted by version
    vm_sizes: dict[str, VmSize]
    argocd_versions: tuple[str, ...]  # oldest first; the last is the default
    kubernetes_version: str  # major.minor
    builtin_scopes: dict[tuple[str, str], bool]  # (group, kind) of a Kubernetes built-in -> cluster-scoped
    status_reset_kinds: frozenset[tuple[str, str]]  # (group, kind) of built-ins whose status is reset on create
    published_images: dict[str, str]  # staging repository prefix -> where NVIDIA publishes it
    node: NodePlatform  # the InfiniBand nodes' OS and architecture (the DOCA driver's image tag)
    driver_digests_since: str  # the first release whose operator takes ofedDriver.version: sha256:...
    policy: Policy  # NVIDIA's release lifecycle
    newer_upstream: NewerUpstream | None
    ipam_backends: dict[str, IpamBackend]  # by name (IPAM_BACKENDS)

    def published(self, repository: str) -> str:
        """The published location of an image repository (itself when it is not a staging one)."""
        for staging in sorted(self.published_images, key=len, reverse=True):
            if repository == staging or repository.startswith(staging + "/"):
                return self.published_images[staging] + repository[len(staging):]
        return repository

    def takes_driver_digest(self, release: Release) -> bool:
        """Whether the release's operator pulls ``ofedDriver.version: sha256:...`` as a digest."""
        return release.key >= version_key(self.driver_digests_since)

    @property
    def release_tags(self) -> tuple[str, ...]:
        return tuple(self.releases)

    @property
    def newest(self) -> Release:
        """The newest release: its lifecycle notes give every release's current status."""
        return list(self.releases.values())[-1]

    @property
    def latest(self) -> Release:
        """The release to upgrade to: the one the newest notes call latest, else the newest."""
        return next((r for r in self.releases.values() if r.status.status == "latest"), self.newest)

    @property
    def default_argocd(self) -> str:
        return self.argocd_versions[-1]

    def release(self, tag: str) -> Release:
        try:
            return self.releases[tag]
        except KeyError:
            raise UnknownRelease(tag) from None


def version_key(tag: str) -> tuple[int, ...]:
    return tuple(int(part) for part in tag.lstrip("v").split("."))


def _read(name: str) -> Any:
    return cached_yaml.load((DATA_DIR / name).read_text("utf-8"))


def _release(tag: str, raw: dict[str, Any], life: dict[str, Any]) -> Release:
    images = {name: Image(**fields) for name, fields in raw["images"].items()}
    return Release(tag=tag, chart_version=str(raw["chart"]), ipam=tuple(raw["ipam"]), images=images,
                   lifecycle=_lifecycle(life))


def _lifecycle(raw: dict[str, Any]) -> Lifecycle:
    statuses = sorted(raw["status"].items(), key=lambda item: version_key(item[0]))
    return Lifecycle(
        released=str(raw["released"]),
        line_released=str(raw.get("lineReleased", raw["released"])),
        kubernetes=(str(raw["kubernetes"]["min"]), str(raw["kubernetes"]["max"])),
        doca_driver_lts=str(raw["docaDriverLts"]),
        statuses=tuple(Status(s["status"], str(s.get("word", "")), s["basis"], per) for per, s in statuses),
        breaking=tuple(raw["breaking"]),
    )


def _vm_size(name: str, raw: dict[str, Any]) -> VmSize:
    return VmSize(
        name=name,
        description=raw["description"],
        gpus=raw["gpus"],
        nics=raw["nics"],
        link=raw["link"],
        nic_family=raw["nicFamily"],
        device_ids=tuple(raw["deviceIds"]),
        ipoib_interface=raw["ipoibInterface"],
        bandwidth_floor_gbps=raw["bandwidthFloorGbps"],
    )


@functools.cache
def load() -> Catalog:
    releases_raw = _read("releases.yaml")
    sizes_raw = _read("vm-sizes.yaml")
    platform = _read("platform.yaml")
    kinds = _read("kube-kinds.yaml")
    life = _read("lifecycle.yaml")
    releases = {tag: _release(tag, raw, life["releases"][tag]) for tag, raw in releases_raw["releases"].items()}
    ordered = dict(sorted(releases.items(), key=lambda item: version_key(item[0])))
    return Catalog(
        default_release=releases_raw["default"],
        chart_repository=releases_raw["chart"]["repository"],
        chart_name=releases_raw["chart"]["name"],
        releases=ordered,
        vm_sizes={name: _vm_size(name, raw) for name, raw in sizes_raw["sizes"].items()},
        argocd_versions=tuple(platform["argocd"]),
        kubernetes_version=str(platform["kubernetes"]),
        published_images=dict(releases_raw.get("publishedImages") or {}),
        node=NodePlatform(os=str(platform["node"]["os"]), os_version=str(platform["node"]["osVersion"]),
                          arch=str(platform["node"]["arch"])),
        driver_digests_since=str(releases_raw["driverDigestsSince"]),
        policy=_policy(life),
        newer_upstream=NewerUpstream(**life["newerUpstream"]) if life.get("newerUpstream") else None,
        ipam_backends={name: IpamBackend(name, raw["policyField"], raw["image"])
                       for name, raw in releases_raw["ipamBackends"].items()},
        builtin_scopes={**{_group_kind(k): True for k in kinds["cluster"]},
                        **{_group_kind(k): False for k in kinds["namespaced"]}},
        status_reset_kinds=frozenset(_group_kind(k) for k in kinds["statusResetOnCreate"]),
    )


def _policy(life: dict[str, Any]) -> Policy:
    raw = life["policy"]
    return Policy(cadence=raw["cadence"], support=raw["support"], upgrades=raw["upgrades"],
                  upgrades_since=raw["upgradesSince"],
                  words={status: tuple(words) for status, words in life["words"].items()})


def _group_kind(text: str) -> tuple[str, str]:
    group, _, kind = text.rpartition("/")
    return group, kind
