"""What ``gen lint`` needs of a cluster's spec to check its files (its network-operator release, Kubernetes version,
GPU Operator release and the most InfiniBand NICs a node has), kept in gen's cache so that linting a fleet's output
does not parse every spec again.

A spec's facts are a function of its bytes and of gen itself (code, catalog and schemas: ``package_digest``), so they
are keyed on exactly those; the entry is authenticated like every cache entry (``DiskCache``: a per-user key outside
any work tree), so a planted or altered entry is a miss and the spec is parsed. A spec with ``pools`` is always
parsed (its pools are checked as objects); an invalid spec never has an entry (it is parsed, and fails, every time).
A warm and an empty cache so give the same checker and the same verdict.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from generator.cluster.model import Cluster, Pool
from generator.cluster.repo import read_spec
from generator.core import layout
from generator.core.cache import DiskCache, cache_root, digest
from generator.core.identity import package_digest

VERSION = 1


@dataclass(frozen=True)
class LintSpec:
    release: str
    kube_version: str
    gpu_release: str | None  # the GPU Operator release (gpu.operator.version), None without one
    nics: int  # the most InfiniBand NICs a node has (its pools' VM sizes, else its own)
    pools: tuple[Pool, ...] = ()

    @classmethod
    def of(cls, cluster: Cluster) -> LintSpec:
        operator = cluster.gpu.operator if cluster.gpu is not None else None
        nics = max(p.vm_size.nics for p in cluster.pools) if cluster.pools else cluster.vm_size.nics
        return cls(cluster.release.tag, cluster.kubernetes.version,
                   operator.release.tag if operator is not None else None, nics, cluster.pools)


@functools.cache
def _cache(root: Path) -> DiskCache:
    return DiskCache(root, "spec-facts", VERSION)  # its key read once per process, not once per spec


def spec_facts(repo: Path, name: str) -> LintSpec:
    """The facts of ``clusters/<name>.yaml``: from gen's cache when it holds those of these bytes, else parsed (and
    kept). A SpecError as ``load_cluster`` raises it when the spec does not load."""
    data = read_spec(repo, name)
    cache = _cache(cache_root())
    key = digest("spec-facts", str(VERSION), package_digest(), name, data)
    entry = cache.get(key)
    if entry is not None:
        try:
            raw = json.loads(entry)
            gpu = raw["gpu_release"]
            return LintSpec(str(raw["release"]), str(raw["kube_version"]), None if gpu is None else str(gpu),
                            int(raw["nics"]))
        except (KeyError, TypeError, ValueError):
            pass  # another shape: parsed again
    from generator.pipeline.clusters import checked_cluster  # only when the spec is parsed: its checks load on use

    facts = LintSpec.of(checked_cluster(data, layout.spec_file(name), expected_name=name))
    if not facts.pools:
        cache.put(key, json.dumps({"release": facts.release, "kube_version": facts.kube_version,
                                   "gpu_release": facts.gpu_release, "nics": facts.nics}).encode())
    return facts
