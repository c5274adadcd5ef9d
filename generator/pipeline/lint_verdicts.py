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

A verdict is kept only if its key still holds after the run (nothing changed while it ran). That second look reads
again only what may have changed: every file, link and directory the key read is looked at with lstat, and when
each has the same type, size, inode, modification and change times as before, and every path resolves as it did,
the bytes are the ones keyed. An entry changed within ``RACY_NS`` before the key was taken (a file system may give
two writes that close the same times, as git's "racy clean" entries) and the kustomize inputs (what a build may
read through its kustomizations) are read and hashed again in full.

``gen lint output/`` is kept in parts (``parts_of``): each ``output/<name>/`` whose spec exists is a part, keyed on its
own tree, every byte its kustomize directories read and ``clusters/<name>.yaml``, and the rest of ``output/`` is one
more part. After one cluster changed, only its part is linted again. A run's parts are kept together, in one cache entry
(``keep_parts``) under what their keys have in common (``Key.fixed``), each under its own key's digest. The parts print
what linting the folder whole prints because gen lint checks each cluster's files apart already (with their spec's
checker, never satisfying or clashing with another cluster's objects); a part is made only when that holds of the files
too: a link out of the cluster's folders (``output/<name>/`` and ``overlays/<name>/``), a kustomization reaching out of
them or, from the rest, into them, or a manifest in ``output/`` itself, and the folder is linted whole.
"""

from __future__ import annotations

import datetime
import os
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.core.cache import DiskCache, cache_root, digest, tool_key
from generator.core.finding import Finding
from generator.core.fs import realpath
from generator.core.identity import package_digest
from generator.core.kube import KUSTOMIZATION_NAMES

if TYPE_CHECKING:
    from generator.programs.kustomization import RootsRead

VERSION = 2
PARTS_VERSION = 3  # one entry for a run's parts
MAX_FILES = 200_000
MAX_BYTES = 512 * 1024 * 1024
RACY_NS = 3_000_000_000  # a change this close before the key was taken may leave an entry's times as they were

_Signature = tuple[int, int, int, int, int, int]  # mode, size, inode, device, modified and changed (ns)


class _Unkeyable(Exception):
    pass


@dataclass(frozen=True)
class Verdict:
    """What a lint run printed: its notes and warnings (stderr), its report (stdout), and its exit code."""

    stderr: str
    stdout: str
    code: int


@dataclass(frozen=True)
class Key:
    """A verdict's key: its ``digest``, and what it read, to tell cheaply whether it still holds (see the module's
    doc): ``seen`` each entry by its path (a link's target under ``->path``) with its lstat signature, ``resolved``
    each path as given with its real path and whether it is a directory, ``taken_ns`` when it was taken."""

    digest: str
    fixed: str  # the digest of what is not on disk: gen, kustomize, the date, the options, the environment
    inputs: str  # the digest of the kustomize directories' build inputs
    seen: tuple[tuple[str, _Signature], ...]
    resolved: tuple[tuple[str, str, bool], ...]
    taken_ns: int


@dataclass(frozen=True)
class Scope:
    """What a key covers besides its paths. The whole run (the default): the whole trees of ``clusters/`` and
    ``overlays/``. One cluster's part (``spec``): only ``clusters/<spec>.yaml``, and nothing it reads may lie outside
    ``within`` (its ``output/<spec>/`` and ``overlays/<spec>/``: a link out of them, or a kustomization reaching out
    of them, means no key). The rest of ``output/`` (``fenced``): no kustomization in it may reach into a cluster's
    folders."""

    spec: str | None = None
    within: tuple[str, ...] | None = None
    fenced: tuple[str, ...] = ()


WHOLE = Scope()


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _inside_any(path: str, folders: Sequence[str]) -> bool:
    return any(_inside(path, folder) for folder in folders)


def _signature(st: os.stat_result) -> _Signature:
    return (st.st_mode, st.st_size, st.st_ino, st.st_dev, st.st_mtime_ns, st.st_ctime_ns)


class _Parts:
    """Digest parts, with the bytes read counted against the bounds, and the signature of every entry read."""

    def __init__(self) -> None:
        self.parts: list[bytes | str] = []
        self.files = 0
        self.size = 0
        self.seen: list[tuple[str, _Signature]] = []
        self.resolved: list[tuple[str, str, bool]] = []

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
        st = os.lstat(path)
        parts.seen.append((path, _signature(st)))
        mode = st.st_mode
        if stat.S_ISLNK(mode):
            target = os.readlink(path)
            behind = os.stat(path) if os.path.exists(path) else None
            inner = behind.st_mode if behind is not None else 0
            if behind is not None:
                parts.seen.append(("->" + path, _signature(behind)))
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

    try:
        parts.seen.append((root, _signature(os.lstat(root))))  # its entries: a name added or removed changes it
    except OSError as exc:
        raise _Unkeyable(root) from exc
    for here, dirs, names in os.walk(root, onerror=walk_error):
        dirs.sort()
        for name in [*sorted(names), *dirs]:
            full = os.path.join(here, name)
            _entry(parts, full, os.path.relpath(full, root))


def _paths(parts: _Parts, paths: Sequence[Path], scope: Scope) -> None:
    for path in paths:
        real = realpath(path)
        parts.resolved.append((str(path), real, os.path.isdir(path)))
        parts.add("path", str(path), real)
        if os.path.isdir(path):
            _tree(parts, real)
        else:
            _entry(parts, str(path), str(path))
    if scope.within is not None:  # a link out of a cluster's part: its file belongs to no cluster, or another
        for entry, _sig in parts.seen:
            if entry.startswith("->") and not _inside_any(realpath(entry[2:]), scope.within):
                raise _Unkeyable(entry[2:])


def _kustomize_inputs(paths: Sequence[Path], cwd: Path, scope: Scope, read: RootsRead | None = None) -> str:
    """The digest of every byte each kustomize directory in ``paths`` can read; _Unkeyable when one reads what the
    scope keeps out. ``read``: the roots read so far (each root read once for all the directories: the overlays of a
    cluster share its base), new ones added."""
    from generator.manifests.files import walk
    from generator.programs.kustomization import RootsRead, Unkeyable, build_inputs

    parts = _Parts()
    base = realpath(cwd)
    read = read if read is not None else RootsRead()
    for directory in (d for p in paths if os.path.isdir(p) for d in walk(p).kustomize_dirs):
        try:
            inputs = build_inputs(directory, cwd, read=read)
        except (Unkeyable, OSError) as exc:
            raise _Unkeyable(str(directory)) from exc
        if scope.within is not None or scope.fenced:
            for shown, _kind, _data in inputs.files:
                where = os.path.normpath(os.path.join(base, shown))
                if (scope.within is not None and not _inside_any(where, scope.within)) or _inside_any(
                        where, scope.fenced):
                    raise _Unkeyable(f"{directory} reads {where}")
        parts.add("kustomize", str(directory), *inputs.parts())
    return digest(*parts.parts)


def fixed_digest(repo: Path, options: Sequence[str], extra: Sequence[str] = ()) -> str | None:
    """The digest of what the verdict depends on besides files (``Key.fixed``, the same for every key of a run: gen,
    kustomize, the date, the options, the environment); None when kustomize's command cannot be keyed."""
    from generator.programs.kustomize import keyable_command, kustomize_command

    command = kustomize_command()
    if not keyable_command(command):
        return None
    env = sorted(f"{k}={v}" for k, v in os.environ.items() if k.startswith("GEN_") and k != "GEN_CACHE_DIR")
    today = (datetime.datetime.now(datetime.UTC).date().isoformat(), datetime.date.today().isoformat())
    return digest(package_digest(), tool_key(list(command)), *today, realpath(Path.cwd()),
                  realpath(repo), digest(*options), digest(*extra), digest(*env))


def verdict_key(paths: Sequence[Path], repo: Path, options: Sequence[str], extra: Sequence[str] = (),
                scope: Scope = WHOLE, read: RootsRead | None = None) -> Key | None:
    """The key of a ``gen lint`` of ``paths`` with ``options``: the digest of everything it reads and is (see the
    module's doc); None when something cannot be keyed or lies out of ``scope``. ``read``: kustomization roots read
    at this moment, shared with the keys of the builds (``kustomize.inputs_key``) taken with this one."""
    taken_ns = time.time_ns()
    fixed = fixed_digest(repo, options, extra)
    if fixed is None:
        return None
    parts = _Parts()
    try:
        _paths(parts, paths, scope)
        if scope.spec is not None:  # one cluster's part: its spec is all it reads of clusters/
            spec = repo / "clusters" / f"{scope.spec}.yaml"
            parts.add("spec", scope.spec)
            parts.resolved.append((str(spec), realpath(spec), os.path.isdir(spec)))
            _entry(parts, str(spec), f"clusters/{scope.spec}.yaml")
        for top in ("clusters", "overlays") if scope.spec is None else ():
            parts.add("repo", top)
            parts.resolved.append((str(repo / top), realpath(repo / top), os.path.isdir(repo / top)))
            if os.path.isdir(repo / top):
                _tree(parts, realpath(repo / top))
        inputs = _kustomize_inputs(paths, Path.cwd(), scope, read)
    except (_Unkeyable, RecursionError, ValueError):
        return None
    files = digest(*parts.parts)
    return Key(digest(fixed, repr(scope), files, inputs), fixed, inputs, tuple(parts.seen), tuple(parts.resolved),
               taken_ns)


def still_holds(key: Key, paths: Sequence[Path], repo: Path, options: Sequence[str], extra: Sequence[str] = (),
                scope: Scope = WHOLE) -> bool:
    """Whether ``key`` is still the key of these paths: what it read is unchanged (see the module's doc)."""
    if fixed_digest(repo, options, extra) != key.fixed:
        return False
    racy = key.taken_ns - RACY_NS
    if any(sig[4] >= racy or sig[5] >= racy for _, sig in key.seen):
        again = verdict_key(paths, repo, options, extra, scope)  # read and hash everything again
        return again is not None and again.digest == key.digest
    for path, real, is_dir in key.resolved:
        if realpath(path) != real or os.path.isdir(path) != is_dir:
            return False
    for path, sig in key.seen:
        try:
            now = os.stat(path[2:]) if path.startswith("->") else os.lstat(path)
        except OSError:
            return False
        if _signature(now) != sig:
            return False
    try:
        return _kustomize_inputs(paths, Path.cwd(), scope) == key.inputs
    except (_Unkeyable, RecursionError, ValueError):
        return False


def _cache() -> DiskCache:
    return DiskCache(cache_root(), "lint-verdicts", VERSION)


# -- parts: a lint of output/ kept cluster by cluster ---------------------------------------------------------------

_SKIPPED_DIRS = ("node_modules", "__pycache__", "venv")  # as manifests.files.walk skips them


def parts_of(paths: Sequence[Path], repo: Path) -> list[tuple[Scope, list[Path]]] | None:
    """The paths in parts, when one of them is the repo's ``output/``: each ``output/<name>/`` with a spec, a part of
    its own (``Scope.spec``), then the rest (``Scope.fenced``). None when the paths are not so split: no ``output/``
    among them, another path inside it or around it, or a file in ``output/`` itself (it is linted with the whole)."""
    output = realpath(repo / "output")
    if not any(realpath(p) == output and os.path.isdir(p) for p in paths):
        return None
    clusters: list[tuple[Scope, list[Path]]] = []
    rest: list[Path] = []
    for path in paths:
        real = realpath(path)
        if real != output:
            if _inside(real, output) or _inside(output, real):
                return None
            rest.append(path)
            continue
        try:
            names = sorted(os.listdir(path))
        except OSError:
            return None  # linted whole: it says what is wrong
        for name in names:
            entry = path / name
            try:
                mode = os.lstat(entry).st_mode
            except OSError:
                return None
            if not stat.S_ISDIR(mode):
                if name.endswith((".yaml", ".yml")) or name in KUSTOMIZATION_NAMES:
                    return None  # a manifest in output/ itself, or output/ a kustomization: linted with the whole
                continue  # not read (gen's lock file), or a link to a folder (a walk does not follow it)
            if name.startswith(".") or name in _SKIPPED_DIRS:
                continue  # never walked
            if os.path.isfile(repo / "clusters" / f"{name}.yaml"):
                # (overlays/<name>/ as a folder of the real overlays/: a link elsewhere holds files of no cluster)
                within = (realpath(entry), os.path.join(realpath(repo / "overlays"), name))
                clusters.append((Scope(spec=name, within=within), [entry]))
            else:
                rest.append(entry)
    fenced = tuple(folder for scope, _ in clusters for folder in scope.within or ())
    return [*clusters, *([(Scope(fenced=fenced), rest)] if rest else [])] if clusters else None


@dataclass(frozen=True)
class Part:
    """What linting one part found: its findings (located), the files, objects and builds it checked, the entries it
    skipped (path, why) and the releases it inferred for objects of no cluster."""

    findings: tuple[Finding, ...]
    files: int
    objects: int
    builds: int
    skipped: tuple[tuple[str, str], ...]
    inferred: tuple[str, ...]


def _parts_cache() -> DiskCache:
    return DiskCache(cache_root(), "lint-parts", PARTS_VERSION)


def kept_parts(fixed: str) -> dict[str, Any]:
    """The parts kept by the last run whose keys have ``fixed`` in common (one cache entry, authenticated): each
    part's JSON by its key's digest, read with ``part_in``."""
    entry = _parts_cache().get_json(digest("parts", fixed))
    return entry if isinstance(entry, dict) else {}


def part_in(kept: dict[str, Any], key: Key) -> Part | None:
    """The part ``kept`` holds under ``key`` (of the shape ``keep_parts`` writes), or None."""
    if key.digest not in kept:
        return None
    try:
        return _part_of(kept[key.digest])
    except (KeyError, TypeError, ValueError, AssertionError):
        return None


def _part_of(entry: Any) -> Part:
    def number(value: Any) -> int:
        assert type(value) is int and value >= 0
        return value

    def text(value: Any) -> str:
        assert isinstance(value, str)
        return value

    findings = []
    for f in entry["findings"]:
        rule, message, severity, path, file, line, column, obj = f
        assert severity in ("error", "warning") and isinstance(path, list)
        assert all(type(p) is int or isinstance(p, str) for p in path)
        findings.append(Finding(text(rule), text(message), severity, tuple(path), text(file), number(line),
                                number(column), text(obj)))
    return Part(tuple(findings), number(entry["files"]), number(entry["objects"]), number(entry["builds"]),
                tuple((text(p), text(why)) for p, why in entry["skipped"]), tuple(map(text, entry["inferred"])))


def _part_json(part: Part) -> dict[str, Any]:
    return {"findings": [[f.rule, f.message, f.severity, list(f.path), f.file, f.line, f.column, f.object]
                         for f in part.findings],
            "files": part.files, "objects": part.objects, "builds": part.builds,
            "skipped": [list(s) for s in part.skipped], "inferred": list(part.inferred)}


def keep_parts(fixed: str, parts: Sequence[tuple[Key, Part]]) -> None:
    """Keep a run's parts (each under its key's digest; those whose keys do not have ``fixed`` in common are left
    out) in one cache entry, in place of the parts the last such run kept: a fleet's parts are one file written,
    not one per cluster (on some file systems, making a file costs half a millisecond of the kernel's time)."""
    _parts_cache().put_json(digest("parts", fixed), {key.digest: _part_json(part)
                                                     for key, part in sorted(parts, key=lambda kp: kp[0].digest)
                                                     if key.fixed == fixed})


def kept(key: Key | None) -> Verdict | None:
    """The verdict kept under ``key`` (authenticated), or None."""
    entry = _cache().get_json(key.digest) if key is not None else None
    if not isinstance(entry, dict):
        return None
    stderr, stdout, code = entry.get("stderr"), entry.get("stdout"), entry.get("code")
    if not (isinstance(stderr, str) and isinstance(stdout, str) and type(code) is int and code in (0, 1)):
        return None
    return Verdict(stderr, stdout, code)


def keep(key: Key | None, verdict: Verdict) -> None:
    if key is not None and verdict.code in (0, 1):
        _cache().put_json(key.digest, {"stderr": verdict.stderr, "stdout": verdict.stdout, "code": verdict.code})
