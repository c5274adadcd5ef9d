"""The user's own overlay, ``overlays/<name>/``: hand-written, never generated. When it exists it must be a
kustomize Component, so that the cluster's mode overlay can include it and its patches apply.

gen builds it as kustomize and Argo CD will, in place: a link in ``overlays/`` that leaves the repository, or
anything there that is not a directory or a regular file (a FIFO, a device), is refused with one message, before
kustomize runs (kustomize and Argo CD would refuse the first, and hang on or copy the others)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from generator.core import layout
from generator.core.errors import InputError
from generator.core.fs import MAX_FILE_BYTES, read_regular
from generator.core.kube import KUSTOMIZATION_NAMES
from generator.yamlio.load import YamlInputError, load_documents

MAX_BYTES = MAX_FILE_BYTES


def check_overlays_tree(repo: Path) -> None:
    """Every entry of ``overlays/`` is a directory or a regular file inside the repository (links followed)."""
    root = repo / layout.OVERLAYS_DIR
    if not root.is_dir():
        return
    inside = os.path.realpath(repo)
    for here, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = Path(here) / name
            shown = path.relative_to(repo).as_posix()
            if path.is_symlink():
                target = os.path.realpath(path)
                if not os.path.exists(target):
                    raise InputError(f"{shown}: a link to nothing, or a link loop; replace it with the file itself")
                if os.path.commonpath([inside, target]) != inside:
                    raise InputError(f"{shown}: a link to {target}, outside the repository; kustomize and Argo CD "
                                     "refuse it (they read only the repository): copy the file in instead")
            mode = os.stat(path).st_mode if os.path.exists(path) else 0
            if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
                raise InputError(f"{shown}: not a directory or a regular file (a FIFO, a device or a socket); "
                                 "remove it from overlays/")


def has_user_overlay(repo: Path, name: str) -> bool:
    """Whether ``overlays/<name>/`` exists; raises InputError when it is not a usable Component."""
    rel = layout.user_overlay_dir(name)
    directory = repo / rel
    if not os.path.lexists(directory):
        return False
    check_overlays_tree(repo)
    if directory.is_symlink() or not directory.is_dir():
        raise InputError(f"{rel}: must be a plain directory (not a symlink or a file)")
    found = [directory / n for n in KUSTOMIZATION_NAMES if (directory / n).is_file()]
    if not found:
        raise InputError(f"{rel}/: has no kustomization.yaml; add one with 'apiVersion: kustomize.config.k8s.io/"
                         "v1alpha1' and 'kind: Component' listing your patches and resources, or remove the directory")
    file = f"{rel}/{found[0].name}"
    try:
        docs = load_documents(read_regular(found[0], MAX_BYTES, file), file)
    except YamlInputError as exc:
        raise InputError(str(exc)) from None
    kind = docs[0].value.get("kind") if docs and isinstance(docs[0].value, dict) else None
    if kind != "Component":
        line = docs[0].position(("kind",))[0] if docs else 1
        raise InputError(f"{file}:{line}: field 'kind': is {kind!r}; the per-cluster overlay must be "
                         "'kind: Component' with 'apiVersion: kustomize.config.k8s.io/v1alpha1' so that its patches "
                         "apply to the generated objects")
    return True
