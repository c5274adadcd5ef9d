"""``gen catalog [releases|vm-sizes|platforms|kubernetes]``: the releases, VM sizes, node platforms and Kubernetes
versions gen knows, in short."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from generator import catalog
from generator.catalog.gpu import GpuCatalog, GpuRelease, load_gpu
from generator.core.errors import EXIT_OK

HELP = ("list known network-operator releases (one line each: chart, support status, date, Kubernetes, IPoIB IPAM; "
        "gen releases has the long form), GPU Operator releases (with the Network Operator releases validated for "
        "GPUDirect RDMA), Azure InfiniBand VM sizes (with their NICs, architecture and IPoIB interface), node "
        "platforms and AKS's Kubernetes versions")
SECTIONS = ("releases", "gpu-operator", "vm-sizes", "platforms", "kubernetes")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("what", nargs="?", choices=SECTIONS, default=None)


def platform_support(release: catalog.Release, cat: catalog.Catalog) -> str:
    """``ubuntu22.04-amd64, ...; not ubuntu24.04-arm64 (from v26.1.2 on AKS)``."""
    runs = [p.name for p in cat.platforms.values() if cat.runs_driver(release, p)]
    short = []
    for name in release.driver_platforms:
        floor = cat.aks_driver_since.get(name)
        if name not in runs and floor is not None:
            short.append(f"{name} (on AKS from {floor.release})")
    return ", ".join(runs) + (f"; not {', '.join(short)}" if short else "")


def _releases(cat: catalog.Catalog) -> list[str]:
    lines = [f"network-operator releases (chart {cat.chart_repository} {cat.chart_name}; status as of "
             f"{cat.newest.tag}'s lifecycle notes; gen releases has the long form, with every image and platform):",
             f"  {'release':9} {'chart':8} {'status':11} {'released':10} {'kubernetes':14} ipoib ipam"]
    for tag, rel in cat.releases.items():
        default = "  (default)" if tag == cat.default_release else ""
        lines.append(f"  {tag:9} {rel.chart_version:8} {rel.status.status:11} {rel.lifecycle.released:10} "
                     f"{rel.kubernetes_range:14} {', '.join(rel.ipam)}{default}")
    return lines


def gpu_release_lines(release: GpuRelease, gpu: GpuCatalog, cat: catalog.Catalog) -> list[str]:
    """One GPU Operator release: validated pairs (with the network-operator releases gen knows of those lines),
    known issues, whether gen can deploy it."""
    validated = "; ".join(f"{v.network_operator} ({', '.join(v.os)})" for v in release.rdma_validated)
    ours = [t for t in cat.release_tags if release.validated_with(t)]
    issues = [gpu.known_issues[i] for i in release.known_issues]
    lines = [f"      {'GPUDirect RDMA with':22} Network Operator {validated}",
             f"      {'  of gen releases':22} {', '.join(ours) or 'none'}"]
    lines += [f"      {'known issue':22} {i.id} ({i.severity}{', with peermem' if i.applies == 'peermem' else ''}): "
              f"{i.summary}" for i in issues]
    return lines


def gpu_as_json(gpu: GpuCatalog, cat: catalog.Catalog) -> dict[str, Any]:
    return {
        "chart": {"repository": gpu.chart_repository, "name": gpu.chart_name},
        "statusAsOf": gpu.status_as_of,
        "default": gpu.default_release,
        "releases": [{
            "tag": r.tag, "released": r.released, "status": r.status, "deployable": r.charted,
            "default": r.tag == gpu.default_release, "driver": r.driver,
            "kubernetes": {"min": r.kubernetes[0], "max": r.kubernetes[1]},
            "rdmaValidated": [{"networkOperator": v.network_operator, "os": list(v.os)} for v in r.rdma_validated],
            "validatedWith": [t for t in cat.release_tags if r.validated_with(t)],
            "knownIssues": [{"id": i.id, "severity": i.severity, "applies": i.applies, "summary": i.summary,
                             "fix": i.fix, "source": i.source} for i in (gpu.known_issues[k] for k in r.known_issues)],
        } for r in gpu.releases.values()],
    }


def gpu_releases(cat: catalog.Catalog) -> list[str]:
    gpu = load_gpu()
    lines = [f"GPU Operator releases (chart {gpu.chart_repository} {gpu.chart_name}; status as of {gpu.status_as_of}; "
             "deployable: gen has the chart's facts, spec gpu.operator.version):"]
    for tag, rel in gpu.releases.items():
        default = "  (default)" if tag == gpu.default_release else ""
        deployable = "deployable" if rel.charted else "known only"
        lines.append(f"  {tag:9} {rel.released}  {rel.status:11} {deployable:10}  driver {rel.driver:11} "
                     f"kubernetes {rel.kubernetes_range}{default}")
        lines += gpu_release_lines(rel, gpu, cat)
    return lines


def _vm_sizes(cat: catalog.Catalog) -> list[str]:
    rows = [("size", "GPUs", "InfiniBand NICs", "family", "PCI IDs", "arch", "Ubuntu", "IPoIB", "description")]
    for name, size in cat.vm_sizes.items():
        rows.append((name, str(size.gpus), f"{size.nics} x {size.link}", size.nic_family, ",".join(size.device_ids),
                     size.arch, "/".join(size.os_versions) or "any",
                     size.ipoib_interface + ("?" if size.ipoib_interface_guess else ""), size.description))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = ["Azure VM sizes with InfiniBand (IPoIB ?: a guess, no source shows it on that size):"]
    for row in rows:
        pairs = enumerate(zip(row[:-1], widths, strict=True))
        cells = [cell.rjust(width) if i == 1 else cell.ljust(width) for i, (cell, width) in pairs]
        lines.append("  " + "  ".join([*cells, row[-1]]))
    return lines


def _platforms(cat: catalog.Catalog) -> list[str]:
    lines = ["Node platforms (the DOCA driver image a node pulls: <version>-<platform>):"]
    for name, platform in cat.platforms.items():
        able = [r.tag for r in cat.releases.values() if cat.runs_driver(r, platform)]
        skus = sorted({sku.name for sku in cat.aks.os_skus.values() for i in sku.images
                       if (i.os, i.os_version) == (platform.os, platform.os_version)}, key=list(cat.aks.os_skus).index)
        runs = f"{able[0]} to {able[-1]}" if able else "none"
        end = f"; AKS support ends {platform.aks_end_of_support}" if platform.aks_end_of_support else ""
        lines.append(f"  {name:20} {platform.describe():22} DOCA driver: {runs:19} AKS --os-sku {', '.join(skus)}"
                     f"{end}")
    return lines


def _kubernetes(cat: catalog.Catalog) -> list[str]:
    aks = cat.aks
    default = aks.os_skus[aks.default_os_sku]
    lines = [f"Kubernetes on AKS (release calendar: {aks.calendar_source}; status as of {aks.status_as_of}):",
             f"  {'version':8} {'AKS GA':10} {'end of life':11} {'LTS to':8} {'status':11} "
             f"{'--os-sku ' + default.name:18} releases"]
    for version, known in aks.versions.items():
        image = default.image(version)
        os_text = f"{catalog.OS_NAMES.get(image.os, image.os)} {image.os_version}" if image else "-"
        releases = [r.tag for r in cat.releases_for_kubernetes(version)]
        lines.append(f"  {version:8} {known.ga:10} {known.end_of_life:11} {known.lts_end_of_life:8} "
                     f"{known.status(aks.status_as_of):11} {os_text:18} {', '.join(releases) or '-'}")
    return lines


def run(args: argparse.Namespace, repo: Path, mirror: Path | None) -> int:
    cat = catalog.load()
    sections = {"releases": _releases, "gpu-operator": gpu_releases, "vm-sizes": _vm_sizes, "platforms": _platforms,
                "kubernetes": _kubernetes}
    for name in SECTIONS:
        if args.what in (None, name):
            print("\n".join(sections[name](cat)))
    return EXIT_OK
