"""A synthetic fleet for the benchmarks: N cluster specs (and a few user overlays) written as a real GitOps repo.

    .venv/bin/python bench/fleet.py DIR --clusters 100 [--seed 14]

The fleet is a function of (N, seed): the same arguments give the same bytes. Every mode, release and VM size of the
catalog appears (from N = the number of VM sizes on): the first members are combinations that cover them all (a size
only with a release whose DOCA driver runs on its nodes: the Arm64 GB200/GB300 sizes from v26.1.2), the rest lean as
a real fleet does (newer releases and the common GPU sizes more often; RELEASE_WEIGHTS, SIZE_WEIGHTS), and the options
that change the objects (tolerations and taints, the operator's namespace, IPoIB's IPAM back-end and range, the shared
pods per node, the verify Job, a user overlay in overlays/<name>/, the Kubernetes version and an Ubuntu 24.04 OS SKU)
are drawn per cluster with the seeded generator.
Every cluster has an Argo CD destination of its own, as gen requires.
``--chart N`` makes every N-th cluster ``argocd.source: chart`` (then the rdma-infiniband chart is part of the output
and gen renders it with helm for every cluster).
"""

from __future__ import annotations

import argparse
import collections
import itertools
import random
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from generator import catalog  # noqa: E402

MODES = ("base", "sriov", "shared", "ipoib")
REPO_URL = "https://github.com/example/fleet-gitops.git"
OVERLAY_KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
patches:
- path: labels.yaml
"""
OVERLAY_PATCH = """\
apiVersion: v1
kind: Namespace
metadata:
  name: {namespace}
  labels:
    team: {team}
"""


@dataclass(frozen=True)
class Member:
    """One cluster of the fleet: its spec file's text, and its user overlay's files (none for most)."""

    name: str
    mode: str
    release: str
    vm_size: str
    spec: str
    overlay: dict[str, str]


# How a real fleet leans: most clusters on the newer releases and the common GPU sizes (weights, not shares).
RELEASE_WEIGHTS = (1, 2, 3, 4, 6, 8)  # v25.1.0 ... v26.4.1
SIZE_WEIGHTS = {"Standard_ND96asr_v4": 4, "Standard_ND96amsr_A100_v4": 3, "Standard_ND96isr_H100_v5": 5,
                "Standard_ND96isr_H200_v5": 3}  # others: 1
IPOIB_RANGES = ("10.10.0.0/16", "10.20.0.0/16", "172.16.0.0/16", "192.168.128.0/17")


def takes(release: str, vm_size: str) -> bool:
    """Whether gen takes the release on the size with the spec's defaults: the node platform AKS gives the size on the
    release's newest Kubernetes runs its DOCA driver."""
    cat = catalog.load()
    rel, size = cat.release(release), cat.vm_sizes[vm_size]
    image = cat.aks.os_skus[cat.aks.default_os_sku].image(rel.newest_kubernetes)
    if image is None or (size.os_versions and image.os_version not in size.os_versions):
        return False
    return cat.runs_driver(rel, cat.platforms[f"{image.os}{image.os_version}-{size.arch}"])


def _coverage(rng: random.Random) -> list[tuple[str, str, str]]:
    """Combinations that together hold every mode, release and VM size (so that a fleet as large as the catalog has
    VM sizes has them all)."""
    cat = catalog.load()
    combos = [c for c in itertools.product(MODES, cat.release_tags, list(cat.vm_sizes)) if takes(c[1], c[2])]
    rng.shuffle(combos)
    first: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    wanted = {item for combo in combos for item in combo}
    while seen != wanted:  # greedy: the first combination that covers the most not covered yet
        combo = max(combos, key=lambda c: len(set(c) - seen))
        first.append(combo)
        seen |= set(combo)
    return first


def _draw(rng: random.Random) -> tuple[str, str, str]:
    cat = catalog.load()
    sizes = list(cat.vm_sizes)
    while True:
        combo = (rng.choice(MODES), rng.choices(cat.release_tags, RELEASE_WEIGHTS)[0],
                 rng.choices(sizes, [SIZE_WEIGHTS.get(s, 1) for s in sizes])[0])
        if takes(combo[1], combo[2]):
            return combo


def _platform(release: str, vm_size: str, rng: random.Random) -> list[str]:
    """Some clusters say their Kubernetes version (one their release supports) and some of those an Ubuntu 24.04 OS
    SKU; a size that runs some Ubuntu versions only keeps the defaults."""
    cat = catalog.load()
    if cat.vm_sizes[vm_size].os_versions or rng.random() >= 0.4:
        return []
    kube = rng.choice([v for v in cat.aks.versions if cat.release(release).supports_kubernetes(v)])
    lines = ["kubernetes:", f'  version: "{kube}"']
    if rng.random() < 0.3 and cat.aks.os_skus["Ubuntu2404"].image(kube) is not None:
        lines += ["node:", "  osSku: Ubuntu2404"]
    return lines


def member(index: int, combo: tuple[str, str, str], rng: random.Random, chart_every: int = 0) -> Member:
    mode, release, vm_size = combo
    region = ("westeurope", "eastus", "southcentralus", "japaneast")[index % 4]
    name = f"gpu-{region}-{index:04d}"
    lines = [
        f"# Synthetic fleet member {index}: {mode} on {vm_size}, network-operator {release}.",
        "# yaml-language-server: $schema=../schemas/cluster.schema.json",
        f"name: {name}",
        f"mode: {mode}",
        f"vmSize: {vm_size}",
        "networkOperator:",
        f"  version: {release}",
    ]
    namespace = "nvidia-network-operator" if rng.random() < 0.1 else "network-operator"
    if namespace != "network-operator":
        lines.append(f"  namespace: {namespace}")
    lines += _platform(release, vm_size, rng)
    if rng.random() < 0.3:
        lines += ["tolerations:", "- {key: sku, operator: Equal, value: gpu, effect: NoSchedule}",
                  "taints:", "- {key: sku, value: gpu, effect: NoSchedule}"]
    if mode in ("shared", "ipoib") and rng.random() < 0.3:
        lines += ["shared:", f"  rdmaHcaMax: {rng.choice((16, 32))}"]
    if mode == "ipoib":
        ipam = catalog.load().releases[release].ipam
        block = ["ipoib:"]
        if len(ipam) > 1 and rng.random() < 0.5:
            block.append(f"  ipam: {rng.choice(ipam)}")
        if rng.random() < 0.4:
            block.append(f"  range: {rng.choice(IPOIB_RANGES)}")
        lines += block if len(block) > 1 else []
    if rng.random() < 0.1 and catalog.load().vm_sizes[vm_size].arch == "amd64":  # the default image is amd64-only
        lines += ["verify:", "  enabled: true"]
    lines += [
        "argocd:",
        f"  repoURL: {REPO_URL}",
        f"  targetRevision: {rng.choice(('main', 'main', 'release'))}",
    ]
    chart = bool(chart_every) and index % chart_every == chart_every - 1
    if chart:
        lines.append("  source: chart")
    lines += ["  destination:", f"    name: {name}"]
    overlay: dict[str, str] = {}
    if not chart and rng.random() < 0.05:
        overlay = {"kustomization.yaml": OVERLAY_KUSTOMIZATION,
                   "labels.yaml": OVERLAY_PATCH.format(namespace=namespace, team=f"team-{index % 7}")}
    return Member(name, mode, release, vm_size, "\n".join(lines) + "\n", overlay)


def fleet(clusters: int, seed: int = 14, chart_every: int = 0) -> list[Member]:
    """The fleet of ``clusters`` members for ``seed``: first the combinations that cover every mode, release and
    VM size, then draws leaning as a real fleet does. A larger fleet of the same seed starts with the same members."""
    rng = random.Random(seed)
    cover = _coverage(rng)
    out = []
    for i in range(clusters):
        combo = cover[i] if i < len(cover) else _draw(rng)
        out.append(member(i, combo, rng, chart_every))
    return out


def describe(members: list[Member]) -> dict[str, object]:
    """How many clusters of each mode, release and VM size, and with a user overlay."""
    def count(values: list[str]) -> dict[str, int]:
        return dict(sorted(collections.Counter(values).items()))

    return {"clusters": len(members), "modes": count([m.mode for m in members]),
            "releases": count([m.release for m in members]), "vm_sizes": count([m.vm_size for m in members]),
            "user_overlays": sum(1 for m in members if m.overlay)}


def write_fleet(root: Path, members: list[Member]) -> None:
    """The members' specs in ``root/clusters/`` and their overlays in ``root/overlays/`` (a GitOps repo's layout;
    ``root`` may be new)."""
    (root / "clusters").mkdir(parents=True, exist_ok=True)
    for m in members:
        (root / "clusters" / f"{m.name}.yaml").write_text(m.spec)
        for rel, text in m.overlay.items():
            path = root / "overlays" / m.name / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    schema = REPO / "schemas" / "cluster.schema.json"
    (root / "schemas").mkdir(exist_ok=True)
    (root / "schemas" / "cluster.schema.json").write_bytes(schema.read_bytes())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", type=Path)
    parser.add_argument("--clusters", type=int, default=100)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--chart", type=int, default=0, metavar="N", help="every N-th cluster: argocd.source: chart")
    args = parser.parse_args()
    members = fleet(args.clusters, args.seed, args.chart)
    write_fleet(args.dir, members)
    print(f"{len(members)} cluster(s) in {args.dir}/clusters (seed {args.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
