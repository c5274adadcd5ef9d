"""Name rules: cluster names, bundle-relative paths, reserved names; and a no-follow tree walk."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Literal

from generator.core.fs import TEMP_MARK, is_temp_name
from generator.core.layout import OUTPUT_DIR
from generator.write.refusals import InvalidBundle, UnsafePath

MANIFEST_NAME = ".gen-manifest.json"
LOCK_NAME = ".gen.lock"  # lives at output/.gen.lock
TOP_LEVEL_FILES = frozenset({LOCK_NAME, ".gitignore"})  # files directly in output/ that are not strays
# a cluster name (a DNS-1123 label), or a shared directory such as network-operator-v25.4.0 (dots allowed)
_BUNDLE_DIR = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")

Kind = Literal["file", "dir", "symlink", "other"]


def check_cluster_name(name: str) -> None:
    if not isinstance(name, str) or len(name) > 63 or not _BUNDLE_DIR.match(name) or ".." in name:
        raise InvalidBundle(
            f"cluster name {name!r} is not a DNS-1123 label (lowercase a-z, 0-9 and '-', "
            f"starting and ending alphanumeric, at most 63 characters); rename clusters/{name}.yaml"
        )


def check_rel_path(path: str, where: str) -> tuple[str, ...]:
    """Validate a POSIX path relative to ``output/<cluster>/``; return its segments."""
    problem = ""
    if not isinstance(path, str) or not path:
        problem = "is empty"
    elif path.startswith("/"):
        problem = "is absolute"
    elif "\\" in path:
        problem = "contains a backslash"
    elif "\x00" in path:
        problem = "contains a NUL byte"
    else:
        parts = tuple(path.split("/"))
        if "" in parts:
            problem = "has an empty segment"
        elif ".." in parts or "." in parts:
            problem = "contains a '.' or '..' segment"
        elif path == MANIFEST_NAME:
            problem = f"uses the reserved name {MANIFEST_NAME}"
        elif any(is_temp_name(p) or TEMP_MARK in p for p in parts):
            problem = f"uses the reserved temp-file marker {TEMP_MARK!r}"
        if not problem:
            return parts
    raise InvalidBundle(
        f"{where}: file path {path!r} {problem}; generated paths must be relative POSIX paths "
        f"inside output/<cluster>/ (fix the renderer)"
    )


def lstat_kind(path: Path) -> Kind | None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None
    return _kind(mode)


def _kind(mode: int) -> Kind:
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISREG(mode):
        return "file"
    return "other"


def _entry_kind(entry: os.DirEntry[str]) -> Kind:
    """An entry's kind from the directory listing's own type (no stat call where the file system gives it)."""
    if entry.is_file(follow_symlinks=False):
        return "file"
    if entry.is_dir(follow_symlinks=False):
        return "dir"
    return "symlink" if entry.is_symlink() else "other"


def walk(root: Path) -> dict[str, Kind]:
    """Every entry below ``root`` (relative POSIX path -> kind), never following symlinks."""
    out: dict[str, Kind] = {}
    stack: list[tuple[str, str | Path]] = [("", root)]  # directories below the root as strings: no Path to build
    while stack:
        prefix, directory = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            rel = prefix + entry.name
            kind = _entry_kind(entry)
            out[rel] = kind
            if kind == "dir":
                stack.append((rel + "/", entry.path))
    return out


def _real_dir_or_absent(path: Path, rel: str) -> str | None:
    """The kind of ``path`` (None or "dir"); a symlink or a non-directory there is an UnsafePath."""
    kind = lstat_kind(path)
    if kind == "symlink":
        raise UnsafePath(f"{rel}/ is a symlink ({os.readlink(path)!r}); gen never writes through symlinks: "
                         f"replace it with a directory")
    if kind not in (None, "dir"):
        raise UnsafePath(f"{rel} exists but is not a directory; remove or rename it")
    return kind


def check_output_root(repo: Path) -> Path:
    """``repo/output`` must be a real directory (or absent) directly inside the repo."""
    out = repo / OUTPUT_DIR
    kind = _real_dir_or_absent(out, OUTPUT_DIR)
    if kind == "dir" and Path(os.path.realpath(out)) != Path(os.path.realpath(repo)) / OUTPUT_DIR:
        raise UnsafePath(f"{OUTPUT_DIR}/ resolves outside the repository; replace it with a directory")
    return out


def check_cluster_root(repo: Path, cluster: str) -> Path:
    d = repo / OUTPUT_DIR / cluster
    _real_dir_or_absent(d, f"{OUTPUT_DIR}/{cluster}")
    return d
