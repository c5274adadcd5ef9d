"""``gen lint``'s verdicts, kept: what a run printed (its notes, its report, its exit code), under the digest of every
byte it could read and of the checker, so that linting unchanged files again (a pre-commit hook, a CI job, an editor)
prints the same without reading, building or checking anything.

The key holds: gen itself (its code and data, the schema lock among them: ``package_digest``), kustomize's binary,
the date (some findings name how long ago a release or Kubernetes version went out of support), the working
directory and the repo (findings name paths relative to them), the options, every ``GEN_*`` variable but the
cache's own, the charts at hand; and the bytes: each path as given with the whole tree of each directory (every
entry, a link's target and, for a link to a file, the file's bytes), every byte each kustomize directory in them can
read (``kustomization.build_inputs``: the whole tree of every kustomization root it reaches, wherever it lies), and
the whole trees of ``clusters/`` and ``overlays/`` (the specs choose each cluster's release, VM size and pools).
Anything that cannot be keyed (a FIFO, an unreadable entry, a build reading outside its roots, a tree over the
bounds) means no record: the run lints as before. Entries are authenticated like every cache entry (``DiskCache``:
a per-user key outside any work tree), so an entry planted in the cache, committed to a checkout, or written with
another key is a miss; only a run that ended with a verdict (exit 0 or 1) is kept.
"""

from __future__ import annotations

import datetime
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from generator.core.cache import DiskCache, cache_root, digest, tool_key
from generator.core.identity import package_digest

VERSION = 1
MAX_FILES = 200_000
MAX_BYTES = 512 * 1024 * 1024


class _Unkeyable(Exception):
    pass


@dataclass(frozen=True)
class Verdict:
    """What a lint run printed: its notes and warnings (stderr), its report (stdout), and its exit code."""

    stderr: str
    stdout: str
    code: int


class _Parts:
    """Digest parts, with the bytes read counted against the bounds."""

    def __init__(self) -> None:
        self.parts: list[bytes | str] = []
        self.files = 0
        self.size = 0

    def add(self, *parts: bytes | str) -> None:
        for part in parts:  # a path that is not UTF-8 by the bytes the file system holds
            data = part.encode("utf-8", "surrogateescape") if isinstance(part, str) else part
            self.size += len(data)
            self.parts.append(data)
        self.files += 1
        if self.files > MAX_FILES or self.size > MAX_BYTES:
            raise _Unkeyable("over the bounds")


def _entry(parts: _Parts, path: str, shown: str) -> None:
    """One entry of a tree: a regular file with its bytes, a link with its target (and a file's bytes behind it), a
    directory by name; anything else cannot be keyed."""
    try:
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode):
            target = os.readlink(path)
            inner = os.stat(path).st_mode if os.path.exists(path) else 0
            data = Path(path).read_bytes() if stat.S_ISREG(inner) else b""
            if inner and not (stat.S_ISREG(inner) or stat.S_ISDIR(inner)):
                raise _Unkeyable(path)
            parts.add(shown, "link", target, data)
        elif stat.S_ISREG(mode):
            parts.add(shown, "file", Path(path).read_bytes())
        elif stat.S_ISDIR(mode):
            parts.add(shown, "dir")
        else:
            raise _Unkeyable(path)
    except OSError as exc:
        raise _Unkeyable(path) from exc


def _tree(parts: _Parts, root: str) -> None:
    """Every entry under ``root`` (links not followed), in a fixed order."""
    def walk_error(exc: OSError) -> None:
        raise _Unkeyable(str(exc))

    for here, dirs, names in os.walk(root, onerror=walk_error):
        dirs.sort()
        for name in [*sorted(names), *dirs]:
            full = os.path.join(here, name)
            _entry(parts, full, os.path.relpath(full, root))


def _paths(parts: _Parts, paths: Sequence[Path], kustomize_dirs: Iterator[Path], cwd: Path) -> None:
    from generator.programs.kustomization import Unkeyable, build_inputs

    for path in paths:
        parts.add("path", str(path), os.path.realpath(path))
        if os.path.isdir(path):
            _tree(parts, os.path.realpath(path))
        else:
            _entry(parts, str(path), str(path))
    for directory in kustomize_dirs:
        try:
            inputs = build_inputs(directory, cwd)
        except (Unkeyable, OSError) as exc:
            raise _Unkeyable(str(directory)) from exc
        parts.add("kustomize", str(directory), *inputs.parts())


def verdict_key(paths: Sequence[Path], repo: Path, options: Sequence[str], extra: Sequence[str] = ()) -> str | None:
    """The digest of everything a ``gen lint`` of ``paths`` with ``options`` reads and is (see the module's doc);
    None when something cannot be keyed."""
    from generator.manifests.files import walk
    from generator.programs.kustomize import keyable_command, kustomize_command

    command = kustomize_command()
    if not keyable_command(command):
        return None
    cwd = Path.cwd()
    parts = _Parts()
    env = sorted(f"{k}={v}" for k, v in os.environ.items() if k.startswith("GEN_") and k != "GEN_CACHE_DIR")
    today = (datetime.datetime.now(datetime.UTC).date().isoformat(), datetime.date.today().isoformat())
    parts.add(package_digest(), tool_key(list(command)), *today,
              os.path.realpath(cwd), os.path.realpath(repo), *options, *extra, *env)
    try:
        dirs = (d for p in paths if os.path.isdir(p) for d in walk(p).kustomize_dirs)
        _paths(parts, paths, dirs, cwd)
        for top in ("clusters", "overlays"):
            parts.add("repo", top)
            if os.path.isdir(repo / top):
                _tree(parts, os.path.realpath(repo / top))
    except (_Unkeyable, RecursionError, ValueError):
        return None
    return digest(*parts.parts)


def _cache() -> DiskCache:
    return DiskCache(cache_root(), "lint-verdicts", VERSION)


def kept(key: str | None) -> Verdict | None:
    """The verdict kept under ``key`` (authenticated), or None."""
    entry = _cache().get_json(key) if key is not None else None
    if not isinstance(entry, dict):
        return None
    stderr, stdout, code = entry.get("stderr"), entry.get("stdout"), entry.get("code")
    if not (isinstance(stderr, str) and isinstance(stdout, str) and type(code) is int and code in (0, 1)):
        return None
    return Verdict(stderr, stdout, code)


def keep(key: str | None, verdict: Verdict) -> None:
    if key is not None and verdict.code in (0, 1):
        _cache().put_json(key, {"stderr": verdict.stderr, "stdout": verdict.stdout, "code": verdict.code})
