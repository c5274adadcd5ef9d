"""`gen releases`: every network-operator release the catalog knows, with its support status (as the newest
release's lifecycle notes give it), dates, Kubernetes range, the node platforms its DOCA driver runs on, DOCA driver,
every image, modes and IPoIB IPAM."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from generator import catalog
from generator.catalog.charts import chart_facts
from generator.catalog.gpu import load_gpu
from generator.cli.catalog import gpu_as_json, gpu_releases, platform_support
from generator.cluster.model import MODES
from generator.core.errors import EXIT_OK

HELP = ("network-operator releases: support status (NVIDIA's lifecycle notes), dates, Kubernetes range, node "
        "platforms, DOCA driver, every image, modes and IPoIB IPAM; and the GPU Operator releases (GPUDirect RDMA)")

# The chart's own images, by the values key that sets their repository
CHART_IMAGES = {
    "operator.repository": "networkOperator",
    "operator.ofedDriver.initContainer.repository": "operatorInitContainer",
    "node-feature-discovery.image.repository": "nodeFeatureDiscovery",
}


def images(release: catalog.Release, cat: catalog.Catalog) -> dict[str, tuple[str, str]]:
    """Component -> (image, version): the chart's own images (published locations), then the NicClusterPolicy's."""
    out: dict[str, tuple[str, str]] = {}
    chart = {CHART_IMAGES[i.keys["repository"]]: i.ref for i in chart_facts(release.tag).images
             if i.rendered and i.keys.get("repository") in CHART_IMAGES}
    for name in CHART_IMAGES.values():
        image, _, version = chart[name].rpartition(":")
        out[name] = (cat.published(image), version)
    for name, img in release.images.items():
        out[name] = (f"{img.repository}/{img.image}", img.version)
    return out


def _status(status: catalog.Status) -> dict[str, str | None]:
    return {"status": status.status, "word": status.word or None, "basis": status.basis, "per": status.per}


def as_json(cat: catalog.Catalog) -> dict[str, Any]:
    policy = cat.policy
    newer = cat.newer_upstream
    return {
        "asOf": cat.newest.tag,
        "policy": {"cadence": policy.cadence, "support": policy.support, "upgrades": policy.upgrades,
                   "upgradesSince": policy.upgrades_since},
        "newerUpstream": {"line": newer.line, "source": newer.source, "note": newer.note} if newer else None,
        "releases": [{
            "tag": r.tag,
            "chart": r.chart_version,
            "default": r.tag == cat.default_release,
            "released": r.lifecycle.released,
            "lineReleased": r.lifecycle.line_released,
            "status": _status(r.status),
            "endOfLifeSince": _status(r.end_of_life_since) if r.end_of_life_since else None,
            "statusHistory": [_status(s) for s in r.lifecycle.statuses],
            "kubernetes": {"min": r.lifecycle.kubernetes[0], "max": r.lifecycle.kubernetes[1]},
            "nodePlatforms": [p.name for p in cat.platforms.values() if cat.runs_driver(r, p)],
            "docaDriver": {"version": r.doca_driver, "lts": r.lifecycle.doca_driver_lts,
                           "images": {name: f"{r.doca_driver}-{name}" for name in r.driver_platforms}},
            "modes": list(MODES),
            "ipoibIpam": list(r.ipam),
            "images": {name: {"image": image, "version": version}
                       for name, (image, version) in images(r, cat).items()},
            "breaking": list(r.lifecycle.breaking),
        } for r in cat.releases.values()],
        "gpuOperator": gpu_as_json(load_gpu(), cat),
    }


def status_line(release: catalog.Release) -> str:
    """``end-of-life ('End of Support', v26.4.1 notes) since v25.10.0 ('EOL')``."""
    line = release.status.describe()
    since = release.end_of_life_since
    if since is not None and since.per != release.status.per:
        line += f" since {since.per}" + (f" ('{since.word}')" if since.word else " (by policy)")
    return line


def text(cat: catalog.Catalog) -> list[str]:
    policy = cat.policy
    lines = [
        f"network-operator releases ({cat.chart_repository} {cat.chart_name}); status as of {cat.newest.tag}'s "
        "lifecycle notes",
        f"policy: {policy.cadence}",
        f"        {policy.support}",
        f"        {policy.upgrades} (from {policy.upgrades_since})",
    ]
    if cat.newer_upstream is not None:
        newer = cat.newer_upstream
        lines.append(f"newer upstream release {newer.line} is not in this catalog yet ({newer.source})")
    every = {r.tag: images(r, cat) for r in cat.releases.values()}
    width = max(len(version) for refs in every.values() for _, version in refs.values())
    previous = "the previous line"
    for r in cat.releases.values():
        life = r.lifecycle
        released = life.released + (f" (line {r.line}: {life.line_released})"
                                     if life.line_released != life.released else "")
        default = "  (default)" if r.tag == cat.default_release else ""
        lines += [
            "",
            f"{r.tag}{default}",
            f"  {'chart':14} {r.chart_version}",
            f"  {'released':14} {released}",
            f"  {'status':14} {status_line(r)}",
            f"  {'kubernetes':14} {life.kubernetes[0]} to {life.kubernetes[1]}",
            f"  {'node platforms':14} {platform_support(r, cat)}",
            f"  {'modes':14} {', '.join(MODES)}",
            f"  {'ipoib ipam':14} {', '.join(r.ipam)}",
            f"  {'doca driver':14} {r.doca_driver} (LTS alternative {life.doca_driver_lts})",
            "  images",
            *(f"    {name:22} {version:{width}} {image}" for name, (image, version) in every[r.tag].items()),
            f"  breaking (from {previous})",
            *(f"    - {change}" for change in life.breaking),
        ]
        previous = r.tag
    return [*lines, "", *gpu_releases(cat)]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", dest="output", choices=["text", "json"], default="text")


def run(args: argparse.Namespace, repo: Path, mirror: Path | None) -> int:
    cat = catalog.load()
    if args.output == "json":
        print(json.dumps(as_json(cat), indent=2))
    else:
        print("\n".join(text(cat)))
    return EXIT_OK
