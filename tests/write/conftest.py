from __future__ import annotations

import os
from pathlib import Path

import pytest

from generator.render.output import Bundle

OLD = 1_000_000_000  # an mtime far in the past
LOCK = ".gen.lock"


def bundle(cluster: str, files: dict[str, bytes | str], spec_file: str = "") -> Bundle:
    return Bundle(
        cluster=cluster,
        spec_file=spec_file or f"clusters/{cluster}.yaml",
        files={p: c.encode() if isinstance(c, str) else c for p, c in files.items()},
    )


def age_tree(root: Path) -> None:
    """Set every file's mtime to OLD so rewrites are detectable."""
    for dirpath, _, names in os.walk(root):
        for n in names:
            os.utime(Path(dirpath) / n, (OLD, OLD), follow_symlinks=False)


def _files(root: Path) -> list[tuple[str, Path]]:
    """(relative path, path) of every file below ``root`` except the lock file (rewritten each run)."""
    return [(Path(dirpath, n).relative_to(root).as_posix(), Path(dirpath, n))
            for dirpath, _, names in os.walk(root) for n in names if n != LOCK]


def mtimes(root: Path) -> dict[str, int]:
    """mtime of every file below ``root`` except the lock file."""
    return {rel: os.lstat(p).st_mtime_ns for rel, p in _files(root)}


def files_under(root: Path) -> dict[str, bytes]:
    """Content of every file below ``root`` except the lock file."""
    return {rel: p.read_bytes() for rel, p in _files(root)}


def expected_tree(bundles: list[Bundle]) -> dict[str, bytes]:
    """What ``output/`` must hold (minus the lock) for ``bundles``: files plus manifests."""
    from generator.write.manifest import for_files

    out = {}
    for b in bundles:
        out.update({f"{b.cluster}/{p}": data for p, data in b.files.items()})
        out[f"{b.cluster}/.gen-manifest.json"] = for_files(b.cluster, b.spec_file, b.files).to_bytes()
    return out


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    r = tmp_path / "repo"
    r.mkdir()
    return r
