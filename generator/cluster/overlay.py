"""The user's own overlay, ``overlays/<name>/``: hand-written, never generated. When it exists it must be a
kustomize Component, so that the cluster's mode overlay can include it and its patches apply."""

from __future__ import annotations

from pathlib import Path

from generator import layout
from generator.errors import InputError
from generator.kube import KUSTOMIZATION_NAMES
from generator.yamlio.load import YamlInputError, load_documents


def has_user_overlay(repo: Path, name: str) -> bool:
    """Whether ``overlays/<name>/`` exists; raises InputError when it is not a usable Component."""
    rel = layout.user_overlay_dir(name)
    directory = repo / rel
    if not directory.exists():
        return False
    if directory.is_symlink() or not directory.is_dir():
        raise InputError(f"{rel}: must be a plain directory (not a symlink or a file)")
    found = [directory / n for n in KUSTOMIZATION_NAMES if (directory / n).is_file()]
    if not found:
        raise InputError(f"{rel}/: has no kustomization.yaml; add one with 'apiVersion: kustomize.config.k8s.io/"
                         "v1alpha1' and 'kind: Component' listing your patches and resources, or remove the directory")
    file = f"{rel}/{found[0].name}"
    try:
        docs = load_documents(found[0].read_bytes(), file)
    except YamlInputError as exc:
        raise InputError(str(exc)) from None
    kind = docs[0].value.get("kind") if docs and isinstance(docs[0].value, dict) else None
    if kind != "Component":
        line = docs[0].position(("kind",))[0] if docs else 1
        raise InputError(f"{file}:{line}: field 'kind': is {kind!r}; the per-cluster overlay must be "
                         "'kind: Component' with 'apiVersion: kustomize.config.k8s.io/v1alpha1' so that its patches "
                         "apply to the generated objects")
    return True
