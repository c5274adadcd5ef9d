"""Manifest files read for ``gen lint``: YAML documents with positions, ``# gen-lint:`` directives, kustomization
files and the inputs they read (following local bases and components)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from generator.core.errors import InputError
from generator.core.fs import read_regular
from generator.core.kube import KUSTOMIZATION_NAMES
from generator.core.rules import define, parse_directives
from generator.yamlio.load import Document, YamlInputError, load_documents

YAML_SYNTAX = define(
    "yaml-syntax", "error",
    "the file is not valid YAML 1.2 / UTF-8 (syntax error, tab indentation, unsupported tag, NUL bytes)",
    "yaml")
YAML_DUPLICATE_KEY = define(
    "yaml-duplicate-key", "error",
    "a mapping repeats a key (the API server's strict decoding rejects it)",
    "yaml")
YAML_TOO_LARGE = define(
    "yaml-too-large", "error",
    "the file is larger than the 16 MiB limit or expands too far through aliases",
    "yaml")
NOT_AN_OBJECT = define(
    "not-an-object", "warning",
    "a document in a manifest file is not a Kubernetes object (no apiVersion/kind)",
    "yaml")
LINT_DIRECTIVE = define(
    "lint-directive", "warning",
    "a `# gen-lint: disable=` comment names an unknown rule id",
    "lint")

YAML_SUFFIXES = (".yaml", ".yml")
_SKIP_DIRS = {"node_modules", "__pycache__", "venv"}
MAX_BYTES = 16 * 1024 * 1024


@dataclass
class LoadedFile:
    path: FsPath
    display: str
    docs: list[Document] = field(default_factory=list)
    error: YamlInputError | None = None
    disabled: frozenset[str] = frozenset()
    bad_directives: list[tuple[int, str]] = field(default_factory=list)  # (line, unknown rule id)
    role: str = "object"  # object | patch | kustomization


def display_path(path: FsPath, base: FsPath) -> str:
    try:
        return os.path.relpath(path, base) if path.is_absolute() else str(path)
    except ValueError:  # pragma: no cover - other drive on Windows
        return str(path)


def load_file(path: FsPath, display: str) -> LoadedFile:
    loaded = LoadedFile(path, display)
    data = read_regular(path, MAX_BYTES, display, over_limit_ok=True)
    try:
        loaded.docs = load_documents(data, display, max_bytes=MAX_BYTES)
    except YamlInputError as exc:
        loaded.error = exc
    except (RecursionError, MemoryError):
        loaded.error = YamlInputError(display, "YAML nested too deeply")
    head = data[:MAX_BYTES].decode("utf-8", errors="replace")
    loaded.disabled, loaded.bad_directives = parse_directives(head)
    if path.name in KUSTOMIZATION_NAMES:
        loaded.role = "kustomization"
    return loaded


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
    return FsPath(os.path.realpath(path))  # a link loop stays unresolved instead of raising


def read_kustomization(directory: FsPath, cache: dict[FsPath, Kustomization | None]) -> Kustomization | None:
    """The kustomization of ``directory`` (None without one, or when it does not parse: kustomize reports that).
    Absolute and remote entries are left out (kustomize refuses the first and fetches the second), and so are
    files outside ``directory``: kustomize's load restrictor refuses them, so gen never reads them either."""
    directory = real_path(directory)
    if directory in cache:
        return cache[directory]
    cache[directory] = None
    file = kustomization_file(directory)
    if file is None:
        return None
    try:
        docs = load_documents(read_regular(file, MAX_BYTES, str(file)), str(file))
    except (InputError, YamlInputError):
        return None
    raw: dict[str, Any] = docs[0].value if docs and isinstance(docs[0].value, dict) else {}
    files: list[FsPath] = []
    patches: list[FsPath] = []
    bases: list[FsPath] = []
    for entry in [*_strings(raw.get("resources")), *_strings(raw.get("components")), *_strings(raw.get("bases"))]:
        if "://" in entry or entry.startswith(("github.com/", "/")):
            continue  # remote (kustomize fetches it) or absolute (kustomize refuses it)
        target = real_path(directory / entry)
        if target.is_dir():
            bases.append(target)
        elif target.is_relative_to(directory):
            files.append(target)
    patch_entries: list[Any] = [p.get("path") for p in raw.get("patches") or [] if isinstance(p, dict)]
    patch_entries += [p.get("path") for p in raw.get("patchesJson6902") or [] if isinstance(p, dict)]
    patch_entries += list(_strings(raw.get("patchesStrategicMerge")))
    for entry in patch_entries:
        if isinstance(entry, str) and "\n" not in entry and not entry.startswith("/"):
            target = real_path(directory / entry)
            if target.is_relative_to(directory):
                patches.append(target)
    kind = raw["kind"] if isinstance(raw.get("kind"), str) else "Kustomization"
    cache[directory] = Kustomization(directory, kind, files, patches, bases)
    return cache[directory]


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def walk(directory: FsPath) -> tuple[list[FsPath], list[FsPath]]:
    """(YAML files, kustomize directories) under ``directory``; hidden and vendored folders skipped, and anything
    that is not a regular file (a FIFO, a device, a dangling or looping link) left alone."""
    files: list[FsPath] = []
    kustomize_dirs: list[FsPath] = []
    for root, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
        here = FsPath(root)
        regular = [n for n in sorted(names) if (here / n).is_file()]
        if any(n in regular for n in KUSTOMIZATION_NAMES):
            kustomize_dirs.append(here)
        files += [here / n for n in regular if n.endswith(YAML_SUFFIXES) or n == "Kustomization"]
    return files, kustomize_dirs


def files_read(directory: FsPath) -> list[FsPath]:
    """Every file kustomize reads to build ``directory``: the kustomization files of it and of the bases and
    components it includes, and their resources and patches (for a digest of the build's inputs)."""
    cache: dict[FsPath, Kustomization | None] = {}
    resources, patches = inputs_of(directory, cache)
    kustomizations = [f for d in cache if (f := kustomization_file(d)) is not None]
    return sorted(set(kustomizations) | set(resources) | set(patches))


def inputs_of(directory: FsPath, cache: dict[FsPath, Kustomization | None]) -> tuple[list[FsPath], list[FsPath]]:
    """(resource files, patch files) a kustomize directory reads, following local bases and components."""
    resources: list[FsPath] = []
    patches: list[FsPath] = []
    seen: set[FsPath] = set()
    stack = [real_path(directory)]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        k = read_kustomization(current, cache)
        if k is None:
            continue
        resources += [f for f in k.resources if f.is_file()]
        patches += [f for f in k.patches if f.is_file()]
        stack += k.bases
    return list(dict.fromkeys(resources)), list(dict.fromkeys(patches))
