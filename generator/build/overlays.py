"""Build every mode overlay of every rendered bundle with the real kustomize, as Argo CD will.

The bundles are laid out in a temporary directory that mirrors the repository: every top-level entry but
``output/`` is a link to the repository's own, so a user overlay is read in place, with the same relative paths
(``components: [../common]``) and the same load restrictor as in Argo CD's checkout. A build's result depends
only on what kustomize reads (the bundle's bytes, the files of the user overlay and of the bases and components
it includes, the kustomize command), so it is cached on disk by their digest: an unchanged cluster costs no
kustomize call on the next run or in ``gen check``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from generator import layout
from generator.build import kustomize
from generator.cache import DiskCache, cache_root, digest
from generator.cluster.model import MODES
from generator.fs import read_regular
from generator.kube import Obj
from generator.manifests.files import files_read
from generator.render.output import Bundle

CACHE_VERSION = 2
MAX_INPUT_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class OverlayBuild:
    """``kustomize build output/<cluster>/overlays/<mode>``: its objects, or why it failed."""

    cluster: str
    mode: str
    objects: list[Obj]
    error: str  # "" when the build succeeded; paths in it are repo-relative

    @property
    def directory(self) -> str:
        return layout.mode_overlay_dir(self.cluster, self.mode)


def _stage(repo: Path, bundles: Sequence[Bundle], root: Path) -> None:
    """Lay the bundles (and the shared ones they read) out under ``root/output/``, and link every other top-level
    entry of the repository into ``root``."""
    for entry in sorted(os.listdir(repo)) if repo.is_dir() else []:
        if entry != layout.OUTPUT_DIR:
            (root / entry).symlink_to(repo / entry)
    shared = {read.cluster: read for bundle in bundles for read in bundle.reads}
    for bundle in [*bundles, *shared.values()]:
        out = root / layout.output_dir(bundle.cluster)
        for rel, data in bundle.files.items():
            target = out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)


def user_overlay_files(repo: Path, name: str) -> list[Path]:
    """The files kustomize reads for the user's overlay of ``name`` (none without one)."""
    source = repo / layout.user_overlay_dir(name)
    return files_read(source) if source.is_dir() else []


def _inputs_digest(repo: Path, bundle: Bundle, command: list[str]) -> str:
    """Digest of everything a cluster's kustomize builds read: the command, its bundle, and the user overlay's
    files (with the bases and components it includes)."""
    parts: list[bytes | str] = [*command]
    for each in (bundle, *bundle.reads):
        for rel, data in sorted(each.files.items()):
            parts += [f"{layout.output_dir(each.cluster)}/{rel}", data]
    for path in user_overlay_files(repo, bundle.cluster):
        shown = os.path.relpath(path, repo)
        parts += [shown, read_regular(path, MAX_INPUT_BYTES, shown)]
    return digest(*parts)


def build_overlays(repo: Path, bundles: Sequence[Bundle]) -> dict[tuple[str, str], OverlayBuild]:
    """Every mode overlay of every cluster's bundle, built; keyed by (cluster, mode)."""
    command = kustomize.kustomize_command()
    cache = DiskCache(cache_root(), "kustomize", CACHE_VERSION)
    results: dict[tuple[str, str], OverlayBuild] = {}
    todo: list[tuple[Bundle, str]] = []
    for bundle in bundles:
        key = _inputs_digest(repo, bundle, command)
        hit = cache.get_json(key)
        if isinstance(hit, dict) and set(hit) == set(MODES):
            results.update({(bundle.cluster, m): OverlayBuild(bundle.cluster, m, hit[m], "") for m in MODES})
        else:
            todo.append((bundle, key))
    if not todo:
        return results
    with tempfile.TemporaryDirectory(prefix="gen-stage-") as tmp:
        root = Path(tmp)
        _stage(repo, [bundle for bundle, _ in todo], root)
        dirs = [root / layout.mode_overlay_dir(bundle.cluster, mode) for bundle, _ in todo for mode in MODES]
        built = iter(kustomize.build_many(dirs))
        for bundle, key in todo:
            per_mode = {mode: next(built) for mode in MODES}
            for mode, result in per_mode.items():
                error = result.error.replace(f"{root}/", "").replace(f"{os.path.realpath(repo)}/", "")
                results[(bundle.cluster, mode)] = OverlayBuild(bundle.cluster, mode, result.objects, error)
            if not any(r.error for r in per_mode.values()):  # failures are not cached: they are retried
                cache.put_json(key, {mode: r.objects for mode, r in per_mode.items()})
    return results
