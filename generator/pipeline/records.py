"""Clusters already checked: a no-op ``gen bundle`` or ``gen check`` does not render, build or check them again.

A cluster's *inputs* are everything its bundle and its checks derive from: the spec's bytes, the files of its user
overlay (``overlays/<name>/`` and what it includes), gen itself (every file of the package: code, catalog, schema
lock, chart templates; and the versions of the libraries it runs), and the programs and charts it runs (kustomize,
helm and their binaries, the network-operator charts at hand). When a run has rendered, built and checked a cluster
without an error, it records the digest of those inputs with the sha256 of every file of the cluster's bundle (and
of the shared bundles it reads) and the warnings it printed. A later run whose inputs have the same digest reads the
cluster's files from ``output/`` and, when every one has its recorded sha256, takes them as the bundle: they are
the bytes rendering would give. Anything else (a file missing or changed, a record missing or corrupt, any input
changed) renders, builds and checks the cluster as before. The fleet bootstrap is recorded the same way, keyed by the
inputs of every cluster. Records are in gen's cache (``checked/``), digest-checked like every entry.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from generator.core import layout
from generator.core.cache import DiskCache, cache_root, digest, tool_key
from generator.core.finding import Finding
from generator.core.fs import MAX_FILE_BYTES, read_regular
from generator.programs.kustomization import files_read
from generator.render.output import Bundle

MEMO_VERSION = 2
PACKAGE = Path(__file__).resolve().parent
LIBRARIES = ("PyYAML", "jsonschema-rs", "kubernetes-validate", "ruamel.yaml", "cel-expr-python")
MAX_BYTES = MAX_FILE_BYTES


@functools.cache
def package_digest() -> str:
    """Every file of the gen package (but compiled bytecode), by path and bytes, and the libraries' versions."""
    from importlib import metadata

    parts: list[bytes | str] = []
    for here, dirs, files in os.walk(PACKAGE):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if not name.endswith((".pyc", ".pyo")):
                path = Path(here) / name
                parts += [path.relative_to(PACKAGE).as_posix(), path.read_bytes()]
    for library in LIBRARIES:
        try:
            parts += [library, metadata.version(library)]
        except metadata.PackageNotFoundError:
            parts += [library, "-"]
    return digest(*parts)


def environment(kustomize: list[str], helm: list[str] | None, charts: Iterable[tuple[str, str]],
                with_chart: bool) -> str:
    """The inputs every cluster shares: gen, the programs, the charts at hand ((tag, sha256 or "")) and whether
    the rdma-infiniband chart is part of the output."""
    return digest(f"memo {MEMO_VERSION}", package_digest(), tool_key(kustomize), tool_key(helm) if helm else "-",
                  *(f"{tag}={sha}" for tag, sha in charts), f"with_chart={with_chart}")


def finding_json(finding: Finding) -> dict[str, Any]:
    data = dataclasses.asdict(finding)
    data.pop("index", None)
    data["path"] = list(finding.path)
    return data


def finding_from(data: dict[str, Any]) -> Finding:
    return Finding(**{**data, "path": tuple(data["path"])})


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Memo:
    """The records of one environment (``environment()``) in gen's cache."""

    def __init__(self, env: str, cache: DiskCache | None = None):
        self.env = env
        self.cache = cache or DiskCache(cache_root(), "checked", MEMO_VERSION)

    def cluster_key(self, repo: Path, name: str) -> str | None:
        """The digest of the cluster's own inputs (its spec and user overlay); None when a file cannot be read (the
        full run says why)."""
        try:
            rel = layout.spec_file(name)
            parts: list[bytes | str] = [self.env, rel, read_regular(repo / rel, MAX_BYTES, rel)]
            overlay = repo / layout.user_overlay_dir(name)
            if os.path.lexists(overlay):
                root = os.path.realpath(repo)
                for path in files_read(overlay):
                    shown = os.path.relpath(path, root)
                    parts += [shown, read_regular(path, MAX_BYTES, shown)]
        except Exception:
            return None
        return digest(*parts)

    def fleet_key(self, keys: dict[str, str], selected: list[str], with_chart: bool) -> str:
        return digest(self.env, "fleet", *(f"{name}={key}" for name, key in sorted(keys.items())), *selected,
                      f"with_chart={with_chart}")

    def get(self, key: str) -> dict[str, Any] | None:
        entry = self.cache.get_json(key)
        return entry if isinstance(entry, dict) and entry.get("version") == MEMO_VERSION else None

    def record(self, key: str, entry: dict[str, Any]) -> None:
        self.cache.put_json(key, {"version": MEMO_VERSION, **entry})


def bundle_record(bundle: Bundle) -> dict[str, Any]:
    """What a record keeps of a bundle: its name, spec file, every file's sha256, and the same of what it reads."""
    return {"cluster": bundle.cluster, "spec_file": bundle.spec_file,
            "files": {rel: _sha(data) for rel, data in bundle.files.items()},
            "reads": [bundle_record(read) for read in bundle.reads]}


def bundle_from_disk(repo: Path, record: dict[str, Any]) -> Bundle | None:
    """The recorded bundle with its files' bytes read from output/, when every file is there with its recorded
    sha256 (and so is every bundle it reads); else None."""
    try:
        root = repo / layout.output_dir(record["cluster"])
        files = {}
        for rel, sha in record["files"].items():
            path = root / rel
            if path.is_symlink() or not path.is_file():
                return None
            data = path.read_bytes()
            if _sha(data) != sha:
                return None
            files[rel] = data
        reads = []
        for read in record["reads"]:
            bundle = bundle_from_disk(repo, read)
            if bundle is None:
                return None
            reads.append(bundle)
        return Bundle(record["cluster"], record["spec_file"], files, {}, tuple(reads), read_from_output=True)
    except (OSError, KeyError, TypeError, AttributeError):
        return None
