"""What a kustomization reads: its resources, patches, bases and components, followed through local bases and
components (kustomize's load restrictor: nothing outside the kustomization's root, nothing absolute, remote entries
left to kustomize). Used to digest a build's inputs (build caches, records) and by ``gen lint`` to find the files
behind a built object."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from generator.core.errors import InputError
from generator.core.fs import MAX_FILE_BYTES, read_regular
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
