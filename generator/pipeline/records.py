"""Clusters already checked: a no-op ``gen bundle`` or ``gen check`` does not render, build or check them again.

A cluster's *inputs* are everything its bundle and its checks derive from: the spec's bytes, every byte kustomize can
read through its user overlay (the whole trees of ``overlays/<name>/`` and of the bases and components it reaches; a
cluster whose overlay reads what cannot be keyed, such as a remote base, is never recorded), gen itself (every file
of the package: code, catalog, schema lock, chart templates; and the versions of the libraries it runs), and the
programs and charts it runs (kustomize, helm and their binaries, the network-operator charts at hand). When a run has
rendered, built and checked a cluster without an error, it records the digest of those inputs with the sha256 of
every file of the cluster's bundle (and of the shared bundles it reads) and the warnings it printed. A later run
whose inputs have the same digest reads the cluster's files from ``output/`` and, when every one has its recorded
sha256, takes them as the bundle: they are the bytes rendering would give. Anything else (a file missing or changed,
a record missing, corrupt or not authentic, any input changed) renders, builds and checks the cluster as before. The
fleet bootstrap is recorded the same way, keyed by the inputs of every cluster. Records are in gen's cache
(``checked/``), authenticated like every entry with this user's cache key (``generator.core.cache``): a record gen
did not write, such as one committed to the repository, is a miss.

The records are typed (``ClusterRecord``, ``FleetRecord``, ``BundleRecord``); their JSON form is written and read
here only, and a record that does not read back as one of them is a miss.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.core import layout
from generator.core.cache import DiskCache, cache_root, digest, tool_key
from generator.core.finding import Finding
from generator.core.fs import MAX_FILE_BYTES, read_regular
from generator.programs.overlays import user_overlay_inputs
from generator.render.output import Bundle

MEMO_VERSION = 3
PACKAGE = Path(__file__).resolve().parents[1]  # generator/
LIBRARIES = ("PyYAML", "jsonschema-rs", "kubernetes-validate", "ruamel.yaml", "cel-expr-python")


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


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class BundleRecord:
    """What a record keeps of a bundle: its directory's name, spec file, every file's sha256, and the same of the
    bundles it reads (a release's shared CRDs)."""

    cluster: str
    spec_file: str
    files: dict[str, str]
    reads: tuple[BundleRecord, ...] = ()

    @classmethod
    def of(cls, bundle: Bundle) -> BundleRecord:
        return cls(bundle.cluster, bundle.spec_file, {rel: _sha(data) for rel, data in bundle.files.items()},
                   tuple(cls.of(read) for read in bundle.reads))

    def to_json(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "spec_file": self.spec_file, "files": dict(self.files),
                "reads": [read.to_json() for read in self.reads]}

    @classmethod
    def from_json(cls, data: Any) -> BundleRecord:
        files = data["files"]
        if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
            raise TypeError("files")
        return cls(_text(data["cluster"]), _text(data["spec_file"]), dict(files),
                   tuple(cls.from_json(read) for read in _list(data["reads"])))

    def read_back(self, repo: Path) -> Bundle | None:
        """The recorded bundle with its files' bytes read from output/, when every file is there with its recorded
        sha256 (and so is every bundle it reads); else None."""
        try:
            root = repo / layout.output_dir(self.cluster)
            files = {}
            for rel, sha in self.files.items():
                path = root / rel
                if path.is_symlink() or not path.is_file():
                    return None
                data = path.read_bytes()
                if _sha(data) != sha:
                    return None
                files[rel] = data
            reads = []
            for read in self.reads:
                bundle = read.read_back(repo)
                if bundle is None:
                    return None
                reads.append(bundle)
        except (OSError, ValueError):
            return None
        return Bundle(self.cluster, self.spec_file, files, {}, tuple(reads), read_from_output=True)


@dataclass(frozen=True)
class ClusterRecord:
    """A cluster rendered, built and checked without an error: its bundle, the warnings it said (the spec's notes
    and the findings), its release, and what the fleet needs of it."""

    bundle: BundleRecord
    notes: tuple[str, ...]
    release: str
    source: str  # argocd.source: overlay | chart
    release_dir: str  # output/ directory of its release's shared CRDs ("" unless rendered delivery)
    findings: tuple[Finding, ...]
    asks_previous: bool = False  # an object has an update rule (oldSelf): gen check compares it with a commit

    def to_json(self) -> dict[str, Any]:
        return {"bundle": self.bundle.to_json(), "notes": list(self.notes), "release": self.release,
                "asks_previous": self.asks_previous, "source": self.source, "release_dir": self.release_dir,
                "findings": [_finding_json(f) for f in self.findings]}

    @classmethod
    def from_json(cls, data: Any) -> ClusterRecord:
        return cls(BundleRecord.from_json(data["bundle"]), tuple(_text(n) for n in _list(data["notes"])),
                   _text(data["release"]), _text(data["source"]), _text(data["release_dir"]),
                   tuple(_finding(f) for f in _list(data["findings"])), data["asks_previous"] is True)


@dataclass(frozen=True)
class FleetRecord:
    """The fleet bootstrap and the rdma-infiniband chart as a run with these clusters wrote them, and what their
    checks found."""

    fleet: BundleRecord | None
    chart: BundleRecord | None
    findings: tuple[Finding, ...]

    def to_json(self) -> dict[str, Any]:
        return {"fleet": self.fleet.to_json() if self.fleet else None,
                "chart": self.chart.to_json() if self.chart else None,
                "findings": [_finding_json(f) for f in self.findings]}

    @classmethod
    def from_json(cls, data: Any) -> FleetRecord:
        fleet, chart = data["fleet"], data["chart"]
        return cls(BundleRecord.from_json(fleet) if fleet is not None else None,
                   BundleRecord.from_json(chart) if chart is not None else None,
                   tuple(_finding(f) for f in _list(data["findings"])))


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError("not a list")
    return value


def _finding_json(finding: Finding) -> dict[str, Any]:
    data = dataclasses.asdict(finding)
    data.pop("index", None)
    data["path"] = list(finding.path)
    return data


def _finding(data: Any) -> Finding:
    return Finding(**{**data, "path": tuple(data["path"])})


class Records:
    """The records of one environment (``environment()``) in gen's cache."""

    def __init__(self, env: str, cache: DiskCache | None = None):
        self.env = env
        self.cache = cache or DiskCache(cache_root(), "checked", MEMO_VERSION)

    def cluster_key(self, repo: Path, name: str) -> str | None:
        """The digest of the cluster's own inputs: its spec, and every byte kustomize can read through its user
        overlay (``overlays.user_overlay_inputs``: the whole trees of the overlay and of the bases and components it
        reaches). None when a file cannot be read (the full run says why) or the overlay's inputs cannot all be keyed
        (a remote base, Helm charts, plugins): such a cluster is checked on every run."""
        try:
            rel = layout.spec_file(name)
            parts: list[bytes | str] = [self.env, rel, read_regular(repo / rel, MAX_FILE_BYTES, rel)]
            parts += user_overlay_inputs(repo, name)
        except Exception:
            return None
        return digest(*parts)

    def fleet_key(self, keys: dict[str, str], selected: list[str], with_chart: bool) -> str:
        return digest(self.env, "fleet", *(f"{name}={key}" for name, key in sorted(keys.items())), *selected,
                      f"with_chart={with_chart}")

    def _get(self, key: str) -> dict[str, Any] | None:
        entry = self.cache.get_json(key)
        return entry if isinstance(entry, dict) and entry.get("version") == MEMO_VERSION else None

    def cluster(self, key: str | None) -> ClusterRecord | None:
        entry = self._get(key) if key else None
        try:
            return ClusterRecord.from_json(entry) if entry is not None else None
        except (KeyError, TypeError, ValueError):
            return None

    def fleet(self, key: str) -> FleetRecord | None:
        entry = self._get(key)
        try:
            return FleetRecord.from_json(entry) if entry is not None else None
        except (KeyError, TypeError, ValueError):
            return None

    def record(self, key: str, record: ClusterRecord | FleetRecord) -> None:
        self.cache.put_json(key, {"version": MEMO_VERSION, **record.to_json()})
