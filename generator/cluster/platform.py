"""What a spec's ``kubernetes`` and ``node`` fields mean, with the catalog's facts: the Kubernetes version the cluster
runs (checked against the release's supported range and AKS's calendar), and its InfiniBand nodes' platform (the OS
the AKS OS SKU gives on that version, the VM size's architecture), checked against the VM size and the releases
whose DOCA driver runs there. Pure: ``generator.cluster.parse`` calls it with the spec already validated by the
schema and its defaults applied.

A spec without ``kubernetes.version`` is assumed to run the newest version its release supports (so the release is
never outside its own range by default); what follows from the assumption is marked ``assumed`` for the commands
that depend on it (``gen images``, ``gen upgrade``, a driver digest pin).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Protocol

from generator import catalog
from generator.cluster.model import Kubernetes, Node
from generator.core.finding import JsonPath

KUBERNETES = ("kubernetes", "version")
OS_SKU = ("node", "osSku")
ARCH = ("node", "arch")


class Source(Protocol):
    """What of the spec file this module needs (``generator.cluster.parse.SpecSource``)."""

    def given(self, path: JsonPath) -> bool: ...
    def error(self, path: JsonPath, message: str) -> Exception: ...
    def note(self, path: JsonPath, message: str) -> str: ...


def version_form_error(value: dict[str, Any], cat: catalog.Catalog) -> tuple[JsonPath, str] | None:
    """What the schema's enum would say less helpfully: ``kubernetes.version`` written as a YAML number (1.30 reads
    as 1.3), or with a patch version."""
    raw = value.get("kubernetes")
    version = raw.get("version") if isinstance(raw, dict) else None
    known = list(cat.aks.versions)
    if isinstance(version, (int, float)) and not isinstance(version, bool):
        near = [v for v in known if v == str(version) or v.rstrip("0") == str(version)]
        example = near[0] if near else known[-1]
        return KUBERNETES, (f"{version!r} is a number: YAML reads an unquoted version as one (1.30 becomes 1.3); "
                            f"quote it: version: \"{example}\"")
    if isinstance(version, str) and version not in known and catalog.minor(version) in known:
        return KUBERNETES, (f"{version!r}: give the minor version only, \"{catalog.minor(version)}\" (AKS supports "
                            "minor versions; a patch does not change what gen writes)")
    return None


def kubernetes_of(value: dict[str, Any], release: catalog.Release, cat: catalog.Catalog,
                  spec: Source) -> tuple[Kubernetes, list[str]]:
    """The Kubernetes version the cluster runs, and the warnings about it (AKS's support of it)."""
    version = value.get("kubernetes", {}).get("version")
    if version is None:
        return Kubernetes(release.newest_kubernetes, given=False), []
    if not release.supports_kubernetes(version):
        raise spec.error(KUBERNETES, _outside_range(version, release, cat))
    return Kubernetes(version, given=True), _aks_notes(version, cat, spec)


def _outside_range(version: str, release: catalog.Release, cat: catalog.Catalog) -> str:
    able = [r.tag for r in cat.releases_for_kubernetes(version)]
    message = f"network-operator {release.tag} supports Kubernetes {release.kubernetes_range}, not {version}"
    if not able:
        newest = cat.newest
        return (f"{message}; no release gen knows supports {version} (the newest, {newest.tag}, supports "
                f"{newest.kubernetes_range}): run a Kubernetes version it supports")
    return (f"{message}; {', '.join(able)} support {version}: set networkOperator.version to one of them "
            f"(gen upgrade --to ...), or kubernetes.version to the version the cluster runs")


def _aks_notes(version: str, cat: catalog.Catalog, spec: Source) -> list[str]:
    aks = cat.aks.versions[version]  # the schema's enum is the calendar's versions
    status = aks.status(cat.aks.status_as_of)
    said = f"as of {cat.aks.status_as_of}, per AKS's release calendar"
    if status == "lts":
        why = (f"AKS's standard support of Kubernetes {version} ended {aks.end_of_life} ({said}); only long-term "
               f"support (Premium tier) covers it, until {aks.lts_end_of_life}: plan the Kubernetes upgrade")
    elif status == "end-of-life":
        why = (f"Kubernetes {version} is past AKS's end of life (standard support to {aks.end_of_life}, long-term "
               f"support to {aks.lts_end_of_life}; {said}): AKS no longer supports it, upgrade the cluster")
    elif status == "preview":
        why = f"Kubernetes {version} is not generally available on AKS before {aks.ga} ({said})"
    else:
        return []
    return [spec.note(KUBERNETES, why)]


def vm_size_of(value: dict[str, Any], cat: catalog.Catalog, spec: Source,
               path: JsonPath = ("vmSize",)) -> catalog.VmSize:
    """The VM size of ``value`` (the spec, or a pool: its ``vmSize`` and ``nic``), a SpecError at ``path`` when the
    catalog does not know it and ``nic`` does not describe it."""
    name = value["vmSize"]
    override = value.get("nic", {})
    known = cat.vm_sizes.get(name)
    if known is None:
        if "count" not in override or "deviceIds" not in override:
            raise spec.error(path, f"unknown VM size {name!r}; known sizes: {', '.join(cat.vm_sizes)}. "
                                   "For another size, give nic.count and nic.deviceIds")
        known = catalog.VmSize(name=name, description="user-described", gpus=0, nics=override["count"],
                               link="unknown", nic_family="unknown", device_ids=tuple(override["deviceIds"]),
                               ipoib_interface="ibP257p0s0")
    return dataclasses.replace(
        known,
        nics=override.get("count", known.nics),
        device_ids=tuple(override.get("deviceIds", known.device_ids)),
        ipoib_interface=override.get("ipoibInterface", known.ipoib_interface),
    )


@dataclass(frozen=True)
class NodeFields:
    """Where a pool's node fields are in the spec: the cluster's own (``node.osSku``, ``node.arch``, ``vmSize``), or
    a pool's (``pools[i].node.osSku``, ...) where the pool gives them; and their values (a pool's merged over the
    cluster's)."""

    raw: dict[str, Any]  # osSku (the schema's default filled in) and arch, if given
    os_sku: JsonPath = OS_SKU
    arch: JsonPath = ARCH
    vm_size: JsonPath = ("vmSize",)


def node_of(value: dict[str, Any], vm: catalog.VmSize, known_size: bool, kubernetes: Kubernetes,
            release: catalog.Release, cat: catalog.Catalog, spec: Source, fields: NodeFields | None = None) -> Node:
    """The InfiniBand nodes' OS SKU and platform; a SpecError where AKS does not offer it, the VM size does not run it,
    or the release's DOCA driver cannot run there (naming the releases that can). ``fields``: a pool's (default: the
    cluster's own ``node``)."""
    fields = fields or NodeFields(value.get("node", {}))
    raw = fields.raw
    sku = cat.aks.os_skus[raw["osSku"]]  # the schema's enum and default
    on = _version_text(kubernetes)
    image = sku.image(kubernetes.version)
    if image is None:
        raise spec.error(fields.os_sku, f"AKS offers {sku.name} on Kubernetes {sku.kubernetes_range}, not on {on}")
    arch = raw.get("arch", vm.arch)
    if known_size and arch != vm.arch:
        raise spec.error(fields.arch, f"{vm.name} nodes are {vm.arch} ({vm.description}); drop node.arch or set it "
                                      f"to {vm.arch}")
    platform = cat.platforms[f"{image.os}{image.os_version}-{arch}"]
    given = spec.given(fields.os_sku)
    sku_text = f"node.osSku {sku.name}" + ("" if given else " (the default)")
    if vm.os_versions and (image.os != "ubuntu" or image.os_version not in vm.os_versions):
        needed = cat.platforms[f"ubuntu{vm.os_versions[-1]}-{arch}"]
        refusal = cat.driver_refusal(release, needed)
        if refusal:  # the size's own platform is out of the release's reach: that first
            raise spec.error(("networkOperator", "version"), f"{vm.name} nodes run {needed.describe()} on AKS: "
                                                             f"{refusal}")
        wanted = " or ".join(vm.os_versions)
        skus = [s.name for s in cat.aks.os_skus.values() if (i := s.image(kubernetes.version)) is not None
                and i.os == "ubuntu" and i.os_version in vm.os_versions]
        raise spec.error(fields.os_sku if given else fields.vm_size,
                         f"{vm.name} runs only Ubuntu {wanted} on AKS (its pools are created with that OS SKU); "
                         f"{sku_text} gives {platform.describe()} on {on}: set node.osSku to "
                         f"{' or '.join(skus) or 'an OS SKU with Ubuntu ' + wanted}")
    refusal = cat.driver_refusal(release, platform)
    if refusal:
        nowhere = not any(cat.runs_driver(r, platform) for r in cat.releases.values())
        path = (fields.os_sku if given else fields.vm_size) if nowhere else ("networkOperator", "version")
        raise spec.error(path, f"{platform.describe()} nodes ({sku_text} on {on}, {vm.name}): {refusal}")
    moving = len(sku.images) > 1  # the OS follows the Kubernetes version
    return Node(sku.name, platform, assumed=not kubernetes.given and moving)


def _version_text(kubernetes: Kubernetes) -> str:
    if kubernetes.given:
        return f"Kubernetes {kubernetes.version}"
    return f"Kubernetes {kubernetes.version} (assumed: the newest the release supports; set kubernetes.version)"


def ipoib_interface_note(vm: catalog.VmSize, mode: str, value: dict[str, Any], spec: Source,
                         nic: dict[str, Any] | None = None, path: JsonPath = ("vmSize",)) -> list[str]:
    """A warning where mode ipoib takes a VM size's IPoIB interface name that no source shows on that size (``nic``
    and ``path``: a pool's)."""
    nic = value.get("nic", {}) if nic is None else nic
    if mode != "ipoib" or not vm.ipoib_interface_guess or "master" in value.get("ipoib", {}) \
            or "ipoibInterface" in nic:
        return []
    return [spec.note(path, f"the IPoIB interface name {vm.ipoib_interface} is a guess for {vm.name} (seen on "
                                   "other Azure sizes, not shown on this one): check the altname of the first IB "
                                   "interface on a node (ip -d link) and set ipoib.master to it")]


def verify_image_error(value: dict[str, Any], node: Node, cat: catalog.Catalog, spec: Source) -> None:
    """The verify Job runs on the InfiniBand nodes: an image built for other architectures cannot start there."""
    verify = value["verify"]
    image = str(verify["image"])
    name = image.partition("@")[0]
    name = name.rpartition(":")[0] if ":" in name.rpartition("/")[2] else name
    archs = cat.image_archs.get(name)
    if verify["enabled"] and archs is not None and node.platform.arch not in archs:
        path = ("verify", "image") if spec.given(("verify", "image")) else ("verify", "enabled")
        raise spec.error(path, f"{name} is built for {', '.join(archs)} only, and the verify Job runs on the "
                               f"{node.platform.arch} InfiniBand nodes; give verify.image an image for "
                               f"{node.platform.arch} (with bash, awk, getent and ib_write_bw), or leave verify off")
