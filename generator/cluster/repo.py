"""The cluster specs of a GitOps repo: ``clusters/<name>.yaml``, found and read (never parsed here)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from generator.cluster.parse import MAX_SPEC_BYTES, SpecError
from generator.core import layout
from generator.core.errors import InputError
from generator.core.fs import is_temp_name, read_regular

CLUSTER_FILE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\.yaml$")


def discover(repo: Path) -> list[str]:
    """The cluster names of ``repo/clusters/*.yaml``, sorted."""
    clusters = repo / layout.CLUSTERS_DIR
    if not clusters.is_dir():
        raise InputError(f"{repo}: no clusters/ directory; run gen from the GitOps repo root or pass --repo DIR")
    names = []
    for path in sorted(clusters.iterdir()):
        # not only regular files: a FIFO or a dangling link named like a spec is reported when it is read
        if path.suffix in (".yaml", ".yml") and not path.is_dir():
            if path.suffix == ".yml" or not CLUSTER_FILE.match(path.name):
                raise InputError(f"clusters/{path.name}: cluster files are named <dns-1123-label>.yaml "
                                 "(lower-case letters, digits and '-'); rename it")
            names.append(path.stem)
    return names


def select(repo: Path, names: list[str], all_clusters: bool) -> list[str]:
    """The clusters a command works on: every spec, or the named ones (each must exist)."""
    known = discover(repo)
    if all_clusters:
        return known
    for name in names:
        if name not in known:
            hint = f"known: {', '.join(known)}" if known else "clusters/ has no specs yet"
            raise InputError(f"clusters/{name}.yaml: no such cluster spec ({hint}); create it from clusters/prod.yaml")
    return list(dict.fromkeys(names))


def read_spec(repo: Path, name: str) -> bytes:
    """The bytes of ``clusters/<name>.yaml``; a SpecError naming the file when it is missing or not a regular file."""
    rel = layout.spec_file(name)
    path = repo / rel
    if not os.path.lexists(path):
        raise SpecError(rel, f"no such cluster spec; create {rel} (see clusters/prod.yaml)")
    try:
        return read_regular(path, MAX_SPEC_BYTES, rel)
    except InputError as exc:  # a FIFO, a device, a link loop, no permission: one line, reported with the others
        raise SpecError(rel, str(exc).removeprefix(f"{rel}: ")) from None


def spec_dir(repo: Path) -> Path:
    """``clusters/`` as it really is (links resolved), when that is inside the repository; an InputError naming the
    link otherwise: gen edits a spec (``gen upgrade``) only inside the repository, never through a link that leaves
    it."""
    inside = os.path.realpath(repo)
    real = os.path.realpath(repo / layout.CLUSTERS_DIR)
    if os.path.commonpath([inside, real]) != inside:
        raise InputError(f"{layout.CLUSTERS_DIR}/: reached through a link to {real}, outside the repository; gen "
                         "edits specs only inside it: replace the link with the directory itself, or run gen in the "
                         "repository it points into")
    return Path(real)


def leftover_temps(repo: Path) -> list[str]:
    """Temporary files in ``clusters/`` that a ``gen upgrade`` killed while writing a spec left (the spec is as it was
    before: the rename never happened), as repo-relative paths."""
    clusters = repo / layout.CLUSTERS_DIR
    try:
        names = sorted(os.listdir(clusters))
    except OSError:
        return []
    return [f"{layout.CLUSTERS_DIR}/{name}" for name in names
            if is_temp_name(name) and not os.path.isdir(clusters / name)]


def leftover_note(path: str) -> str:
    return (f"{path}: a temporary file left by an interrupted gen upgrade (the spec is as it was before); the next "
            "gen upgrade removes it, or delete it")


def remove_leftover_temps(repo: Path) -> list[str]:
    """Remove what ``leftover_temps`` finds (links and files by name, nothing they point to); the paths removed."""
    removed = []
    for path in leftover_temps(repo):
        try:
            os.unlink(repo / path)
        except FileNotFoundError:
            continue
        removed.append(path)
    return removed
