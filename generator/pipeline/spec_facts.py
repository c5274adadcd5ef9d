"""What ``gen lint`` needs of a cluster's spec to check its files (its network-operator release, Kubernetes version,
GPU Operator release and the most InfiniBand NICs a node has), kept in gen's cache so that linting a fleet's output
does not parse every spec again.

A spec's facts are a function of its name, its bytes and of gen itself (code, catalog and schemas:
``package_digest``). They are kept per repository in one cache entry (``keep``), keyed on gen itself and the
repository's real path, holding each spec's facts with the digest of the name and bytes they were parsed from; a
spec's facts are read from it only when the digest of its bytes now is that one. ``gen bundle`` and ``gen check``
keep the facts of the specs they parsed (a cold ``gen bundle --all`` parses them all, so the ``gen lint output/``
after it parses none), ``gen lint`` those it parsed. The entry is authenticated like every cache entry
(``DiskCache``: a per-user key outside any work tree), so a planted or altered entry is a miss and the specs are
parsed. A spec with ``pools`` is always parsed (its pools are checked as objects); an invalid spec is never kept (it
is parsed, and fails, every time). A warm and an empty cache so give the same checker and the same verdict.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.cluster.model import Cluster, Pool
from generator.cluster.parse import SpecSource
from generator.cluster.repo import read_spec
from generator.core import layout
from generator.core.cache import DiskCache, cache_root, digest
from generator.core.fs import realpath
from generator.core.identity import package_digest

VERSION = 2  # one entry a repository


def spec_digest(name: str, data: bytes) -> str:
    """What a spec's facts are kept under besides gen itself: its name and bytes."""
    return digest("spec", name, data)


@dataclass(frozen=True)
class LintSpec:
    release: str
    kube_version: str
    gpu_release: str | None  # the GPU Operator release (gpu.operator.version), None without one
    nics: int  # the most InfiniBand NICs a node has (its pools' VM sizes, else its own)
    pools: tuple[Pool, ...] = ()
    spec: str = field(default="", compare=False)  # spec_digest of what they were parsed from ("": not known)

    @classmethod
    def of(cls, cluster: Cluster) -> LintSpec:
        operator = cluster.gpu.operator if cluster.gpu is not None else None
        nics = max(p.vm_size.nics for p in cluster.pools) if cluster.pools else cluster.vm_size.nics
        source = cluster.source
        data = source.data if isinstance(source, SpecSource) else b""
        return cls(cluster.release.tag, cluster.kubernetes.version,
                   operator.release.tag if operator is not None else None, nics, cluster.pools,
                   spec_digest(cluster.name, data) if data else "")


@functools.cache
def _cache(root: Path) -> DiskCache:
    return DiskCache(root, "spec-facts", VERSION)  # its key read once per process, not once per spec


def _key(repo: Path) -> str:
    return digest("spec-facts", str(VERSION), package_digest(), realpath(repo))


# each repository's kept facts as this process read or wrote them, by cache and entry, with the entry's mark
_read: dict[tuple[str, str], tuple[object, dict[str, LintSpec]]] = {}


def _kept(repo: Path) -> dict[str, LintSpec]:
    """The repository's kept facts: read again when its entry changed since this process read it."""
    cache, key = _cache(cache_root()), _key(repo)
    mark, where = cache.mark(key), (str(cache.folder), key)
    known = _read.get(where)
    if known is None or known[0] != mark:
        known = _read[where] = (mark, _facts(cache.get_json(key)) if mark is not None else {})
    return known[1]


def _facts(entry: Any) -> dict[str, LintSpec]:
    """The facts an entry holds (each of another shape left out: that spec is parsed)."""
    kept: dict[str, LintSpec] = {}
    for name, raw in entry.items() if isinstance(entry, dict) else ():
        try:
            gpu, nics = raw["gpu_release"], raw["nics"]
            if type(nics) is not int or not (gpu is None or isinstance(gpu, str)):
                continue
            kept[name] = LintSpec(str(raw["release"]), str(raw["kube_version"]), gpu, nics, spec=str(raw["spec"]))
        except (KeyError, TypeError):
            continue
    return kept


def spec_facts(repo: Path, name: str) -> LintSpec:
    """The facts of ``clusters/<name>.yaml``: kept ones when they are of these bytes, else parsed (``keep`` keeps
    them). A SpecError as ``load_cluster`` raises it when the spec does not load."""
    data = read_spec(repo, name)
    kept = _kept(repo).get(name)
    if kept is not None and kept.spec == spec_digest(name, data):
        return kept
    from generator.pipeline.clusters import checked_cluster  # only when the spec is parsed: its checks load on use

    return LintSpec.of(checked_cluster(data, layout.spec_file(name), expected_name=name))


def keep(repo: Path, facts: Iterable[tuple[str, LintSpec]]) -> None:
    """Keep the facts of specs parsed (each with the digest of what it was parsed from; those with pools are left
    out) with those kept before, in the repository's entry; the facts of a spec no longer there are dropped. Written
    only when something is new."""
    new = {name: each for name, each in facts if each.spec and not each.pools}
    if not new:
        return
    kept = _kept(repo)
    if all(name in kept and kept[name].spec == each.spec for name, each in new.items()):
        return
    merged = {name: each for name, each in {**kept, **new}.items() if os.path.isfile(repo / layout.spec_file(name))}
    cache, key = _cache(cache_root()), _key(repo)
    cache.put_json(key, {name: {"spec": each.spec, "release": each.release, "kube_version": each.kube_version,
                                "gpu_release": each.gpu_release, "nics": each.nics}
                         for name, each in sorted(merged.items())})
    _read[(str(cache.folder), key)] = (cache.mark(key), merged)
