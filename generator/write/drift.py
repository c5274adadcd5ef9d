"""``check``: compare ``output/`` with the bundles without writing anything."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from generator.render.output import Bundle
from generator.write import manifest as mf
from generator.write.paths import (
    MANIFEST_NAME,
    OUTPUT_DIR,
    TOP_LEVEL_FILES,
    check_cluster_root,
    check_output_root,
    is_temp_name,
    lstat_kind,
    walk,
)
from generator.write.refusals import CorruptManifest
from generator.write.summary import Drift
from generator.write.validate import validate_bundles


def check(repo: Path, bundles: list[Bundle], *, all_clusters: bool) -> list[Drift]:
    """Return every difference (sorted by path); empty means ``output/`` is up to date.

    ``missing``: a bundle file (or the manifest) is absent; ``changed``: its bytes differ (with a
    unified diff); ``stray``: a file under ``output/<cluster>/`` that is not generated (including
    leftover temp files) and, with ``all_clusters``, any file of a cluster without a bundle and each directory of
    ``output/`` under a temporary name (a first bundle a killed run was laying out). Each item's
    ``fix`` names the options of ``gen bundle`` that mend it.
    """
    repo = Path(repo)
    validate_bundles(bundles)
    out = check_output_root(repo)
    drift: list[Drift] = []
    for b in bundles:
        expected = dict(b.files)
        expected[MANIFEST_NAME] = mf.for_files(b.cluster, b.spec_file, b.files).to_bytes()
        drift += _check_dir(repo, b.cluster, expected, set(b.files) if b.read_from_output else set())
    if all_clusters and lstat_kind(out) == "dir":
        live = {b.cluster for b in bundles}
        for entry in sorted(os.scandir(out), key=lambda e: e.name):
            if entry.name in live:
                continue
            kind = lstat_kind(Path(entry.path))
            if kind == "dir" and is_temp_name(entry.name):  # a first bundle a killed run was laying out (an empty
                drift += [Drift(f"{OUTPUT_DIR}/{entry.name}/{p}", "stray")  # one is nothing to git either)
                          for p, k in sorted(walk(Path(entry.path)).items()) if k != "dir"]
            elif kind == "dir":
                owned = _owned(Path(entry.path))
                drift += [Drift(f"{OUTPUT_DIR}/{entry.name}/{p}", "stray",
                                fix="--prune" if p in owned or _is_temp(p) else "--prune --force")
                          for p, k in sorted(walk(Path(entry.path)).items()) if k != "dir"]
            elif entry.name not in TOP_LEVEL_FILES:
                drift.append(Drift(f"{OUTPUT_DIR}/{entry.name}", "stray", fix="--prune --force"))
    return sorted(drift)


def _check_dir(repo: Path, cluster: str, expected: dict[str, bytes], read: set[str]) -> list[Drift]:
    """``read``: files whose bytes were just read from this directory (their regular-file kind is still checked)."""
    root = check_cluster_root(repo, cluster)
    inv = walk(root)
    pre = f"{OUTPUT_DIR}/{cluster}/"
    recorded: dict[str, str] | None = None  # read when a file differs
    drift = []
    for rel, data in expected.items():
        kind = inv.get(rel)
        if kind is None:
            drift.append(Drift(pre + rel, "missing"))
        elif kind != "file":
            note = f"{pre + rel} is a {kind}, expected a regular file\n"
            drift.append(Drift(pre + rel, "changed", note=note))
        elif rel not in read:
            old = (root / rel).read_bytes()
            if old != data:
                recorded = _recorded(root, inv) if recorded is None else recorded
                edited = rel in recorded and recorded[rel] != mf.sha256(old)
                drift.append(Drift(pre + rel, "changed", old=old, new=data, edited=edited))
    drift += [Drift(pre + rel, "stray", fix="" if _is_temp(rel) else "--force")
              for rel, k in inv.items() if k != "dir" and rel not in expected]
    return drift


def _recorded(root: Path, inv: Mapping[str, str]) -> dict[str, str]:
    """The sha256 the manifest recorded for each file gen wrote ({} without a readable manifest)."""
    if inv.get(MANIFEST_NAME) != "file":
        return {}
    try:
        return dict(mf.parse((root / MANIFEST_NAME).read_bytes(), MANIFEST_NAME).files)
    except CorruptManifest:
        return {}


def _is_temp(rel: str) -> bool:
    return is_temp_name(rel.rsplit("/", 1)[-1])


def _owned(root: Path) -> set[str]:
    """The files gen's manifest in ``root`` lists (with the manifest itself); none if it is absent or unreadable."""
    try:
        manifest = mf.parse(mf.read(root / MANIFEST_NAME, str(root / MANIFEST_NAME)), str(root / MANIFEST_NAME))
    except (OSError, CorruptManifest):
        return set()
    return {MANIFEST_NAME, *manifest.files}


def output_dirs(repo: Path) -> list[str]:
    """The directories directly in ``output/`` (cluster, fleet and release bundles, and anything stale)."""
    out = Path(repo) / OUTPUT_DIR
    if lstat_kind(out) != "dir":
        return []
    return sorted(e.name for e in os.scandir(out) if not e.name.startswith(".") and lstat_kind(Path(e.path)) == "dir")

