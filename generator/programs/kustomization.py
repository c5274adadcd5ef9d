"""What a kustomization reads. ``build_inputs``: every byte a build can read (the whole trees of the kustomization
roots it reaches), for the keys of build caches and records, or why that cannot be known. ``files_read`` and
``inputs_of``: its resources, patches, bases and components, followed through local bases and components
(kustomize's load restrictor: nothing outside the kustomization's root, nothing absolute, remote entries left to
kustomize), for ``gen lint`` and the checks to find the files behind a built object."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from generator.core.errors import InputError
from generator.core.fs import MAX_FILE_BYTES, file_kind, read_regular, realpath
from generator.core.kube import KUSTOMIZATION_NAMES
from generator.yamlio.load import YamlInputError, load_documents

MAX_BYTES = MAX_FILE_BYTES


def kustomization_file(directory: FsPath) -> FsPath | None:
    for name in KUSTOMIZATION_NAMES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


@dataclass
class Kustomization:
    directory: FsPath
    kind: str
    resources: list[FsPath]  # files (objects)
    patches: list[FsPath]  # files (partial objects)
    bases: list[FsPath]  # directories (resources and components)


def real_path(path: FsPath) -> FsPath:
    return FsPath(realpath(path))  # a link loop stays unresolved instead of raising


def _entry_path(directory: FsPath, entry: str) -> FsPath:
    """``real_path(directory / entry)`` for a ``directory`` already real: a plain name that is not a link is that
    name in it (one lstat, not one per component of the path); anything else is resolved in full."""
    if "/" not in entry and entry not in ("", ".", ".."):
        path = directory / entry
        try:
            if not stat.S_ISLNK(os.lstat(path).st_mode):
                return path
        except OSError:
            return path  # missing: realpath would give the same path
    return real_path(directory / entry)


def read_kustomization(directory: FsPath, cache: dict[FsPath, Kustomization | None]) -> Kustomization | None:
    """The kustomization of ``directory`` (None without one, or when it does not parse: kustomize reports that).
    Absolute and remote entries are left out (kustomize refuses the first and fetches the second), and so are
    files outside ``directory``: kustomize's load restrictor refuses them, so gen never reads them either."""
    if directory in cache:  # a real path already read
        return cache[directory]
    directory = real_path(directory)
    if directory in cache:
        return cache[directory]
    cache[directory] = None
    file = kustomization_file(directory)
    if file is None:
        return None
    try:
        docs = load_documents(read_regular(file, MAX_BYTES, str(file)), str(file), positions=False, shared=True)
    except (InputError, YamlInputError):
        return None
    raw: dict[str, Any] = docs[0].value if docs and isinstance(docs[0].value, dict) else {}
    files: list[FsPath] = []
    patches: list[FsPath] = []
    bases: list[FsPath] = []
    for entry in [*_strings(raw.get("resources")), *_strings(raw.get("components")), *_strings(raw.get("bases"))]:
        if "://" in entry or entry.startswith(("github.com/", "/")):
            continue  # remote (kustomize fetches it) or absolute (kustomize refuses it)
        target = _entry_path(directory, entry)
        if target.is_dir():
            bases.append(target)
        elif target.is_relative_to(directory):
            files.append(target)
    patch_entries: list[Any] = [p.get("path") for p in raw.get("patches") or [] if isinstance(p, dict)]
    patch_entries += [p.get("path") for p in raw.get("patchesJson6902") or [] if isinstance(p, dict)]
    patch_entries += list(_strings(raw.get("patchesStrategicMerge")))
    for entry in patch_entries:
        if isinstance(entry, str) and "\n" not in entry and not entry.startswith("/"):
            target = _entry_path(directory, entry)
            if target.is_relative_to(directory):
                patches.append(target)
    kind = raw["kind"] if isinstance(raw.get("kind"), str) else "Kustomization"
    cache[directory] = Kustomization(directory, kind, files, patches, bases)
    return cache[directory]


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _special(path: FsPath) -> str | None:
    """What ``path`` is when a program opening it could wait or read without end (links followed)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None  # missing or unreadable: kustomize says so
    return None if stat.S_ISREG(mode) or stat.S_ISDIR(mode) else file_kind(mode)


def blocking_input(directory: FsPath) -> str | None:
    """Why ``kustomize build directory`` must not run: a kustomization file, resource or patch it opens (local bases
    and components followed) is a FIFO, on which kustomize would wait until gen's timeout, or a device it would read
    without end; None when there is none."""
    for current, k in _reached(directory, {}):
        candidates = [current / name for name in KUSTOMIZATION_NAMES]
        candidates += [*k.resources, *k.patches] if k is not None else []
        for path in candidates:
            what = _special(path)
            if what is not None:
                return f"{path} is {what}, not a regular file: kustomize would wait on it or read it without end; " \
                       "replace it with a file or remove it"
    return None


def _reached(directory: FsPath, cache: dict[FsPath, Kustomization | None],
             ) -> Iterator[tuple[FsPath, Kustomization | None]]:
    """Each directory a build of ``directory`` reaches (it, and its local bases and components, followed), once,
    with its kustomization (None without one)."""
    stack, seen = [real_path(directory)], set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        k = read_kustomization(current, cache)
        yield current, k
        stack += k.bases if k is not None else []


def files_read(directory: FsPath) -> list[FsPath]:
    """The files behind the objects of ``kustomize build directory``: the kustomization files of it and of the bases
    and components it includes, and their resources and patches (where a finding on a built object is placed; not
    everything the build reads: a cache key is made of ``build_inputs``)."""
    cache: dict[FsPath, Kustomization | None] = {}
    resources, patches = inputs_of(directory, cache)
    kustomizations = [f for d in cache if (f := kustomization_file(d)) is not None]
    return sorted(set(kustomizations) | set(resources) | set(patches))


def inputs_of(directory: FsPath, cache: dict[FsPath, Kustomization | None]) -> tuple[list[FsPath], list[FsPath]]:
    """(resource files, patch files) a kustomize directory reads, following local bases and components."""
    resources: list[FsPath] = []
    patches: list[FsPath] = []
    for _directory, k in _reached(directory, cache):
        if k is not None:
            resources += [f for f in k.resources if f.is_file()]
            patches += [f for f in k.patches if f.is_file()]
    return list(dict.fromkeys(resources)), list(dict.fromkeys(patches))


# -- everything a build can read, for cache keys ----------------------------------------------------------------
#
# kustomize (v5.6, as kubectl v1.33 embeds it) reads, for a kustomization root: its kustomization file; files named by
# resources, components, bases, crds, configurations, openapi.path, patches/patchesJson6902/replacements[].path,
# patchesStrategicMerge, configMapGenerator/secretGenerator files/envs/env, the generator/transformer/validator
# configurations (files, or inline) and the files *they* name (a PatchTransformer's path, a ConfigMapGenerator's
# files); and the directories named by resources, components, bases (each a root of its own). Its load restrictor
# lets a root read files only below it (links resolved first), so every byte a build can read is in the trees of its
# roots: a build is keyed by every file (and link) in them, by path and bytes, not by the files its fields name.
# What cannot be keyed that way is never cached: a remote base or file (git, http), Helm charts (helm may fetch
# them), plugins that are not kustomize's builtins (they run programs), a field kustomize v5.6 does not know, a tree
# holding a FIFO or a device, or one larger than the bounds.

_NO_FILES = {"apiVersion", "kind", "metadata", "namePrefix", "nameSuffix", "namespace", "commonLabels", "labels",
             "commonAnnotations", "images", "imageTags", "replicas", "vars", "sortOptions", "generatorOptions",
             "buildMetadata"}
_ROOTS = ("resources", "components", "bases")  # files, or directories: kustomization roots of their own
_PLUGINS = ("generators", "transformers", "validators")  # configuration files, or inline configurations
_FILES = ("crds", "configurations", "patchesStrategicMerge")  # files (patchesStrategicMerge: or inline patches)
_PATHS = ("patches", "patchesJson6902", "replacements")  # [{path: file}] (or inline)
_GENERATED = ("configMapGenerator", "secretGenerator")  # files ([key=]path), envs, env: read as data
_HELM = ("helmCharts", "helmGlobals", "helmChartInflationGenerator")
FIELDS = frozenset({*_NO_FILES, *_ROOTS, *_PLUGINS, *_FILES, *_PATHS, *_GENERATED, *_HELM, "openapi"})
# kustomize's remote forms: a URL (http, https, ssh, file, git), go-getter's git::, github.com/..., user@host:path
_REMOTE = re.compile(r"^\s*(git::|[a-z][a-z0-9+.-]*://|github\.com|[^/]*@)", re.IGNORECASE)
MAX_TREE_FILES = 5000
MAX_TREE_BYTES = 64 * 1024 * 1024


class Unkeyable(Exception):
    """What a build reads cannot all be keyed (the message says why): it is never cached."""


@dataclass(frozen=True)
class BuildInputs:
    """Every file, directory and link a kustomize build can read: (path relative to the key's base, "file", "dir" or
    "link", its bytes or the link's target), sorted; ``as_data``: some kustomization reads files as data (a
    generator), so a file's comments are part of what it reads."""

    files: tuple[tuple[str, str, bytes], ...]
    as_data: bool

    def parts(self, strip_comments: Callable[[bytes], bytes] | None = None) -> list[bytes | str]:
        """The entries as digest parts; a file's bytes through ``strip_comments`` unless some kustomization reads
        files as data."""
        strip = None if self.as_data else strip_comments
        parts: list[bytes | str] = []
        for shown, kind, data in self.files:
            parts += [shown, kind, strip(data) if strip is not None and kind == "file" else data]
        return parts


@dataclass(frozen=True)
class _Root:
    """One kustomization root as ``build_inputs`` reads it: its tree (path relative to the root -> kind, bytes), the
    roots its kustomization names, and whether that reads files as data."""

    files: dict[str, tuple[str, bytes]]
    named: list[FsPath]
    as_data: bool


class RootsRead:
    """Roots already read, by real path, for the other builds keyed at the same moment (the directories of one key,
    or of one run's keys: each overlay of a cluster reaches the same base). It holds at most ``MAX_TREE_BYTES`` of
    their files (a root past that is read again when reached again), so keying many large trees holds no more than
    keying one."""

    def __init__(self) -> None:
        self.roots: dict[FsPath, _Root] = {}
        self.held = 0

    def get(self, root: FsPath) -> _Root | None:
        return self.roots.get(root)

    def keep(self, root: FsPath, read: _Root) -> None:
        size = sum(len(data) for _kind, data in read.files.values())
        if self.held + size <= MAX_TREE_BYTES:
            self.roots[root] = read
            self.held += size


def build_inputs(directory: FsPath, base: FsPath, outside: FsPath | None = None,
                 read: RootsRead | None = None, links: Sequence[tuple[FsPath, FsPath]] = ()) -> BuildInputs:
    """Every byte ``kustomize build directory`` can read: the whole tree of each kustomization root it reaches
    (paths relative to ``base``). Unkeyable when that cannot be known (see above), or when a root lies in
    ``outside`` (a directory whose bytes at build time are not the ones on disk). ``read``: the roots read for the
    other directories keyed with this one, reused (and this one's added). ``links``: (link, its real target) of
    folders linked beside ``base``'s tree: a root below a target is shown at its path through the link, the one
    kustomize was given (gen bundle's staged copy of the repository, whose folders but output/ are links to the
    repository's own: a user overlay is then shown where it is in the repository)."""
    walker = _TreeWalker(FsPath(realpath(base)))
    roots, seen = [real_path(directory)], set()
    fenced = real_path(outside) if outside is not None else None
    while roots:
        root = roots.pop()
        if root in seen:
            continue
        seen.add(root)
        if fenced is not None and root.is_relative_to(fenced):
            raise Unkeyable(f"{walker.shown(root)}: a kustomization in {walker.shown(fenced)}")
        known = read.get(root) if read is not None else None
        if known is None:
            known = _read_root(root)
            if read is not None:
                read.keep(root, known)
        walker.take(_through(root, links), known)
        roots += known.named
    return BuildInputs(tuple((shown, *entry) for shown, entry in sorted(walker.files.items())), walker.as_data)


def _through(root: FsPath, links: Sequence[tuple[FsPath, FsPath]]) -> FsPath:
    """``root`` at its path through the first of ``links`` whose target holds it (itself when none does; the caller
    puts the deepest targets first)."""
    for link, target in links:
        if root.is_relative_to(target):
            return link / root.relative_to(target)
    return root


def _read_root(root: FsPath) -> _Root:
    """The tree of ``root`` and what its kustomization names (Unkeyable: see ``_named_roots``)."""
    walker = _TreeWalker(root)
    walker.walk(root)
    doc = _kustomization_doc(root)
    named = _named_roots(root, doc, walker) if doc is not None else []
    return _Root(walker.files, named, walker.as_data)


def _kustomization_doc(root: FsPath) -> dict[str, Any] | None:
    """The kustomization of ``root`` as data (None when there is none or it does not parse: kustomize fails)."""
    file = kustomization_file(root)
    if file is None:
        return None
    try:
        docs = load_documents(read_regular(file, MAX_BYTES, str(file)), str(file), positions=False, shared=True)
    except (InputError, YamlInputError):
        return None
    return docs[0].value if docs and isinstance(docs[0].value, dict) else None


class _TreeWalker:
    """The files and links of kustomization roots, by path relative to ``base``, within the bounds."""

    def __init__(self, base: FsPath) -> None:
        self.base = base
        self.files: dict[str, tuple[str, bytes]] = {}
        self.total = 0
        self.as_data = False

    def shown(self, path: FsPath | str) -> str:
        return os.path.relpath(path, self.base)

    def walk(self, root: FsPath) -> None:
        for here, dirs, names in os.walk(root, onerror=self._unreadable):
            dirs.sort()
            shown_here = self.shown(here)  # once a directory: each entry's is this joined with its name
            for name in [*dirs, *sorted(names)]:
                self._add(FsPath(here) / name, name if shown_here == "." else f"{shown_here}/{name}")

    def _unreadable(self, exc: OSError) -> None:
        raise Unkeyable(f"{self.shown(exc.filename or '?')}: cannot be listed ({exc.strerror})")

    def take(self, path: FsPath, root: _Root) -> None:
        """Add the entries of the root at ``path``, read on its own (within the same bounds, for all the trees
        together), each at its path relative to the base."""
        prefix = self.shown(path)
        # below the base, or the base itself: the path within the root joined to the root's (else, when the root
        # holds the base, some entries' paths run through it: each is worked out in full)
        joined = not self.base.is_relative_to(path) or path == self.base
        for rel, entry in root.files.items():
            shown = (rel if prefix == "." else f"{prefix}/{rel}") if joined else self.shown(path / rel)
            if shown not in self.files:
                self._within_bounds(shown)
                self.files[shown] = entry
                self.total += len(entry[1]) if entry[0] == "file" else 0
        self.as_data = self.as_data or root.as_data

    def _within_bounds(self, shown: str) -> None:
        if len(self.files) >= MAX_TREE_FILES or self.total > MAX_TREE_BYTES:
            raise Unkeyable(f"{shown}: the kustomization trees hold more than {MAX_TREE_FILES} files or "
                            f"{MAX_TREE_BYTES:,} bytes")

    def _add(self, path: FsPath, shown: str) -> None:
        if shown in self.files:
            return
        self._within_bounds(shown)
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode):
            self.files[shown] = ("link", os.fsencode(os.readlink(path)))
        elif stat.S_ISDIR(mode):
            self.files[shown] = ("dir", b"")
        elif stat.S_ISREG(mode):
            try:
                data = read_regular(path, MAX_BYTES, shown)
            except InputError as exc:
                raise Unkeyable(str(exc)) from None
            self.total += len(data)
            self.files[shown] = ("file", data)
        else:
            raise Unkeyable(f"{shown}: not a regular file (a FIFO, a device or a socket)")


def _remote(entry: str) -> bool:
    return bool(_REMOTE.match(entry))


def _named_roots(root: FsPath, doc: dict[str, Any], walker: _TreeWalker) -> list[FsPath]:
    """The directories ``doc`` (the kustomization of ``root``) names as roots; Unkeyable when a field reads what
    the trees do not hold."""
    where = walker.shown(kustomization_file(root) or root)
    roots: list[FsPath] = []
    for field_name, value in doc.items():
        if field_name in _NO_FILES:
            continue
        if field_name not in FIELDS:
            raise Unkeyable(f"{where}: field {field_name!r} is not one kustomize v5.6 knows")
        if field_name in _HELM:
            raise Unkeyable(f"{where}: {field_name} runs helm, which may fetch the chart")
        for entry in _named_paths(field_name, value):
            if "\n" not in entry and _remote(entry):  # (not an inline patch or configuration)
                raise Unkeyable(f"{where}: {field_name} names {entry!r}, a remote file or base")
            target = _entry_path(root, entry)
            if field_name in _ROOTS and target.is_dir():
                roots.append(target)
        if field_name in _PLUGINS:
            walker.as_data = True
            for entry in _strings(value):
                _check_plugin(root, entry, where, field_name)
        elif field_name in _GENERATED:
            walker.as_data = True
    return roots


def _named_paths(field_name: str, value: Any) -> list[str]:
    """The paths (or inline text) a field names."""
    if field_name in (*_ROOTS, *_PLUGINS, *_FILES):
        return _strings(value)
    items = value if isinstance(value, list) else []
    if field_name in _PATHS:
        return [item["path"] for item in items if isinstance(item, dict) and isinstance(item.get("path"), str)]
    if field_name == "openapi":
        return [value["path"]] if isinstance(value, dict) and isinstance(value.get("path"), str) else []
    found: list[str] = []  # configMapGenerator, secretGenerator
    for item in items:
        if isinstance(item, dict):
            found += [f.partition("=")[2] or f for f in _strings(item.get("files"))]
            found += _strings(item.get("envs")) + ([item["env"]] if isinstance(item.get("env"), str) else [])
    return found


def _check_plugin(root: FsPath, entry: str, where: str, field_name: str) -> None:
    """A generator, transformer or validator configuration (a file in the tree, or inline) is one of kustomize's
    builtins, naming nothing remote; Unkeyable otherwise."""
    target = real_path(root / entry) if "\n" not in entry else None
    if target is not None and target.is_dir():
        raise Unkeyable(f"{where}: {field_name} names the directory {entry!r} (configurations built by kustomize)")
    try:
        data = read_regular(target, MAX_BYTES, str(target)) if target is not None and target.is_file() \
            else entry.encode("utf-8")
        docs = [doc.value for doc in load_documents(data, where)]
    except (InputError, YamlInputError):
        return  # kustomize cannot read it either: the build fails, and failures are never cached
    for doc in docs:
        if not isinstance(doc, dict):
            continue
        if doc.get("apiVersion") != "builtin" or doc.get("kind") == "HelmChartInflationGenerator":
            raise Unkeyable(f"{where}: {field_name} configures {doc.get('kind')!r} ({doc.get('apiVersion')!r}), "
                            "not one of kustomize's builtins that read only local files")
        if any("://" in text for text in _all_strings(doc)):  # a builtin loads only http(s) URLs
            raise Unkeyable(f"{where}: {field_name} configuration {doc.get('kind')!r} names a remote file")


def _all_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _all_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _all_strings(v)]
    return []
