"""What the tool knows: network-operator releases and Azure InfiniBand VM sizes (data in YAML files here)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

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
class Release:
    tag: str  # v25.4.0
    chart_version: str  # 25.4.0
    ipam: tuple[str, ...]  # supported IPAM back-ends, default first
    images: dict[str, Image]

    def image(self, component: str) -> Image:
        return self.images[component]

    @property
    def key(self) -> tuple[int, ...]:
        return version_key(self.tag)


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
class Catalog:
    default_release: str
    chart_repository: str
    chart_name: str
    releases: dict[str, Release]  # sorted by version
    vm_sizes: dict[str, VmSize]

    def release(self, tag: str) -> Release:
        try:
            return self.releases[tag]
        except KeyError:
            raise UnknownRelease(tag) from None


def version_key(tag: str) -> tuple[int, ...]:
    return tuple(int(part) for part in tag.lstrip("v").split("."))


def _read(name: str) -> Any:
    return yaml.load((DATA_DIR / name).read_text("utf-8"), Loader=yaml.SafeLoader)


def _release(tag: str, raw: dict[str, Any]) -> Release:
    images = {name: Image(**fields) for name, fields in raw["images"].items()}
    return Release(tag=tag, chart_version=str(raw["chart"]), ipam=tuple(raw["ipam"]), images=images)


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
    releases = {tag: _release(tag, raw) for tag, raw in releases_raw["releases"].items()}
    ordered = dict(sorted(releases.items(), key=lambda item: version_key(item[0])))
    return Catalog(
        default_release=releases_raw["default"],
        chart_repository=releases_raw["chart"]["repository"],
        chart_name=releases_raw["chart"]["name"],
        releases=ordered,
        vm_sizes={name: _vm_size(name, raw) for name, raw in sizes_raw["sizes"].items()},
    )
