"""``gen catalog [releases|vm-sizes]``: the releases and VM sizes gen knows, in short."""

from __future__ import annotations

import argparse
from pathlib import Path

from generator import catalog
from generator.core.errors import EXIT_OK

HELP = ("list known network-operator releases (one line each: chart, support status, date, Kubernetes, IPoIB IPAM; "
        "gen releases has the long form) and Azure InfiniBand VM sizes (with their NICs and IPoIB interface)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("what", nargs="?", choices=["releases", "vm-sizes"], default=None)


def run(args: argparse.Namespace, repo: Path, mirror: Path | None) -> int:
    cat = catalog.load()
    if args.what in (None, "releases"):
        print(f"network-operator releases (chart {cat.chart_repository} {cat.chart_name}; status as of "
              f"{cat.newest.tag}'s lifecycle notes; gen releases has the long form, with every image):")
        print(f"  {'release':9} {'chart':8} {'status':11} {'released':10} {'kubernetes':14} ipoib ipam")
        for tag, rel in cat.releases.items():
            default = "  (default)" if tag == cat.default_release else ""
            kube = " to ".join(rel.lifecycle.kubernetes)
            print(f"  {tag:9} {rel.chart_version:8} {rel.status.status:11} {rel.lifecycle.released:10} {kube:14} "
                  f"{', '.join(rel.ipam)}{default}")
    if args.what in (None, "vm-sizes"):
        print("Azure VM sizes with InfiniBand:")
        print(f"  {'size':28} {'GPUs':>4}  {'InfiniBand NICs':17} {'family':11} {'PCI IDs':10} {'IPoIB':11} "
              "description")
        for name, size in cat.vm_sizes.items():
            nics = f"{size.nics} x {size.link}"
            print(f"  {name:28} {size.gpus:>4}  {nics:17} {size.nic_family:11} {','.join(size.device_ids):10} "
                  f"{size.ipoib_interface:11} {size.description}")
    return EXIT_OK
