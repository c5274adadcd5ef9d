"""``gen cache [show|clear]``: where gen keeps derived data and pulled files (and the key that authenticates them),
and how much."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from generator.core.cache import CACHE_ENV, cache_root, key_file
from generator.core.errors import EXIT_OK

HELP = "show where gen keeps its caches, or clear them"

# every directory a DiskCache of this version keeps (a test finds each one in the code), and what it holds
PARTS = {
    "schemas": "pulled CRDs, webhook schemas and charts (sha256-checked on every read)",
    "kustomize": "gen bundle's kustomize builds, by digest of every byte they can read (validated on every "
                 "run)",
    "kustomize-dirs": "gen lint's kustomize builds, by digest of every byte they can read (validated on every run)",
    "chart-digests": "the sha256 of each chart gen fetched or copied into its cache (a cached chart counts only "
                     "with it)",
    "helm-renders": "helm template renders, by digest of chart and values (validated again on every run)",
    "checked": "clusters checked, by digest of every input: their files' sha256 and warnings",
    "rendered": "the bytes of the clusters checked (their files as rendered, for a spec changed since gen bundle)",
    "parsed-yaml": "gen's YAML data and the pinned CRDs, parsed (by digest of the text)",
    "crd-schemas": "the pinned CRDs converted to strict schemas (by the CRD file's sha256 and gen's own digest)",
    "lint-verdicts": "what gen lint printed, by digest of every byte it read, the options and gen itself",
    "lint-parts": "what gen lint output/ found in each cluster's folder, by digest of all it read (one entry a run)",
    "spec-facts": "what gen lint needs of each cluster spec (release, Kubernetes, GPU Operator, NICs), a repo's in "
                  "one entry, each by its bytes",
    "package-digest": "gen's own digest (its files and libraries), by the lstat of each file and library folder",
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", nargs="?", choices=["show", "clear"], default="show")


def run(args: argparse.Namespace, repo: Path, mirror: Path | None) -> int:
    """``clear`` removes it all (always safe: the next run derives it again, and pulls schemas from the network or
    --from DIR)."""
    root = cache_root()
    parts = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    if args.action == "clear":
        for part in parts:
            shutil.rmtree(part, ignore_errors=True)
        print(f"gen cache: cleared {root}")
        return EXIT_OK
    print(f"gen cache: {root} (${CACHE_ENV}, else $XDG_CACHE_HOME/rdma-gitops, else ~/.cache/rdma-gitops)")
    print(f"  key: {key_file()} (authenticates every entry but schemas/; $XDG_CONFIG_HOME/rdma-gitops, else "
          "~/.config/rdma-gitops; never inside a git work tree)")
    for part in parts:
        files = [f for f in part.rglob("*") if f.is_file()]
        print(f"  {part.name + '/':16} {len(files):6} file(s) {sum(f.stat().st_size for f in files) / 1e6:8.1f} MB  "
              f"{PARTS.get(part.name, 'no longer used by this version (gen cache clear removes it)')}")
    return EXIT_OK
