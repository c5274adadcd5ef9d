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
    driver_platforms: tuple[str, ...] = ()  # node platforms (NodePlatform.name) its DOCA driver is published for

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

    def supports_kubernetes(self, version: str) -> bool:
        """Whether ``version`` (major.minor) is in the release's supported range (its minors, patch bounds aside)."""
        low, high = self.lifecycle.kubernetes
        return minor_key(low) <= minor_key(version) <= minor_key(high)

    @property
    def newest_kubernetes(self) -> str:
        """The newest Kubernetes minor of the release's range (``1.31`` for ``1.31.4``)."""
        return minor(self.lifecycle.kubernetes[1])

    @property
    def kubernetes_range(self) -> str:
        low, high = self.lifecycle.kubernetes
        return f"{low} to {high}"

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
    arch: str = "amd64"  # kubernetes.io/arch of its nodes: amd64 | arm64
    os_versions: tuple[str, ...] = ()  # the only Ubuntu versions AKS runs it on (empty: any)
    ipoib_interface_guess: bool = False  # no source shows ipoib_interface on this size
    gpu_resource: str = ""  # the extended resource pods request its GPUs with ("" without GPUs)


OS_NAMES = {"ubuntu": "Ubuntu", "azurelinux": "Azure Linux"}


@dataclass(frozen=True)
class NodePlatform:
    """The OS and CPU architecture of InfiniBand nodes (AKS's node image), as the operator reads them from NFD."""

    os: str  # ubuntu (the os-release ID)
    os_version: str  # 22.04 (VERSION_ID)
    arch: str  # amd64
    aks_end_of_support: str = ""  # when AKS stops supporting the OS (YYYY-MM-DD), where announced

    @property
    def name(self) -> str:
        """``ubuntu22.04-amd64``: the suffix of the DOCA driver image, without its dash."""
        return f"{self.os}{self.os_version}-{self.arch}"

    @property
    def driver_suffix(self) -> str:
        """What the operator appends to the DOCA driver's version: ``-ubuntu22.04-amd64``."""
        return f"-{self.name}"

    def describe(self) -> str:
        """``Ubuntu 22.04 amd64``."""
        return f"{OS_NAMES.get(self.os, self.os)} {self.os_version} {self.arch}"


@dataclass(frozen=True)
class OsImage:
    """What an AKS OS SKU gives on a span of Kubernetes versions."""

    kubernetes_min: str
    kubernetes_max: str  # "" when the SKU names no end
    os: str
    os_version: str

    def holds(self, version: str) -> bool:
        return minor_key(self.kubernetes_min) <= minor_key(version) and (
            not self.kubernetes_max or minor_key(version) <= minor_key(self.kubernetes_max))


@dataclass(frozen=True)
class OsSku:
    """An AKS OS SKU (``--os-sku``) and the node image it gives per Kubernetes version."""

    name: str
    images: tuple[OsImage, ...]

    def image(self, kubernetes: str) -> OsImage | None:
        return next((i for i in self.images if i.holds(kubernetes)), None)

    @property
    def kubernetes_range(self) -> str:
        """``1.32 to 1.38`` / ``1.32 and later``."""
        low, high = self.images[0].kubernetes_min, self.images[-1].kubernetes_max
        return f"{low} to {high}" if high else f"{low} and later"


@dataclass(frozen=True)
class AksVersion:
    """A Kubernetes minor version in AKS's release calendar (dates YYYY-MM, the end of that month, or YYYY-MM-DD)."""

    version: str
    ga: str
    end_of_life: str
    lts_end_of_life: str

    def status(self, as_of: str) -> str:
        """``preview`` | ``supported`` | ``lts`` (past standard support, in long-term support) | ``end-of-life``."""
        if _after(self.ga, as_of):
            return "preview"
        if _after(self.end_of_life, as_of):
            return "supported"
        return "lts" if _after(self.lts_end_of_life, as_of) else "end-of-life"


@dataclass(frozen=True)
class Aks:
    """What AKS offers: Kubernetes versions (its release calendar) and OS SKUs."""

    calendar_source: str
    status_as_of: str  # the date statuses are given for (YYYY-MM-DD)
    versions: dict[str, AksVersion]  # major.minor -> dates, oldest first
    os_skus: dict[str, OsSku]  # the first is AKS's default

    @property
    def default_os_sku(self) -> str:
        return next(iter(self.os_skus))

    def status(self, version: str) -> str:
        known = self.versions.get(version)
        return known.status(self.status_as_of) if known else "unknown"


@dataclass(frozen=True)
class DriverFloor:
    """A platform whose DOCA driver images exist in earlier releases but do not work on AKS before ``release``."""

    platform: str
    release: str
    why: str
    source: str


@dataclass(frozen=True)
class Catalog:
    default_release: str
    chart_repository: str
    chart_name: str
    releases: dict[str, Release]  # sorted by version
    vm_sizes: dict[str, VmSize]
    argocd_versions: tuple[str, ...]  # oldest first; the last is the default
    flux_versions: dict[str, dict[str, str]]  # Flux release -> controller -> the tag its CRDs come from
    lint_kubernetes: str  # major.minor: gen lint's core-kind schemas (a cluster's are its kubernetes.version's)
    builtin_scopes: dict[tuple[str, str], bool]  # (group, kind) of a Kubernetes built-in -> cluster-scoped
    status_reset_kinds: frozenset[tuple[str, str]]  # (group, kind) of built-ins whose status is reset on create
    published_images: dict[str, str]  # staging repository prefix -> where NVIDIA publishes it
    platforms: dict[str, NodePlatform]  # by name (ubuntu22.04-amd64)
    lint_platform: NodePlatform  # the DOCA driver image gen lint composes (it has no nodes)
    aks: Aks
    aks_driver_since: dict[str, DriverFloor]  # platform name -> the first release whose driver works on AKS
    image_archs: dict[str, tuple[str, ...]]  # image name (no tag) -> the architectures it is built for, where known
    driver_digests_since: str  # the first release whose operator takes ofedDriver.version: sha256:...
    node_policy_since: str  # the first release with NicNodePolicy (per-pool driver and device plugins)
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

    def has_node_policies(self, release: Release) -> bool:
        """Whether the release's operator reconciles NicNodePolicies (one per node pool)."""
        return release.key >= version_key(self.node_policy_since)

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

    def runs_driver(self, release: Release, platform: NodePlatform) -> bool:
        """Whether the release's DOCA driver is published for the platform and works there on AKS."""
        floor = self.aks_driver_since.get(platform.name)
        return platform.name in release.driver_platforms and (
            floor is None or release.key >= version_key(floor.release))

    def driver_refusal(self, release: Release, platform: NodePlatform) -> str:
        """Why the release cannot run the DOCA driver on the platform, naming the releases that can ("" when it
        can)."""
        if self.runs_driver(release, platform):
            return ""
        able = [r.tag for r in self.releases.values() if self.runs_driver(r, platform)]
        floor = self.aks_driver_since.get(platform.name)
        if platform.name not in release.driver_platforms:
            why = (f"network-operator {release.tag} publishes no DOCA driver image for {platform.describe()} "
                   f"(-{platform.name}; it has {', '.join(release.driver_platforms)})")
        else:
            why = f"network-operator {release.tag}'s DOCA driver does not work there: {floor.why if floor else ''}"
        if not able:
            return f"{why}; no release gen knows does (every mode deploys the DOCA driver): use Ubuntu nodes"
        later = [tag for tag in able if version_key(tag) > release.key]
        if not later:
            return f"{why}; only {', '.join(able)} can"
        who = f"{later[0]} and later releases do" if len(later) > 1 else f"{later[0]} does"
        return f"{why}; {who}: set networkOperator.version to {later[0]}" + (" or later" if len(later) > 1 else "")

    def releases_for_kubernetes(self, version: str) -> list[Release]:
        """The releases whose supported Kubernetes range holds ``version`` (major.minor)."""
        return [r for r in self.releases.values() if r.supports_kubernetes(version)]


@dataclass(frozen=True)
class StatusSample:
    """A status the network operator writes on one of its custom resources (catalog/status-samples.yaml), and what a
    health check must conclude from it."""

    name: str
    status: dict[str, Any] | None  # None: no status written yet
    expect: tuple[str, ...]  # current | inProgress | unknown | failed: any of these


@functools.cache
def status_samples() -> dict[str, tuple[StatusSample, ...]]:
    """"apiVersion/kind" -> the samples of that kind."""
    raw = _read("status-samples.yaml")
    return {str(kind): tuple(StatusSample(str(s["sample"]), s.get("status"), tuple(s["expect"])) for s in samples)
            for kind, samples in raw.items()}


def version_key(tag: str) -> tuple[int, ...]:
    return tuple(int(part) for part in tag.lstrip("v").split("."))


def minor(version: str) -> str:
    """``1.31`` for ``1.31.4`` (and for ``v1.31``)."""
    return ".".join(version.lstrip("v").split(".")[:2])


def minor_key(version: str) -> tuple[int, int]:
    major, _, rest = minor(version).partition(".")
    return int(major), int(rest or 0)


def _after(date: str, as_of: str) -> bool:
    """Whether ``date`` (YYYY-MM: through the end of that month; or YYYY-MM-DD) is on or after ``as_of``."""
    return (date if len(date) > 7 else f"{date}-31") >= as_of


def _read(name: str) -> Any:
    return cached_yaml.load((DATA_DIR / name).read_text("utf-8"))


def _release(tag: str, raw: dict[str, Any], life: dict[str, Any]) -> Release:
    images = {name: Image(**fields) for name, fields in raw["images"].items()}
    return Release(tag=tag, chart_version=str(raw["chart"]), ipam=tuple(raw["ipam"]), images=images,
                   lifecycle=_lifecycle(life), driver_platforms=tuple(raw.get("driverPlatforms") or ()))


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
        arch=str(raw["arch"]),
        os_versions=tuple(str(v) for v in raw.get("osVersions") or ()),
        ipoib_interface_guess=bool(raw.get("ipoibInterfaceGuess", False)),
        gpu_resource=str(raw.get("gpuResource", "nvidia.com/gpu" if raw["gpus"] else "")),
    )


def _platform(raw: dict[str, Any]) -> NodePlatform:
    return NodePlatform(os=str(raw["os"]), os_version=str(raw["osVersion"]), arch=str(raw["arch"]),
                        aks_end_of_support=str(raw.get("aksEndOfSupport", "")))


def _aks(raw: dict[str, Any]) -> Aks:
    calendar = raw["calendar"]
    versions = {str(v): AksVersion(str(v), str(d["ga"]), str(d["endOfLife"]), str(d["ltsEndOfLife"]))
                for v, d in calendar["versions"].items()}
    skus = {name: OsSku(name, tuple(OsImage(str(e["kubernetes"]["min"]), str(e["kubernetes"].get("max", "")),
                                            str(e["os"]), str(e["osVersion"])) for e in entries))
            for name, entries in raw["osSkus"].items()}
    return Aks(calendar_source=str(calendar["source"]), status_as_of=str(calendar["statusAsOf"]),
               versions=dict(sorted(versions.items(), key=lambda item: minor_key(item[0]))), os_skus=skus)


@functools.cache
def load() -> Catalog:
    releases_raw = _read("releases.yaml")
    sizes_raw = _read("vm-sizes.yaml")
    platform = _read("platform.yaml")
    kinds = _read("kube-kinds.yaml")
    life = _read("lifecycle.yaml")
    releases = {tag: _release(tag, raw, life["releases"][tag]) for tag, raw in releases_raw["releases"].items()}
    platforms = {name: _platform(raw) for name, raw in platform["platforms"].items()}
    ordered = dict(sorted(releases.items(), key=lambda item: version_key(item[0])))
    return Catalog(
        default_release=releases_raw["default"],
        chart_repository=releases_raw["chart"]["repository"],
        chart_name=releases_raw["chart"]["name"],
        releases=ordered,
        vm_sizes={name: _vm_size(name, raw) for name, raw in sizes_raw["sizes"].items()},
        argocd_versions=tuple(platform["argocd"]),
        flux_versions={str(tag): {str(k): str(v) for k, v in controllers.items()}
                       for tag, controllers in platform["flux"].items()},
        lint_kubernetes=str(platform["lint"]["kubernetes"]),
        published_images=dict(releases_raw.get("publishedImages") or {}),
        platforms=platforms,
        lint_platform=platforms[platform["lint"]["platform"]],
        aks=_aks(platform["aks"]),
        aks_driver_since={name: DriverFloor(name, str(f["release"]), " ".join(str(f["why"]).split()),
                                            str(f["source"]))
                          for name, f in (platform.get("aksDriverSince") or {}).items()},
        image_archs={str(name): tuple(archs) for name, archs in (platform.get("imageArchs") or {}).items()},
        driver_digests_since=str(releases_raw["driverDigestsSince"]),
        node_policy_since=str(releases_raw["nicNodePolicySince"]),
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
