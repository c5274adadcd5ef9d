"""Several small kustomize directories built by one kustomize process, each given the objects its own build gives.

A kustomize process spends 30 to 90 ms starting for a few kilobytes of objects: the benchmark fleet's 500 argocd/
directories were most of ``gen lint output/``'s builds. A directory is built with others only when its build alone
and its build as a resource of a parent cannot differ: its kustomization lists nothing but files of its own directory
as ``resources`` (``plain``: no generator, transformer, patch, base, component, variable or option, each of which a
parent could see or change), and its files hold no ``config.kubernetes.io`` annotation, which kustomize sets and
removes itself. The parent (``parent_kustomization``) reaches each directory through a link and asks for origin
annotations; each object is given back to the directory its origin names and the annotation removed
(``split``). kustomize drops an emptied ``annotations`` itself, sorts its output by one total order of ids (kind,
then the id), and prints keys sorted, so each directory's objects come as its own build prints them. Directories whose
objects could share an id (the same kind and name) are never put together (``batches``). A batch that fails in any
way (an error, an object no directory claims) is not used: its directories are built one by one, so an error is
always the directory's own message."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.core.errors import InputError
from generator.core.fs import read_regular
from generator.core.kube import KUSTOMIZATION_NAMES, Obj
from generator.yamlio.load import YamlInputError, load_documents

MAX_DIRECTORIES = 64  # in one batch
OPEN_BATCHES = 16  # a directory is offered to at most this many batches
MAX_BATCH_BYTES = 1024 * 1024  # of resource files in one batch (kustomize's memory limit stays far away)
MAX_FILE_BYTES = 256 * 1024  # a larger resource file is built alone
ORIGIN = "config.kubernetes.io/origin"
_FIELDS = {"apiVersion", "kind", "resources"}
_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class Plain:
    """A directory that can be built with others: its resource files' names and the ids (kind, name) of their
    objects."""

    directory: Path
    files: tuple[str, ...]
    ids: frozenset[tuple[str, str]]
    size: int


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _document(data: bytes, shown: str) -> list[Any]:
    return [doc.value for doc in load_documents(data, shown, max_bytes=MAX_FILE_BYTES, positions=False)]


def _resource_files(directory: Path) -> list[str] | None:
    """The files the kustomization of ``directory`` lists, when that is all it says (and they are regular files of
    the directory, each named once); else None."""
    present = [name for name in KUSTOMIZATION_NAMES if os.path.lexists(directory / name)]
    if len(present) != 1 or not _regular(directory / present[0]):
        return None
    try:
        docs = _document(read_regular(directory / present[0], MAX_FILE_BYTES, present[0]), present[0])
    except (InputError, YamlInputError):
        return None
    if len(docs) != 1 or not isinstance(docs[0], dict) or not set(docs[0]) <= _FIELDS:
        return None
    kustomization = docs[0]
    if kustomization.get("apiVersion", "kustomize.config.k8s.io/v1beta1") != "kustomize.config.k8s.io/v1beta1" \
            or kustomization.get("kind", "Kustomization") != "Kustomization":
        return None
    files = kustomization.get("resources")
    if not isinstance(files, list) or not files or len(set(map(str, files))) != len(files):
        return None
    if not all(isinstance(name, str) and _FILE_NAME.fullmatch(name) and _regular(directory / name) for name in files):
        return None
    return files


def _ids(objects: list[Any], ids: set[tuple[str, str]]) -> bool:
    """Add the id (kind, name) of each of a file's objects to ``ids``; False when one has none, is a List (its items
    are the objects) or is there already."""
    for obj in objects:
        metadata = obj.get("metadata") if isinstance(obj, dict) else None
        kind = obj.get("kind") if isinstance(obj, dict) else None
        if not isinstance(kind, str) or kind.endswith("List") or not isinstance(metadata, dict) \
                or not isinstance(metadata.get("name"), str) or (kind, metadata["name"]) in ids:
            return False
        ids.add((kind, metadata["name"]))
    return True


def plain(directory: Path) -> Plain | None:
    """The directory as a ``Plain`` one, or None when it must be built alone."""
    files = _resource_files(directory)
    if files is None:
        return None
    ids: set[tuple[str, str]] = set()
    size = 0
    for name in files:
        try:
            data = read_regular(directory / name, MAX_FILE_BYTES, name)
            size += len(data)
            if size > MAX_BATCH_BYTES or b"config.kubernetes.io" in data:
                return None  # larger than a batch: never read further
            if not _ids(_document(data, name), ids):
                return None
        except (InputError, YamlInputError):
            return None
    return Plain(directory, tuple(files), frozenset(ids), size)


def batches(plains: Sequence[Plain], parts: int) -> list[list[int]]:
    """Indexes of ``plains`` grouped into batches of at least two, in order: no two directories of a batch with an id
    in common, at most ``MAX_DIRECTORIES`` and ``MAX_BATCH_BYTES`` in one, and about ``parts`` batches (one per
    worker) when there are enough directories. An index in no batch is built alone. Each directory is offered to
    the ``OPEN_BATCHES`` latest batches not full, oldest first, and no more (directories that all share an id cost
    no square)."""
    size = max(2, min(MAX_DIRECTORIES, -(-len(plains) // max(1, parts))))
    made: list[tuple[list[int], set[tuple[str, str]], list[int]]] = []  # members, ids, bytes
    open_: list[int] = []  # indexes into made, oldest first
    for index, one in enumerate(plains):
        for place in open_[-OPEN_BATCHES:]:
            members, ids, used = made[place]
            if used[0] + one.size <= MAX_BATCH_BYTES and ids.isdisjoint(one.ids):
                members.append(index)
                ids |= one.ids
                used[0] += one.size
                if len(members) >= size:
                    open_.remove(place)
                break
        else:
            made.append(([index], set(one.ids), [one.size]))
            open_.append(len(made) - 1)
    return [members for members, _, _ in made if len(members) > 1]


def link_name(index: int) -> str:
    return f"d{index}"


def parent_kustomization(count: int) -> bytes:
    """The kustomization of a batch of ``count`` directories, each reached through the link ``link_name(i)``."""
    entries = "".join(f"- {link_name(i)}\n" for i in range(count))
    return ("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nbuildMetadata:\n"
            f"- originAnnotations\nresources:\n{entries}").encode()


def _origin(obj: Obj) -> str | None:
    metadata = obj.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    value = annotations.get(ORIGIN) if isinstance(annotations, dict) else None
    if not isinstance(value, str):
        return None
    lines = value.splitlines()
    return lines[0][len("path: "):] if len(lines) == 1 and lines[0].startswith("path: ") else None


def split(objects: list[Obj], members: Sequence[Plain]) -> list[list[Obj]] | None:
    """The batch's objects given back to each member, in order, their origin annotation removed; None when one
    cannot be (then the batch is not used)."""
    owner = {f"{link_name(i)}/{name}": i for i, member in enumerate(members) for name in member.files}
    out: list[list[Obj]] = [[] for _ in members]
    for obj in objects:
        origin = _origin(obj)
        if origin is None or origin not in owner:
            return None
        annotations = obj["metadata"]["annotations"]
        del annotations[ORIGIN]
        if not annotations:
            del obj["metadata"]["annotations"]
        out[owner[origin]].append(obj)
    return out
