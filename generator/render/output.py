"""What rendering produces: a ``Bundle`` (every file of one directory of output/ as bytes, with the objects in each)
and the kustomization files that tie generated files together."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from generator.core.kube import KUSTOMIZE_API, Obj


@dataclass(frozen=True)
class Bundle:
    """Everything generated for one directory of output/: file path (POSIX, relative to ``output/<cluster>/``)
    to the exact bytes to write, plus the objects each YAML file holds (for the checks)."""

    cluster: str
    spec_file: str  # repo-relative path of the spec it came from
    files: dict[str, bytes]
    objects: dict[str, list[Obj]] = field(default_factory=dict)
    reads: tuple[Bundle, ...] = ()  # other bundles its kustomizations include (a release's shared CRDs)
    # the files are the bytes output/ held a moment ago, each read and matched with its recorded sha256 (a cluster
    # unchanged since it was checked: generator.pipeline.records); gen check need not read them again
    read_from_output: bool = field(default=False, compare=False)


def kustomization(resources: Sequence[str], patches: Sequence[str] = (), components: Sequence[str] = ()) -> Obj:
    doc: Obj = {"apiVersion": KUSTOMIZE_API, "kind": "Kustomization", "resources": list(resources)}
    if patches:
        doc["patches"] = [{"path": path} for path in patches]
    if components:
        doc["components"] = list(components)
    return doc
