"""Helper for test_write_crash.py: a changing 20-cluster fleet, applied until SIGKILLed.

``python gen_crash_helper.py REPO START`` prints ``ready``, then for gen = START, START+1, ...
prints ``start <gen>``, applies ``fleet(gen)`` (prune + all clusters) and prints ``done <gen>``.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from generator.render.output import Bundle

N_CLUSTERS = 20
PATHS = ["nicclusterpolicy.yaml", "base/ns.yaml", "base/sa.yaml", "crds/a.yaml", "crds/b.yaml",
         "deep/x/y/z.yaml", "hostdev.yaml"]
SWAP = [None, "swap", "swap/inner.yaml"]  # a path that is sometimes a file, sometimes a dir


def content(cluster: str, path: str, version: int) -> bytes:
    size = random.Random(f"{cluster}/{path}/{version}").randrange(200, 12_000)
    body = "  - line\n" * (size // 9)
    return f"# {cluster}/{path}\nversion: {version}\nitems:\n{body}end: {cluster}/{path}/{version}\n".encode()


def fleet(gen: int) -> list[Bundle]:
    """Generation ``gen`` of the fleet: each cluster changes every 2-6 generations (some of its
    files, sometimes its file set), and about one cluster in ten is absent (spec removed)."""
    out = []
    for i in range(N_CLUSTERS):
        cluster = f"cluster-{i:02d}"
        if gen > 0 and random.Random(f"{cluster}/gone/{gen // 2}").random() < 0.1:
            continue
        epoch = gen // (2 + i % 5)
        sticky = random.Random(f"{cluster}/{epoch // 3}")  # the file set changes every 3rd epoch
        paths = ["kustomization.yaml"] + [p for p in PATHS if sticky.random() < 0.75]
        swap = sticky.choice(SWAP)
        if swap:
            paths.append(swap)
        files = {}
        for p in paths:
            fresh = random.Random(f"{cluster}/{p}/{epoch}").random() < 0.6
            files[p] = content(cluster, p, epoch if fresh else epoch // 4)
        out.append(Bundle(cluster, f"clusters/{cluster}.yaml", files))
    return out


def main() -> None:
    from generator.write import apply

    repo, start = Path(sys.argv[1]), int(sys.argv[2])
    print("ready", flush=True)
    gen = start
    while True:
        bundles = fleet(gen)
        print(f"start {gen}", flush=True)
        apply(repo, bundles, prune=True, all_clusters=True)
        print(f"done {gen}", flush=True)
        gen += 1


if __name__ == "__main__":
    main()
