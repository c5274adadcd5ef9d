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
import hashlib
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.core import layout
from generator.core.cache import DiskCache, cache_root, digest, tool_key
from generator.core.finding import Finding
from generator.core.fs import MAX_FILE_BYTES, read_regular
from generator.core.identity import package_digest
from generator.programs.overlays import user_overlay_inputs
from generator.render.fleet import FleetPart
from generator.render.output import Bundle

MEMO_VERSION = 5


def environment(kustomize: list[str], helm: list[str] | None, charts: Iterable[tuple[str, str]],
                with_chart: bool) -> str:
    """The inputs every cluster shares: gen, the programs, the charts at hand ((tag, sha256 or "")) and whether
    the rdma-infiniband chart is part of the output."""
    return digest(f"memo {MEMO_VERSION}", package_digest(), tool_key(kustomize), tool_key(helm) if helm else "-",
                  *(f"{tag}={sha}" for tag, sha in charts), f"with_chart={with_chart}")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _regular_bytes(path: str) -> bytes | None:
    """The bytes of ``path`` when it is a regular file (never through a link), else None. One open, fstat and read
    (a fleet's output is thousands of files, read back on every run)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE_BYTES:
            return None
        data = os.read(fd, st.st_size + 1)
        while len(data) < st.st_size and (more := os.read(fd, st.st_size + 1 - len(data))):
            data += more  # a short read
        return data if len(data) <= st.st_size else None  # grown since its size was asked: read it next run
    finally:
        os.close(fd)


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
            root = f"{repo}/{layout.output_dir(self.cluster)}/"
            files = {}
            for rel, sha in self.files.items():
                data = _regular_bytes(root + rel)
                if data is None or _sha(data) != sha:
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
class SpecFacts:
    """What a run needs of a cluster's parsed spec besides its bundle (so that a recorded cluster's spec is not parsed
    again): its release, how Argo CD delivers it, which cluster its Application lands in (one destination per cluster
    is checked across the fleet), its Kubernetes version and NIC count (gen lint's checker), its notes and its GPU
    Operator release ("" without one: whether that chart is at hand is said as for a parsed spec). Its part of
    the fleet bootstrap is recorded beside it (``Records.fleet_part``), read only when the bootstrap is assembled."""

    release: str
    source: str  # argocd.source: overlay | chart
    release_dir: str  # output/ directory of its release's shared CRDs ("" unless rendered delivery)
    gitops: str  # argocd | flux
    destination: tuple[str, str, str]  # (Argo CD namespace, "name" or "server", where): clusters.destination_key
    kube_version: str
    nics: int
    notes: tuple[str, ...]
    gpu_release: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"release": self.release, "source": self.source, "release_dir": self.release_dir,
                "gitops": self.gitops, "destination": list(self.destination), "kube_version": self.kube_version,
                "nics": self.nics, "notes": list(self.notes), "gpu_release": self.gpu_release}

    @classmethod
    def from_json(cls, data: Any) -> SpecFacts:
        where = tuple(_text(d) for d in _list(data["destination"]))
        nics = data["nics"]
        if len(where) != 3 or not isinstance(nics, int) or isinstance(nics, bool):
            raise TypeError("destination or nics")
        return cls(_text(data["release"]), _text(data["source"]), _text(data["release_dir"]), _text(data["gitops"]),
                   (where[0], where[1], where[2]), _text(data["kube_version"]), nics,
                   tuple(_text(n) for n in _list(data["notes"])), _text(data["gpu_release"]))


FleetPartRecord = tuple[FleetPart, tuple[Finding, ...]]  # a cluster's part of the bootstrap, and its check's findings


def _part_json(part: FleetPart) -> dict[str, Any]:
    return {"cluster": part.cluster, "argocd_namespace": part.argocd_namespace, "project": part.project,
            "project_yaml": part.project_yaml, "element": part.element, "element_yaml": part.element_yaml,
            "flux_file": part.flux_file, "flux_objects": list(part.flux_objects), "flux_yaml": part.flux_yaml}


def _part(data: Any) -> FleetPart:
    project, element = data["project"], data["element"]
    if not (project is None or isinstance(project, dict)) or not (element is None or isinstance(element, dict)):
        raise TypeError("project or element")
    return FleetPart(_text(data["cluster"]), _text(data["argocd_namespace"]), project, _text(data["project_yaml"]),
                     element, _text(data["element_yaml"]), _text(data["flux_file"]),
                     tuple(_list(data["flux_objects"])), _text(data["flux_yaml"]))


@dataclass(frozen=True)
class ClusterRecord:
    """A cluster rendered, built and checked without an error: its bundle, the findings (warnings) its checks said,
    and what the run needs of its spec."""

    bundle: BundleRecord
    spec: SpecFacts
    findings: tuple[Finding, ...]
    asks_previous: bool = False  # an object has an update rule (oldSelf): gen check compares it with a commit
    objects: int = 0  # how many objects its files hold (gen lint's count)

    @property
    def notes(self) -> tuple[str, ...]:
        return self.spec.notes

    @property
    def release(self) -> str:
        return self.spec.release

    @property
    def source(self) -> str:
        return self.spec.source

    @property
    def release_dir(self) -> str:
        return self.spec.release_dir

    def to_json(self) -> dict[str, Any]:
        return {"bundle": self.bundle.to_json(), "spec": self.spec.to_json(), "asks_previous": self.asks_previous,
                "objects": self.objects, "findings": [_finding_json(f) for f in self.findings]}

    @classmethod
    def from_json(cls, data: Any) -> ClusterRecord:
        objects = data["objects"]
        if not isinstance(objects, int) or isinstance(objects, bool):
            raise TypeError("objects")
        return cls(BundleRecord.from_json(data["bundle"]), SpecFacts.from_json(data["spec"]),
                   tuple(_finding(f) for f in _list(data["findings"])), data["asks_previous"] is True, objects)


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
        self.bytes = DiskCache(self.cache.root, "rendered", MEMO_VERSION)  # the recorded bundles' bytes, by key

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

    def fleet_part(self, key: str) -> FleetPartRecord | None:
        """The fleet bootstrap's part of the cluster recorded under ``key``, with its findings."""
        entry = self._get(digest(key, "fleet part"))
        try:
            return (_part(entry["part"]), tuple(_finding(f) for f in _list(entry["findings"]))) if entry else None
        except (KeyError, TypeError, ValueError):
            return None

    def record_fleet_part(self, key: str, part: FleetPartRecord) -> None:
        self.cache.put_json(digest(key, "fleet part"), {"version": MEMO_VERSION, "part": _part_json(part[0]),
                                                         "findings": [_finding_json(f) for f in part[1]]})

    def record(self, key: str, record: ClusterRecord | FleetRecord, *bundles: Bundle) -> None:
        """Record ``record`` under ``key``, with the bytes of ``bundles`` (the ones it records: see ``rendered``)."""
        self.cache.put_json(key, {"version": MEMO_VERSION, **record.to_json()})
        if bundles:
            self.bytes.put(key, _pack([b for bundle in bundles for b in (bundle, *bundle.reads)]))

    def rendered(self, key: str, *records: BundleRecord) -> list[Bundle] | None:
        """The bundles of ``records`` (recorded under ``key``) with the bytes rendering gave, when the files output/
        holds are other bytes (a spec changed and gen bundle has not written it yet); None when they are not all
        kept, or one's sha256 is not the recorded one."""
        kept = _unpack(self.bytes.get(key) or b"")
        if kept is None:
            return None
        out = []
        for record in records:
            bundle = _unpacked(record, kept)
            if bundle is None:
                return None
            out.append(bundle)
        return out


def _pack(bundles: list[Bundle]) -> bytes:
    """Every file of ``bundles``, each as a header line (the lengths of its name and bytes), its name
    (``<directory>/<path>``) and its bytes."""
    out = []
    for bundle in bundles:
        for rel, data in sorted(bundle.files.items()):
            name = f"{bundle.cluster}/{rel}".encode()
            out += [b"%d %d\n" % (len(name), len(data)), name, data]
    return b"".join(out)


def _unpack(payload: bytes) -> dict[str, bytes] | None:
    """``_pack``'s files by name; None when the payload is not one."""
    files: dict[str, bytes] = {}
    at = 0
    try:
        while at < len(payload):
            end = payload.index(b"\n", at, at + 40)
            sizes = payload[at:end].split(b" ")
            name_len, data_len = int(sizes[0]), int(sizes[1])
            name = payload[end + 1:end + 1 + name_len].decode()
            files[name] = payload[end + 1 + name_len:end + 1 + name_len + data_len]
            at = end + 1 + name_len + data_len
    except (ValueError, IndexError, UnicodeDecodeError):
        return None
    return files if at == len(payload) else None


def _unpacked(record: BundleRecord, kept: dict[str, bytes]) -> Bundle | None:
    """The bundle of ``record`` from the kept files, when every one is there with its recorded sha256."""
    files = {}
    for rel, sha in record.files.items():
        data = kept.get(f"{record.cluster}/{rel}")
        if data is None or _sha(data) != sha:
            return None
        files[rel] = data
    reads = [_unpacked(read, kept) for read in record.reads]
    if any(read is None for read in reads):
        return None
    return Bundle(record.cluster, record.spec_file, files, {}, tuple(r for r in reads if r is not None))
