"""Build every mode overlay of every rendered bundle with the real kustomize, as Argo CD will.

The bundles are laid out in a temporary directory that mirrors the repository: every top-level entry but
``output/`` is a link to the repository's own, so a user overlay is read in place, with the same relative paths
(``components: [../common]``) and the same load restrictor as in Argo CD's checkout. A build's result depends
only on what kustomize can read (the bundle's bytes, the whole trees of the user overlay and of the bases and
components it reaches, the kustomize command), so it is cached on disk by their digest: an unchanged cluster costs
no kustomize call on the next run or in ``gen check``. What cannot be keyed (a remote base, Helm charts, plugins: see
``kustomization.build_inputs``) is built every time.
"""

from __future__ import annotations

import json
import os
import posixpath
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from generator.cluster.model import MODES
from generator.core import layout
from generator.core.cache import DiskCache, cache_root, digest, tool_key
from generator.core.fs import scratch_dir
from generator.core.kube import Obj
from generator.core.progress import QUIET, Progress
from generator.programs import kustomize
from generator.programs.kustomization import RootsRead, Unkeyable, build_inputs, files_read
from generator.render.flux import build_dirs as flux_build_dirs
from generator.render.output import Bundle

CACHE_VERSION = 4


@dataclass(frozen=True)
class OverlayBuild:
    """``kustomize build output/<cluster>/overlays/<mode>`` (or another directory of the bundle that is built: a
    Flux step, flux/<step>): its objects, or why it failed."""

    cluster: str
    mode: str  # a mode, or the bundle directory built (flux/policy)
    objects: list[Obj]
    error: str  # "" when the build succeeded; paths in it are repo-relative

    @property
    def directory(self) -> str:
        return f"{layout.output_dir(self.cluster)}/{_relative(self.mode)}"


def _relative(unit: str) -> str:
    """The directory inside the bundle a build unit (a mode, or a directory) names."""
    return layout.mode_overlay(unit) if unit in MODES else unit


def build_units(bundle: Bundle) -> list[str]:
    """What is built of a bundle: every mode overlay, then its Flux directories (gitops: flux)."""
    return [*MODES, *flux_build_dirs(bundle.files)]


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


def _strip_leading_comments(data: bytes) -> bytes:
    """A YAML file without its leading comment lines (gen's header, which names the cluster): a comment before the
    first document is never data, so kustomize builds the same objects from what remains."""
    while data.startswith(b"#"):
        end = data.find(b"\n")
        data = b"" if end < 0 else data[end + 1:]
    return data


_KUSTOMIZATION_KEYS = {"apiVersion", "kind", "resources", "patches", "components"}


def _reads_in_bundle(bundle: Bundle, mode: str) -> list[str] | None:
    """The bundle's files that kustomize reads to build the mode overlay (its kustomization and what it includes,
    followed through the bundle's own directories), or None when a kustomization uses more than resources, patches
    and components (then every file of the bundle counts). Paths leaving the bundle (the user's overlay, a release's
    CRDs) are not followed: those inputs are keyed whole."""
    todo, seen, files = [_relative(mode)], set(), set()
    while todo:
        directory = todo.pop()
        if directory in seen:
            continue
        seen.add(directory)
        file = f"{directory}/kustomization.yaml"
        docs = bundle.objects.get(file)
        if file not in bundle.files or not docs or len(docs) != 1 or not isinstance(docs[0], dict) \
                or set(docs[0]) - _KUSTOMIZATION_KEYS:
            return None
        files.add(file)
        doc = docs[0]
        entries = [*(doc.get("resources") or []), *(doc.get("components") or [])]
        patches = doc.get("patches") or []
        if not isinstance(entries, list) or not isinstance(patches, list):
            return None
        for patch in patches:
            if not isinstance(patch, dict) or not isinstance(patch.get("path", ""), str):
                return None
            entries += [patch["path"]] if "path" in patch else []
        for entry in entries:
            if not isinstance(entry, str):
                return None
            target = posixpath.normpath(posixpath.join(directory, entry))
            if target.startswith("../") or target == "..":
                continue  # outside the bundle: keyed whole (see _mode_digest)
            if f"{target}/kustomization.yaml" in bundle.files:
                todo.append(target)
            elif target in bundle.files:
                files.add(target)
            else:
                return None  # kustomize will say what is missing; key every file
    return sorted(files)


def user_overlay_inputs(repo: Path, name: str) -> list[bytes | str]:
    """Digest parts of every byte kustomize can read through the user's overlay of ``name`` (its tree, and the trees
    of the bases and components it reaches: ``kustomization.build_inputs``), paths relative to the repository; none
    without an overlay. Unkeyable when that cannot be known, or when it reaches into output/ (whose bytes at build
    time are the staged bundles', not the ones on disk)."""
    source = repo / layout.user_overlay_dir(name)
    if not os.path.lexists(source):
        return []
    return ["\0user-overlay", *build_inputs(source, repo, outside=repo / layout.OUTPUT_DIR).parts()]


def _mode_digest(repo: Path, bundle: Bundle, mode: str, command: list[str]) -> str | None:
    """Digest of everything one mode overlay's build reads: the command, the bundle's files it includes (paths
    relative to the bundle, leading comments dropped: the cluster's name is not an input), the shared bundles the
    cluster reads and the user overlay's trees (with those of the bases and components it includes), whole. Two
    clusters whose overlays read the same bytes share one build. None when the inputs cannot all be keyed (the build
    is then neither shared nor cached)."""
    if not kustomize.keyable_command(command):
        return None
    parts: list[bytes | str] = [tool_key(command), "\0mode", mode]
    files = _reads_in_bundle(bundle, mode)
    for rel in sorted(bundle.files) if files is None else files:
        parts += [rel, _strip_leading_comments(bundle.files[rel])]
    for each in bundle.reads:
        for rel, data in sorted(each.files.items()):
            parts += [f"{layout.output_dir(each.cluster)}/{rel}", data]
    try:
        parts += user_overlay_inputs(repo, bundle.cluster)
    except (Unkeyable, OSError):
        return None
    return digest(*parts)


def build_overlays(repo: Path, bundles: Sequence[Bundle], progress: Progress = QUIET,
                   ) -> dict[tuple[str, str], OverlayBuild]:
    """Every mode overlay of every cluster's bundle, built; keyed by (cluster, mode).

    Builds are shared: overlays whose inputs have the same digest (``_mode_digest``) are built once, and cached on
    disk by it. A failed build is not shared (its message names the cluster's own paths) and not cached."""
    with prepare_overlays(repo, bundles) as prepared:
        return prepared.build(progress)


class PreparedOverlays:
    """The overlays of some bundles, ready to build (``prepare_overlays``): those kept in the cache taken from it,
    the others staged with the keys of what they read. ``build`` builds them; a context manager (the staged copy is
    removed on leaving). Prepared while an earlier set builds (``pipeline.checking``), a set's builds start when
    that set's end, with no pause for its preparation."""

    def __init__(self, repo: Path, bundles: Sequence[Bundle]) -> None:
        self.repo = repo
        self.command = kustomize.kustomize_command()
        self.cache = DiskCache(cache_root(), "kustomize", CACHE_VERSION)
        self.results: dict[tuple[str, str], OverlayBuild] = {}
        wanted: dict[str, list[tuple[Bundle, str]]] = {}  # digest -> the (bundle, mode) overlays that read it
        for bundle in bundles:
            for mode in build_units(bundle):
                key = _mode_digest(repo, bundle, mode, self.command)
                # an overlay whose inputs cannot be keyed is built on its own, and neither shared nor cached
                wanted.setdefault(key or f"unkeyed {bundle.cluster} {mode}", []).append((bundle, mode))
        self.todo: dict[str, list[tuple[Bundle, str]]] = {}
        for key, members in wanted.items():
            if not self._from_cache(key, members):
                self.todo[key] = members
        self._staged: _Staged | None = None
        if self.todo:
            firsts = [members[0] for members in self.todo.values()]
            self._staged = _Staged(repo, firsts, self.command, [m for ms in self.todo.values() for m in ms[1:]])

    def _from_cache(self, key: str, members: list[tuple[Bundle, str]]) -> bool:
        payload = self.cache.get(key) if not key.startswith("unkeyed ") else None
        return payload is not None and _share(payload, members, self.results)

    def __enter__(self) -> PreparedOverlays:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove the staged copy."""
        if self._staged is not None:
            self._staged.close()

    def build(self, progress: Progress = QUIET) -> dict[tuple[str, str], OverlayBuild]:
        """Build what the cache did not hold when prepared (a build an earlier set made since is taken from the
        cache); each build kept under its key only if what it read outside the staged copy (a user overlay) is
        unchanged after it ran."""
        staged = self._staged
        if staged is None:
            return self.results
        todo = {key: members for key, members in self.todo.items() if not self._from_cache(key, members)}
        if todo:
            progress.phase("kustomize builds", len(todo))
            firsts = staged.build([members[0] for members in todo.values()], progress.advance)
            progress.done()
            self._built(todo, firsts, staged)
        return self.results

    def _built(self, todo: dict[str, list[tuple[Bundle, str]]], firsts: list[OverlayBuild], staged: _Staged) -> None:
        failed: list[tuple[Bundle, str]] = []
        for (key, members), result in zip(todo.items(), firsts, strict=True):
            if result.error:
                self.results[(members[0][0].cluster, members[0][1])] = result
                failed += members[1:]
                continue
            payload = json.dumps(result.objects, separators=(",", ":")).encode("utf-8")
            if not key.startswith("unkeyed ") and staged.still_holds(key, members):
                self.cache.put(key, payload)
                kustomize.keep_builds([staged.keys.get((bundle.cluster, mode)) for bundle, mode in members],
                                      payload)
            _share(payload, members, self.results)
        if failed:  # each gets its own build and message
            with _Staged(self.repo, failed, self.command) as alone:
                for (bundle, mode), result in zip(failed, alone.build(failed), strict=True):
                    self.results[(bundle.cluster, mode)] = result


def prepare_overlays(repo: Path, bundles: Sequence[Bundle]) -> PreparedOverlays:
    """The overlays of ``bundles``, ready to build (``PreparedOverlays``)."""
    return PreparedOverlays(repo, bundles)


def _share(payload: bytes, members: list[tuple[Bundle, str]], results: dict[tuple[str, str], OverlayBuild]) -> bool:
    """Give every member the build's objects (each its own copy: checks may hold on to them); False when the
    payload is not a cached build."""
    try:
        first = json.loads(payload)
    except ValueError:
        return False
    if not isinstance(first, list):
        return False
    for index, (bundle, mode) in enumerate(members):
        objects = first if index == 0 else json.loads(payload)
        results[(bundle.cluster, mode)] = OverlayBuild(bundle.cluster, mode, objects, "")
    return True


def _staged_copy(repo: Path, bundles: list[Bundle]) -> tempfile.TemporaryDirectory[str]:
    """A private directory with ``bundles`` staged in it (``_stage``): in memory when it can be (``scratch_dir``),
    else, or when that fails (a full or unwritable tmpfs), where tempfile puts it."""
    where = scratch_dir()
    if where is not None:
        try:
            return _staged_in(repo, bundles, where)
        except OSError:
            pass  # laid out again below
    return _staged_in(repo, bundles, None)


def _staged_in(repo: Path, bundles: list[Bundle], where: str | None) -> tempfile.TemporaryDirectory[str]:
    tmp = tempfile.TemporaryDirectory(prefix="gen-stage-", dir=where)
    try:
        _stage(repo, bundles, Path(tmp.name))
    except BaseException:
        tmp.cleanup()
        raise
    return tmp


class _Staged:
    """Overlays staged to build with kustomize, in a copy of the repository (``_stage``), with the key ``gen lint``
    gives each of them and of the ``alike`` overlays (which read what one of them reads, ``_mode_digest``) once
    written (``kustomize.inputs_key``, taken from the staged bytes before the build), so that gen lint finds the
    builds of output/ made already. A user overlay, reached through the staged link to the repository's overlays/,
    is shown at its path through the link: where it is beside output/ in the repository. A directory whose staged
    tree is not laid out as output/ will be (a root reached through a link that leaves the repository, or back into
    its output/) gets another key there: gen lint builds it itself."""

    def __init__(self, repo: Path, overlays: list[tuple[Bundle, str]], command: list[str],
                 alike: Sequence[tuple[Bundle, str]] = ()) -> None:
        self.repo, self.command = repo, command
        staged = {bundle.cluster: bundle for bundle, _ in [*overlays, *alike]}
        self._tmp = _staged_copy(repo, list(staged.values()))
        try:
            self.root = Path(self._tmp.name)
            read = RootsRead()
            self.real_root = real_root = Path(os.path.realpath(self.root))  # the frame build_inputs shows paths in
            targets = {real_root / entry.name: Path(os.path.realpath(entry)) for entry in self.root.iterdir()
                       if entry.is_symlink()}  # (a link to / or above the staging directory is no folder of the repo)
            self.links = sorted(((link, target) for link, target in targets.items()
                                 if not real_root.is_relative_to(target)),
                                key=lambda pair: (-len(pair[1].parts), str(pair[0])))
            self.keys = {(bundle.cluster, mode): kustomize.inputs_key(self._where(bundle, mode), command, read,
                                                                      self.links)
                         for bundle, mode in [*overlays, *alike]}
        except BaseException:
            self._tmp.cleanup()
            raise

    def _where(self, bundle: Bundle, mode: str) -> Path:
        return self.root / layout.output_dir(bundle.cluster) / _relative(mode)

    def __enter__(self) -> _Staged:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._tmp.cleanup()

    def build(self, overlays: list[tuple[Bundle, str]], done: Callable[[], None] | None = None,
              ) -> list[OverlayBuild]:
        """These staged overlays built with kustomize, in parallel."""
        dirs = [self._where(bundle, mode) for bundle, mode in overlays]
        out = []
        # paths in errors as kustomize was given them, or resolved (a staging directory behind a link)
        prefixes = [f"{prefix}/" for prefix in dict.fromkeys((self.root, self.real_root, os.path.realpath(self.repo)))]
        for (bundle, mode), result in zip(overlays, kustomize.build_many(dirs, self.command, done), strict=True):
            error = result.error
            for prefix in prefixes:
                error = error.replace(prefix, "")
            out.append(OverlayBuild(bundle.cluster, mode, result.objects, error))
        return out

    def still_holds(self, key: str, members: list[tuple[Bundle, str]]) -> bool:
        """Whether what the members' builds read outside the staged copy (a user overlay, through the staged link,
        and what it reaches) is what their keys were taken from: the build's key and gen lint's, taken again."""
        return all(_mode_digest(self.repo, bundle, mode, self.command) == key
                   and kustomize.inputs_key(self._where(bundle, mode), self.command, links=self.links)
                   == self.keys.get((bundle.cluster, mode))
                   for bundle, mode in members if os.path.lexists(self.repo / layout.user_overlay_dir(bundle.cluster)))
