"""What gen is, for the keys of what it derives and caches: every file of the gen package (code, catalog, schema lock,
templates) and the versions of the libraries it runs. A new gen, or any edit to it, is another gen.

Reading the package's 2 MB and asking the libraries' versions takes longer than a small command's own work, so the
digest is kept (an authenticated cache entry) under the lstat signature of every file and directory of the package
and of every directory on ``sys.path`` (installing, upgrading or removing a library changes its directory's entries):
any edit changes a file's size, inode or change time. Nothing is kept or used while an entry was changed in the last
``RACY_NS`` (two writes that close may leave the same times); an entry is authenticated like every cache entry
(``core.cache``), so one this user's gen did not write is a miss."""

from __future__ import annotations

import functools
import os
import sys
import time
from pathlib import Path

from generator.core.cache import DiskCache, cache_root, digest

PACKAGE = Path(__file__).resolve().parents[1]  # generator/
LIBRARIES = ("PyYAML", "jsonschema-rs", "kubernetes-validate", "ruamel.yaml", "cel-expr-python")


RACY_NS = 3_000_000_000


@functools.cache
def package_digest() -> str:
    """Every file of the gen package (but compiled bytecode), by path and bytes, and the libraries' versions."""
    installed = _installed_signature()
    memo = DiskCache(cache_root(), "package-digest", 1) if installed is not None else None
    if memo is not None and installed is not None:
        kept = memo.get_json(installed)
        if isinstance(kept, str) and len(kept) == 64:
            return kept
    found = _package_digest()
    if memo is not None and installed is not None:
        memo.put_json(installed, found)
    return found


def _installed_signature() -> str | None:
    """The digest of the lstat signature of every entry of the package and of every directory on ``sys.path``;
    None when one changed in the last ``RACY_NS`` or cannot be read."""
    parts: list[str] = [sys.version, str(PACKAGE), *LIBRARIES]
    recent = time.time_ns() - RACY_NS
    entries = [PACKAGE, *(Path(entry) for entry in sys.path if entry and os.path.isdir(entry))]
    for here, dirs, files in os.walk(PACKAGE):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        entries += [Path(here) / name for name in [*dirs, *sorted(files)] if not name.endswith((".pyc", ".pyo"))]
    for entry in entries:
        try:
            st = os.lstat(entry)
        except OSError:
            return None
        if st.st_mtime_ns >= recent or st.st_ctime_ns >= recent:
            return None
        parts.append(f"{entry}:{st.st_mode}:{st.st_size}:{st.st_ino}:{st.st_dev}:{st.st_mtime_ns}:{st.st_ctime_ns}")
    return digest(*parts)


def _package_digest() -> str:
    from importlib import metadata

    parts: list[bytes | str] = []
    for here, dirs, files in os.walk(PACKAGE):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if not name.endswith((".pyc", ".pyo")):
                path = Path(here) / name
                parts += [path.relative_to(PACKAGE).as_posix(), path.read_bytes()]
    for library in LIBRARIES:
        try:
            parts += [library, metadata.version(library)]
        except metadata.PackageNotFoundError:
            parts += [library, "-"]
    return digest(*parts)
