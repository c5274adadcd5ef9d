"""``gen lint PATH...``: collect files, build kustomize directories, lint everything as units."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from generator.lint.base import Path, as_dict, as_str
from generator.lint.collect import (
    Kustomization,
    LoadedFile,
    UsageError,
    display_path,
    inputs_of,
    kustomization_file,
    load_file,
    read_kustomization,
    walk,
)
from generator.lint.engine import Item, Linter, get_linter
from generator.lint.rules import severity
from generator.model import Finding
from generator.validate import kustomize
from generator.validate.store import SchemaStore


@dataclass
class LintResult:
    findings: list[Finding]
    files: int = 0
    objects: int = 0
    builds: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(f.severity == "error" for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity == "warning" for f in self.findings)


def _is_object(value: Any) -> bool:
    return isinstance(value, dict) and ("apiVersion" in value or "kind" in value)


def _yaml_rule(message: str) -> str:
    if message.startswith("duplicate key"):
        return "yaml-duplicate-key"
    if "more than the limit" in message or "alias" in message:
        return "yaml-too-large"
    return "yaml-syntax"


def _file_finding(loaded: LoadedFile, rule: str, message: str, line: int = 0, column: int = 0, *,
                  strict: bool = False) -> Finding | None:
    if rule in loaded.disabled or "all" in loaded.disabled:
        return None
    return Finding(loaded.display, "", "", rule, message, severity(rule, strict=strict), line, column)


def _depth(doc: Any, path: Path) -> int:
    for n in range(len(path), -1, -1):
        if path[:n] in doc.positions:
            return n
    return -1


class _Collector:
    def __init__(self, base: FsPath, strict: bool):
        self.base = base
        self.strict = strict
        self.files: dict[FsPath, LoadedFile] = {}
        self.cache: dict[FsPath, Kustomization | None] = {}
        self.items: list[Item] = []
        self.by_file: dict[FsPath, list[int]] = {}
        self.findings: list[Finding] = []

    def load(self, path: FsPath, role: str = "") -> LoadedFile:
        key = path.resolve()
        if key not in self.files:
            self.files[key] = load_file(path, display_path(key, self.base))
        if role:
            self.files[key].role = role
        return self.files[key]

    def items_of(self, loaded: LoadedFile) -> list[int]:
        key = loaded.path.resolve()
        if key in self.by_file:
            return self.by_file[key]
        indices: list[int] = []
        self.by_file[key] = indices
        add = self.findings.append
        if loaded.error is not None:
            err = loaded.error
            finding = _file_finding(loaded, _yaml_rule(err.message), err.message, err.line or 0, err.column or 0)
            if finding:
                add(finding)
        for line, rule in loaded.bad_directives:
            finding = _file_finding(loaded, "lint-directive", f"unknown rule id {rule!r} in a gen-lint comment; "
                                    "see gen lint --list-rules", line, 1)
            if finding:
                add(finding)
        if loaded.role == "kustomization":
            return indices
        objects = [doc for doc in loaded.docs if _is_object(doc.value)]
        for doc in loaded.docs:
            if not _is_object(doc.value) and objects and loaded.role == "object":
                finding = _file_finding(loaded, "not-an-object", "this document is not a Kubernetes object "
                                        "(no apiVersion or kind); remove it or move it to another file", doc.line, 1)
                if finding:
                    add(finding)
        for doc in objects:
            def locate(path: Path, doc: Any = doc, loaded: LoadedFile = loaded) -> tuple[str, int, int, frozenset[str]]:
                line, column = doc.position(path)
                return loaded.display, line, column, loaded.disabled
            indices.append(len(self.items))
            self.items.append(Item(doc.value, loaded.display, locate, loaded.role == "patch", loaded.disabled, doc))
        return indices

    def built_items(self, result: kustomize.BuildResult, sources: list[int]) -> list[int]:
        index: dict[tuple[str, str], list[int]] = {}
        for i in sources:
            obj = self.items[i].obj
            index.setdefault((as_str(obj.get("kind")), as_str(as_dict(obj.get("metadata")).get("name"))), []).append(i)
        k_file = kustomization_file(result.directory)
        fallback = display_path(k_file or result.directory, self.base)
        out = []
        for obj in result.objects:
            key = (as_str(obj.get("kind")), as_str(as_dict(obj.get("metadata")).get("name")))
            candidates = [self.items[i] for i in index.get(key, [])]

            def locate(path: Path, candidates: list[Item] = candidates) -> tuple[str, int, int, frozenset[str]]:
                best, depth = None, -2
                for cand in candidates:  # the deepest match wins; on a tie the later (a patch) does
                    doc_depth = _depth_of(cand, path)
                    if doc_depth >= depth:
                        best, depth = cand, doc_depth
                if best is None:
                    return fallback + " (kustomize build)", 0, 0, frozenset()
                return best.where(path)
            out.append(len(self.items))
            self.items.append(Item(obj, fallback, locate))
        return out


def _depth_of(item: Item, path: Path) -> int:
    return _depth(item.doc, path) if item.doc is not None else -1


def lint_paths(paths: list[FsPath], release: str, *, base: FsPath, strict: bool = False, vm_nics: int | None = None,
               build: bool = True, store: SchemaStore | None = None, linter: Linter | None = None) -> LintResult:
    """Lint files and directories; raises UsageError for paths that do not exist."""
    c = _Collector(base, strict)
    explicit: list[FsPath] = []
    kustomize_dirs: list[FsPath] = []
    for path in paths:
        if path.is_dir():
            files, kdirs = walk(path)
            explicit += files
            kustomize_dirs += kdirs
        elif path.is_file():
            explicit.append(path)
        else:
            raise UsageError(f"{path}: no such file or directory")
    # kustomize inputs (possibly outside the given paths) and their roles
    inputs: set[FsPath] = set()
    buildable: list[tuple[FsPath, list[FsPath], list[FsPath]]] = []
    for directory in dict.fromkeys(d.resolve() for d in kustomize_dirs):
        resources, patches = inputs_of(directory, c.cache)
        inputs.update(resources)
        inputs.update(patches)
        for patch in patches:
            c.load(patch, "patch")
        k = read_kustomization(directory, c.cache)
        if k is not None and k.kind != "Component":
            buildable.append((directory, resources, patches))
    for file in explicit:
        k = read_kustomization(file.parent, c.cache)
        c.load(file, "patch" if k is not None and file.resolve() in k.patches else "")
    loose: list[int] = []
    for key, loaded in list(c.files.items()):
        indices = c.items_of(loaded)
        if key not in inputs:
            loose += indices
    for _directory, resources, _patches in buildable:
        for f in resources:
            c.items_of(c.load(f))
    units: list[tuple[list[int], list[int]]] = []
    result = LintResult([])
    if build and buildable:
        results = kustomize.build_many([d for d, _, _ in buildable])
        for (directory, resources, patches), built in zip(buildable, results, strict=True):
            if built.error:
                k_file = kustomization_file(directory)
                k_loaded = c.load(k_file) if k_file else None
                message = f"kustomize build failed: {built.error.strip().splitlines()[-1][:400]}"
                finding = _file_finding(k_loaded, "kustomize-build", message, 1, 1) if k_loaded else None
                if finding:
                    c.findings.append(finding)
                continue
            sources = [i for f in [*resources, *patches] for i in c.by_file.get(f.resolve(), [])]
            members = c.built_items(built, sources)
            units.append((members, members))
            result.builds += 1
    everything = [i for i, item in enumerate(c.items) if not item.patch]
    if loose:
        units.insert(0, (loose, everything))
    linter = linter or get_linter(release, store=store)
    found = linter.run(c.items, units, strict=strict, vm_nics=vm_nics)
    result.findings = sorted(set(found) | set(c.findings), key=lambda f: (f.file, f.line, f.column, f.rule, f.path))
    result.files = len(c.files)
    result.objects = sum(1 for item in c.items if item.doc is not None)
    return result
