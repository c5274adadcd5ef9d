"""``gen lint PATH...``: collect files, build kustomize directories, check everything as units."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from generator.check.bundles import KUSTOMIZE_BUILD
from generator.check.engine import Checker, Item, Unit, built_locator, locate
from generator.cluster.model import Pool
from generator.core.errors import InputError
from generator.core.finding import Finding, JsonPath
from generator.core.objects import as_dict, as_str
from generator.core.rules import Rule
from generator.manifests.files import (
    LINT_DIRECTIVE,
    NOT_AN_OBJECT,
    YAML_DUPLICATE_KEY,
    YAML_SYNTAX,
    YAML_TOO_LARGE,
    LoadedFile,
    display_path,
    load_file,
    walk,
)
from generator.programs import kustomize
from generator.programs.kustomization import Kustomization, inputs_of, kustomization_file, read_kustomization, real_path
from generator.render.flux import CHAIN_FILE, FLUX_DIR
from generator.yamlio.load import Document

_YAML_RULES = {"syntax": YAML_SYNTAX, "duplicate-key": YAML_DUPLICATE_KEY, "too-large": YAML_TOO_LARGE}


@dataclass
class LintResult:
    findings: list[Finding]
    files: int = 0
    objects: int = 0
    builds: int = 0
    notes: list[str] = field(default_factory=list)
    checker: Checker | None = None  # what checked them (its release)
    skipped: list[tuple[FsPath, str]] = field(default_factory=list)  # in the directories: not regular files

    @property
    def errors(self) -> int:
        return sum(f.severity == "error" for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity == "warning" for f in self.findings)


def _is_object(value: Any) -> bool:
    return isinstance(value, dict) and ("apiVersion" in value or "kind" in value)


def _file_finding(loaded: LoadedFile, rule: Rule, message: str, line: int = 0, column: int = 0) -> Finding | None:
    if rule.id in loaded.disabled or "all" in loaded.disabled:
        return None
    return rule.in_file(loaded.display, message, line, column)


def _doc_locator(loaded: LoadedFile, doc: Document) -> Any:
    def locate(path: JsonPath) -> tuple[str, int, int, frozenset[str]]:
        line, column = doc.position(path)
        return loaded.display, line, column, loaded.disabled

    return locate


class _Collector:
    def __init__(self, base: FsPath):
        self.base = base
        self.files: dict[FsPath, LoadedFile] = {}
        self.cache: dict[FsPath, Kustomization | None] = {}
        self.items: list[Item] = []
        self.by_file: dict[FsPath, list[int]] = {}
        self.findings: list[Finding] = []
        self.reals: dict[FsPath, FsPath] = {}  # each path's real path, resolved once per collection

    def real(self, path: FsPath) -> FsPath:
        if path not in self.reals:
            self.reals[path] = real_path(path)
        return self.reals[path]

    def load(self, path: FsPath, role: str = "") -> LoadedFile:
        key = self.real(path)
        if key not in self.files:
            self.files[key] = load_file(path, display_path(path, self.base))
        if role:
            self.files[key].role = role
        return self.files[key]

    def add(self, finding: Finding | None) -> None:
        if finding is not None:
            self.findings.append(finding)

    def items_of(self, loaded: LoadedFile) -> list[int]:
        key = self.real(loaded.path)
        if key in self.by_file:
            return self.by_file[key]
        indices: list[int] = []
        self.by_file[key] = indices
        if loaded.error is not None:
            err = loaded.error
            self.add(_file_finding(loaded, _YAML_RULES[err.kind], err.message, err.line or 0, err.column or 0))
        for line, rule in loaded.bad_directives:
            self.add(_file_finding(loaded, LINT_DIRECTIVE, f"unknown rule id {rule!r} in a gen-lint comment; "
                                   "see gen lint --list-rules", line, 1))
        if loaded.role == "kustomization":
            return indices
        objects = [doc for doc in loaded.docs if _is_object(doc.value)]
        for doc in loaded.docs:
            if not _is_object(doc.value) and objects and loaded.role == "object":
                self.add(_file_finding(loaded, NOT_AN_OBJECT, "this document is not a Kubernetes object (no "
                                       "apiVersion or kind); remove it or move it to another file", doc.line, 1))
        for doc in objects:
            indices.append(len(self.items))
            self.items.append(Item(doc.value, loaded.display, _doc_locator(loaded, doc), loaded.role == "patch",
                                   loaded.disabled, doc))
        return indices

    def built_items(self, result: kustomize.BuildResult, sources: list[int]) -> list[int]:
        index: dict[tuple[str, str], list[Item]] = {}
        for i in sources:
            obj = self.items[i].obj
            index.setdefault((as_str(obj.get("kind")), as_str(as_dict(obj.get("metadata")).get("name"))), []).append(
                self.items[i])
        k_file = kustomization_file(result.directory)
        fallback = display_path(k_file or result.directory, self.base)
        out = []
        for obj in result.objects:
            key = (as_str(obj.get("kind")), as_str(as_dict(obj.get("metadata")).get("name")))
            out.append(len(self.items))
            self.items.append(Item(obj, fallback, built_locator(index.get(key, []), fallback)))
        return out

    def build_failed(self, directory: FsPath, error: str) -> None:
        """A failed kustomize build: a finding on its kustomization file (loaded for that)."""
        k_file = kustomization_file(directory)
        if k_file:
            self.add(_file_finding(self.load(k_file), KUSTOMIZE_BUILD, f"kustomize build failed: {error}", 1, 1))


@dataclass(frozen=True, eq=False)
class SpecContext:
    """What a cluster spec tells the checks of its objects: the InfiniBand NICs a node has (what a pod may ask for;
    None: unknown), and its node pools (``pools``). Compared by identity: one per cluster spec."""

    nics: int | None = None
    pools: tuple[Pool, ...] = ()


PerFile = Callable[[FsPath], "tuple[Checker, SpecContext] | None"]


@dataclass
class Collected:
    """What ``gen lint`` checks: every object (loose, kustomize inputs, built) with how to locate it, the units
    checked together, and what was found about files before any check ran."""

    items: list[Item]
    units: list[Unit]
    findings: list[Finding]
    files: int
    builds: int
    kustomize_dirs: list[FsPath]  # every kustomization directory read, with the bases and components it includes
    origin: dict[int, FsPath]  # item index -> the file or kustomize directory it comes from (real path)
    skipped: list[tuple[FsPath, str]] = field(default_factory=list)  # in the directories: not regular files


_Buildable = tuple[FsPath, list[FsPath], list[FsPath]]  # a kustomize directory to build, its resources and patches


def collect(paths: list[FsPath], *, base: FsPath, build: bool = True, missing_ok: bool = False) -> Collected:
    """Collect files and directories, building kustomize directories; raises InputError for paths that do not exist
    (``missing_ok``: they are left out)."""
    c = _Collector(base)
    explicit, kustomize_dirs, skipped = _expand(paths, missing_ok=missing_ok)
    inputs, buildable = _read_kustomize_dirs(c, kustomize_dirs)
    for file in explicit:
        k = read_kustomization(file.parent, c.cache)
        c.load(file, "patch" if k is not None and c.real(file) in k.patches else "")
    loose = _load_items(c, inputs, buildable)
    origin: dict[int, FsPath] = {i: key for key, indices in c.by_file.items() for i in indices}
    units: list[Unit] = _build_units(c, buildable, origin) if build and buildable else []
    builds = len(units)
    everything = [i for i, item in enumerate(c.items) if not item.patch]
    if loose:
        units.insert(0, (loose, everything))
    return Collected(c.items, units, c.findings, len(c.files), builds,
                     [d for d, k in c.cache.items() if k is not None], origin, skipped)


def _expand(paths: list[FsPath], *, missing_ok: bool,
            ) -> tuple[list[FsPath], list[FsPath], list[tuple[FsPath, str]]]:
    """(the files to lint, the kustomize directories, what the directories hold that is not a regular file) the paths
    name: a directory walked, anything else a file."""
    explicit: list[FsPath] = []
    kustomize_dirs: list[FsPath] = []
    skipped: list[tuple[FsPath, str]] = []
    for path in paths:
        if path.is_dir():
            walked = walk(path)
            explicit += walked.files
            kustomize_dirs += walked.kustomize_dirs
            skipped += walked.skipped
        elif os.path.lexists(path):
            explicit.append(path)  # reading it says what is wrong with it (a FIFO, a device, a link loop)
        elif not missing_ok:
            raise InputError(f"{path}: no such file or directory")
    return explicit, kustomize_dirs, skipped


def _read_kustomize_dirs(c: _Collector, kustomize_dirs: list[FsPath]) -> tuple[set[FsPath], list[_Buildable]]:
    """The kustomize inputs (possibly outside the given paths), with the patches loaded as such; and the
    directories to build (every one but a Component)."""
    inputs: set[FsPath] = set()
    buildable: list[_Buildable] = []
    for directory in dict.fromkeys(real_path(d) for d in kustomize_dirs):
        resources, patches = inputs_of(directory, c.cache)
        inputs.update(resources)
        inputs.update(patches)
        for patch in patches:
            c.load(patch, "patch")
        k = read_kustomization(directory, c.cache)
        if k is not None and k.kind != "Component":
            buildable.append((directory, resources, patches))
    return inputs, buildable


def _load_items(c: _Collector, inputs: set[FsPath], buildable: list[_Buildable]) -> list[int]:
    """Make items of the objects of every file loaded, then of the resources to build; returns the loose ones (of
    files no kustomization reads)."""
    loose: list[int] = []
    for key, loaded in list(c.files.items()):
        indices = c.items_of(loaded)
        if key not in inputs:
            loose += indices
    for _directory, resources, _patches in buildable:
        for f in resources:
            c.items_of(c.load(f))
    return loose


def _build_units(c: _Collector, buildable: list[_Buildable], origin: dict[int, FsPath]) -> list[Unit]:
    """Build the kustomize directories: each build that succeeds is a unit of its own (its items' origin the
    directory); one that fails is a finding on its kustomization file."""
    units: list[Unit] = []
    results = kustomize.build_many_cached([d for d, _, _ in buildable])
    for (directory, resources, patches), built in zip(buildable, results, strict=True):
        if built.error:
            c.build_failed(directory, built.error)
            continue
        sources = [i for f in [*resources, *patches] for i in c.by_file.get(c.real(f), [])]
        members = c.built_items(built, sources)
        origin.update((i, directory) for i in members)
        units.append((members, members))
    return _flux_chains(units, [d for (d, _, _), built in zip(buildable, results, strict=True) if not built.error])


def _flux_chains(units: list[Unit], directories: list[FsPath]) -> list[Unit]:
    """The steps of one Flux chain (gen's ``output/<name>/flux/<step>/``, beside the ``kustomizations.yaml`` that
    applies them all to one cluster) see each other's objects: the verify Job of one step names the IPoIB network of
    another, as the cluster will hold both. Every other build is its own context."""
    chain_of = {i: d.parent for i, d in enumerate(directories)
                if d.parent.name == FLUX_DIR and (d.parent / CHAIN_FILE.split("/", 1)[1]).is_file()}
    together: dict[FsPath, list[int]] = {}
    for i, parent in chain_of.items():
        together.setdefault(parent, []).extend(units[i][0])
    return [(members, together[chain_of[i]]) if i in chain_of else (members, context)
            for i, (members, context) in enumerate(units)]


def lint_paths(paths: list[FsPath], checker: Checker | Callable[[list[Any]], Checker], *, base: FsPath,
               strict: bool = False, vm_nics: int | None = None, build: bool = True,
               per_file: PerFile | None = None,
               against: Callable[[Collected], list[str]] | None = None, pools: tuple[Pool, ...] = ()) -> LintResult:
    """Lint files and directories; raises InputError for paths that do not exist. ``checker``: the Checker, or what
    chooses it from the objects it is to check (sources, patches and what kustomize built). ``per_file``: the Checker
    and spec context (NIC count, pools) for the objects of one file or kustomize directory (real path), when they are
    not the default ones (a cluster's output, with its own release; checked apart from other clusters' objects).
    ``against`` gives the objects their previous versions (``Item.old``) before they are checked, and returns notes to
    print. ``pools``: the default context's node pools (gen lint --cluster)."""
    collected = collect(paths, base=base, build=build)
    result = LintResult([], files=collected.files, builds=collected.builds, skipped=collected.skipped)
    if against is not None:
        result.notes += against(collected)
    items = collected.items
    found: list[Finding] = []
    default = SpecContext(vm_nics, pools)
    for chosen, spec, group_units, only in _groups(items, collected.units, collected.origin, checker, per_file,
                                                   default):
        if chosen is None:
            result.checker = chosen = checker if isinstance(checker, Checker) else checker(
                [items[i].obj for i in only])
        found += chosen.findings(items, group_units, vm_nics=spec.nics, only=only, pools=spec.pools)
    result.findings = sorted(set(locate(items, found, strict=strict)) | set(collected.findings), key=Finding.sort_key)
    result.objects = sum(1 for item in items if item.doc is not None)
    return result


Group = tuple["Checker | None", SpecContext, list[Unit], set[int]]
GroupKey = tuple[Checker, SpecContext] | None  # a cluster's spec context is one per cluster: the key names the cluster


def _groups(items: list[Item], units: list[Unit], origin: dict[int, FsPath], checker: Any, per_file: PerFile | None,
            default: SpecContext) -> list[Group]:
    """The items split by what checks them: (Checker or None for the default one, spec context, units, indices). A
    kustomize build is checked whole by its directory's; loose files each by their own, against the loose objects of
    the same cluster: one cluster's objects never satisfy, or clash with, another's."""
    if per_file is None:
        return [(checker if isinstance(checker, Checker) else None, default, units, set(range(len(items))))]
    keys: dict[FsPath, GroupKey] = {}

    def key_of(index: int) -> GroupKey:
        path = origin.get(index)
        if path is None:
            return None
        if path not in keys:
            keys[path] = per_file(path)
        return keys[path]

    key = [key_of(index) for index in range(len(items))]
    groups: dict[GroupKey, Group] = {}
    for index, k in enumerate(key):
        if k not in groups:
            groups[k] = (None, default, [], set()) if k is None else (k[0], k[1], [], set())
        groups[k][3].add(index)
    for members, context in units:
        by_key: dict[GroupKey, list[int]] = {}
        for index in members:
            by_key.setdefault(key[index], []).append(index)
        scoped: dict[GroupKey, list[int]] = {}
        for index in context:
            if key[index] in by_key:
                scoped.setdefault(key[index], []).append(index)
        for k, part in by_key.items():
            groups[k][2].append((part, scoped.get(k, [])))
    return list(groups.values())
