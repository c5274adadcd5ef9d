"""Regenerate the parts of ``schemas/cluster.schema.json`` that restate the catalog: the release enum, default and
description, the known VM sizes, the Kubernetes versions of AKS's calendar, AKS's OS SKUs and the node architectures
(``generator/catalog/releases.yaml``, ``vm-sizes.yaml``, ``platform.yaml``), and the GPU Operator releases gen can
deploy (``gpu-operator.yaml``).

A maintainer tool (not installed with gen), run from the repository root after a catalog change::

    .venv/bin/python -m maint.regenerate_cluster_schema

The rest of the schema is written by hand. A test fails when the committed file is stale (tests/maint).
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

from generator import catalog
from generator.catalog.gpu import load_gpu
from generator.cluster.spec_schema import REPO_SCHEMA


def regenerated(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with the release and VM-size facts taken from the catalog."""
    cat = catalog.load()
    out = copy.deepcopy(schema)
    version = out["properties"]["networkOperator"]["properties"]["version"]
    version["enum"] = list(cat.release_tags)
    version["default"] = cat.default_release
    version["description"] = ("Release tag; sets the chart version and every component image. Known: "
                              + ", ".join(cat.release_tags) + ".")
    vm_size = out["properties"]["vmSize"]
    vm_size["description"] = ("Azure VM size of the InfiniBand node pool. Known: " + ", ".join(cat.vm_sizes)
                              + ". Any other size needs `nic`.")
    vm_size["examples"] = list(cat.vm_sizes)
    _platform_fields(out, cat)
    _gpu_fields(out)
    return out


def _gpu_fields(out: dict[str, Any]) -> None:
    gpu = load_gpu()
    version = out["properties"]["gpu"]["properties"]["operator"]["properties"]["version"]
    version["enum"] = list(gpu.charted_tags)
    version["default"] = gpu.default_release
    version["description"] = ("GPU Operator release (the gpu-operator chart's version); the ones gen has chart facts "
                              "of: " + ", ".join(f"{t} ({gpu.release(t).status})" for t in gpu.charted_tags) + ".")


def _platform_fields(out: dict[str, Any], cat: catalog.Catalog) -> None:
    versions = list(cat.aks.versions)
    ranges = "; ".join(f"{r.tag}: {r.kubernetes_range}" for r in cat.releases.values())
    kube = out["properties"]["kubernetes"]["properties"]["version"]
    kube["enum"] = versions
    kube["description"] = (
        "The Kubernetes minor version the AKS cluster runs (az aks show --query currentKubernetesVersion), quoted: "
        f"\"{versions[-3]}\". gen renders the network-operator chart for it (helm template --kube-version), checks the "
        "core kinds against its schemas and takes AKS's default node OS from it; a release outside its supported "
        f"range is refused ({ranges}). AKS's calendar: {versions[0]} to {versions[-1]}. Default: the newest version "
        "networkOperator.version supports, an assumption that moves with the release: set it.")
    sku = out["properties"]["node"]["properties"]["osSku"]
    sku["enum"] = list(cat.aks.os_skus)
    sku["default"] = cat.aks.default_os_sku
    sku["description"] = "The pool's AKS OS SKU (az aks nodepool add --os-sku): " + "; ".join(
        f"{name}: " + ", ".join(f"{_os(i.os, i.os_version)} on Kubernetes {i.kubernetes_min}"
                                + (f" to {i.kubernetes_max}" if i.kubernetes_max else " and later")
                                for i in s.images)
        for name, s in cat.aks.os_skus.items()) + (
        ". No network-operator release publishes a DOCA driver for Azure Linux: gen refuses it.")
    pinned: dict[tuple[str, ...], list[str]] = {}
    for size in cat.vm_sizes.values():
        if size.os_versions:
            pinned.setdefault(size.os_versions, []).append(size.name)
    for os_versions, names in pinned.items():
        sku["description"] += (f" {', '.join(names)} run Ubuntu {' or '.join(os_versions)} only on AKS: give the OS "
                               "SKU that gives it on the cluster's Kubernetes version.")
    arch = out["properties"]["node"]["properties"]["arch"]
    arch["enum"] = sorted({p.arch for p in cat.platforms.values()})


def _os(os: str, version: str) -> str:
    return f"{catalog.OS_NAMES.get(os, os)} {version}"


def dumps(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main(path: Path = REPO_SCHEMA) -> int:
    current = path.read_text("utf-8")
    text = dumps(regenerated(json.loads(current)))
    if current == text:
        print(f"{path.name}: up to date")
        return 0
    path.write_text(text, "utf-8")
    print(f"{path.name}: rewritten from the catalog")
    return 0


if __name__ == "__main__":
    sys.exit(main())
