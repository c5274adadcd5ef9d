"""Manifest files read for ``gen lint``: YAML documents with positions, ``# gen-lint:`` directives, kustomization
files and the inputs they read (following local bases and components)."""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path as FsPath

from generator.core.fs import MAX_FILE_BYTES, read_regular
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
MAX_BYTES = MAX_FILE_BYTES


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
        loaded.docs = load_documents(data, display, max_bytes=MAX_BYTES, shared=True)
    except YamlInputError as exc:
        loaded.error = exc
    except (RecursionError, MemoryError):
        loaded.error = YamlInputError(display, "YAML nested too deeply")
    head = data[:MAX_BYTES].decode("utf-8", errors="replace")
    loaded.disabled, loaded.bad_directives = parse_directives(head)
    if path.name in KUSTOMIZATION_NAMES:
        loaded.role = "kustomization"
    return loaded


@dataclass
class Walked:
    """What a directory holds for ``gen lint``: its YAML files and kustomize directories, and the entries named like
    manifests that are not regular files (each with what it is), left alone."""

    files: list[FsPath] = field(default_factory=list)
    kustomize_dirs: list[FsPath] = field(default_factory=list)
    skipped: list[tuple[FsPath, str]] = field(default_factory=list)


def _not_a_file(path: FsPath) -> str:
    """What ``path`` is when it is not a regular file (links followed)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return "a symbolic link loop" if exc.errno == errno.ELOOP else "a link to nothing" \
            if exc.errno == errno.ENOENT else f"unreadable ({exc.strerror})"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def walk(directory: FsPath) -> Walked:
    """The YAML files and kustomize directories under ``directory``; hidden and vendored folders skipped, and
    anything named like a manifest that is not a regular file (a FIFO, a device, a dangling or looping link) left
    alone and listed (reading it could hang, or never end)."""
    found = Walked()
    for root, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
        here = FsPath(root)
        manifests = [n for n in sorted(names) if n.endswith(YAML_SUFFIXES) or n in KUSTOMIZATION_NAMES]
        regular = [n for n in manifests if (here / n).is_file()]
        found.skipped += [(here / n, _not_a_file(here / n)) for n in manifests if n not in regular]
        if any(n in regular for n in KUSTOMIZATION_NAMES):
            found.kustomize_dirs.append(here)
        found.files += [here / n for n in regular]
    return found


