"""The network-operator chart of a release, as a packaged ``.tgz``: from the mirror, else from the cache, and
fetched into the cache by ``gen schemas pull`` through the Helm repository's ``index.yaml``.

Layout, the same in a mirror (``--from DIR`` / ``$GEN_SCHEMA_MIRROR``) and in the cache::

    network-operator/<tag>/chart/network-operator-<chart version>.tgz
    gpu-operator/<tag>/chart/gpu-operator-<chart version>.tgz      (the GPU Operator: ``product="gpu-operator"``)

A fetched chart must match the ``digest`` (sha256) its repository's index gives for it; any chart, fetched or from
a mirror, must be the ``network-operator`` chart of the release's version, and nothing else
(``generator.sources.chart_archive``: one top-level directory, the Chart.yaml helm renders, helm's size limits).
Everything a repository or a mirror gives is hostile input: sizes are checked before reading (a file's size, a
download's ``Content-Length``), each download has one deadline (``generator.sources.download``), and the index is
parsed with gen's hardened YAML loader (depth, aliases, size) and its shape checked. The chart is optional: without
it, gen checks against the catalog's chart facts.

A chart in gen's cache counts only when gen put it there: fetching or copying it records its sha256 in an
authenticated cache entry (``generator.core.cache``: keyed with a secret of this user's, outside any work tree), and a
cached chart without that record, or with other bytes, is not at hand (a cache inside a checkout cannot be handed a
chart by a commit). A mirror is read as the user named it.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator import catalog
from generator.catalog.gpu import load_gpu
from generator.core.cache import DiskCache, cache_root, digest
from generator.core.errors import InputError, printable
from generator.core.fs import atomic_write
from generator.yamlio.load import YamlInputError, load_documents

REPOSITORY_ENV = "GEN_CHART_REPOSITORY"  # a Helm repository (a mirror of the catalog's) to fetch charts from
TIMEOUT_S = 120.0  # the deadline of one download (the index, or a chart), whatever the server does
MAX_CHART_BYTES = 64 * 1024 * 1024  # a packaged chart (the network-operator chart is about 300 KB)
MAX_INDEX_BYTES = 32 * 1024 * 1024  # a repository's index.yaml (NVIDIA's, of every chart it publishes, is a few MB)
MAX_INDEX_NODES = 1_000_000  # about 30 per chart version: some 30,000 versions; parsing that many takes ~2 s
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ChartSourceError(InputError):
    """A chart that cannot be fetched, or is not what it claims to be; the message (escaped: it quotes servers and
    files) says which and the fix."""

    def __init__(self, message: str):
        super().__init__(printable(message))


NETWORK_OPERATOR = "network-operator"
GPU_OPERATOR = "gpu-operator"


@dataclass(frozen=True)
class Chart:
    tag: str  # the release (of the network operator, or of the GPU Operator: ``product``)
    path: Path
    sha256: str
    schema_needs_network: bool = False  # a values.schema.json of the chart $refs a web URL
    product: str = NETWORK_OPERATOR


def chart_dir(root: Path, tag: str, product: str = NETWORK_OPERATOR) -> Path:
    return root / product / tag / "chart"


def identity(tag: str, product: str = NETWORK_OPERATOR) -> tuple[str, str, str]:
    """(chart name, chart version, Helm repository) of a release of ``product``."""
    if product == GPU_OPERATOR:
        gpu = load_gpu()
        return gpu.chart_name, gpu.release(tag).chart_version, gpu.chart_repository
    cat = catalog.load()
    return cat.chart_name, cat.release(tag).chart_version, cat.chart_repository


def repository_url(product: str = NETWORK_OPERATOR) -> str:
    if product == GPU_OPERATOR:
        return os.environ.get(REPOSITORY_ENV) or load_gpu().chart_repository
    return os.environ.get(REPOSITORY_ENV) or catalog.load().chart_repository


def _verified(data: bytes, tag: str, where: str, product: str = NETWORK_OPERATOR) -> bool:
    """Whether the chart ``data`` needs the network to validate values (a schema ``$ref``s the web), once it is
    known to be the release's chart and nothing else; else ChartSourceError naming ``where``."""
    from generator.sources.chart_archive import ArchiveError, inspect  # archives and the network: when used only

    name, version, _repo = identity(tag, product)
    want = (name, version)
    try:
        facts = inspect(data, name)
    except ArchiveError as exc:
        raise ChartSourceError(f"{where}: {exc}; remove it or replace it with the release's chart") from None
    if (facts.name, facts.version) != want:
        raise ChartSourceError(f"{where}: is chart {facts.name} {facts.version}, not {want[0]} {want[1]} of "
                               f"{product} {tag}; replace it with the release's chart")
    return facts.schema_needs_network


def read_chart_file(path: Path) -> bytes:
    """A chart file's bytes, its size checked before a byte is read (a sparse file of gigabytes is refused)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO put in its place does not block
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ChartSourceError(f"{path}: not a regular file; not a packaged chart")
            if info.st_size > MAX_CHART_BYTES:
                raise ChartSourceError(f"{path}: {info.st_size:,} bytes, more than the limit of {MAX_CHART_BYTES:,} "
                                       "for a chart; not a packaged chart")
            data = handle.read(MAX_CHART_BYTES + 1)
    except OSError as exc:
        raise ChartSourceError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if len(data) > MAX_CHART_BYTES:
        raise ChartSourceError(f"{path}: grew past {MAX_CHART_BYTES:,} bytes while read; not a packaged chart")
    return data


def _vouchers() -> DiskCache:
    return DiskCache(cache_root(), "chart-digests", 1)


def _voucher_key(product: str, tag: str, path: Path) -> str:
    return digest("chart", product, tag, path.name)


def vouch(chart: Chart) -> None:
    """Record that gen put this chart (these bytes) in its cache."""
    _vouchers().put(_voucher_key(chart.product, chart.tag, chart.path), chart.sha256.encode("ascii"))


def _vouched(product: str, tag: str, path: Path, sha256: str) -> bool:
    return _vouchers().get(_voucher_key(product, tag, path)) == sha256.encode("ascii")


def _is_gen_cache(root: Path) -> bool:
    from generator.sources.schema_store import default_cache_dir

    try:
        return os.path.realpath(root) == os.path.realpath(default_cache_dir())
    except OSError:
        return False


def find_chart(tag: str, roots: list[Path], product: str = NETWORK_OPERATOR) -> Chart | None:
    """The release's chart from the first root (mirror, then cache) that has one; None when none has. In gen's own
    cache, only a chart gen put there counts (``vouch``)."""
    name, version, _repo = identity(tag, product)
    for root in roots:
        folder = chart_dir(root, tag, product)
        if not folder.is_dir():
            continue
        found = sorted(p for p in folder.iterdir() if p.suffix == ".tgz" and p.is_file())
        preferred = [p for p in found if p.name == f"{name}-{version}.tgz"] or found
        if preferred:
            path = preferred[0]
            data = read_chart_file(path)
            sha256 = hashlib.sha256(data).hexdigest()
            if _is_gen_cache(root) and not _vouched(product, tag, path, sha256):
                continue  # not put there by gen (or altered since): not at hand
            needs_network = _verified(data, tag, str(path), product)
            return Chart(tag, path, sha256, needs_network, product)
    return None


def _get(url: str, limit: int, timeout: float) -> bytes:
    from generator.sources.download import DownloadError, fetch

    try:
        return fetch(url, limit, timeout)
    except DownloadError as exc:
        raise ChartSourceError(str(exc)) from None


def _index_entry(data: bytes, index_url: str, name: str, version: str, tag: str,
                 product: str = NETWORK_OPERATOR) -> dict[str, Any]:
    """The entry of chart ``name`` at ``version`` in a repository's index, its shape checked."""
    try:
        docs = load_documents(data, index_url, max_bytes=MAX_INDEX_BYTES, max_nodes=MAX_INDEX_NODES, positions=False)
    except YamlInputError as exc:
        raise ChartSourceError(f"{index_url}: not a Helm repository index: {exc.message}"
                               + (f" (line {exc.line})" if exc.line else "")) from None
    index = docs[0].value if len(docs) == 1 else None
    entries = index.get("entries") if isinstance(index, dict) else None
    if not isinstance(entries, dict):
        raise ChartSourceError(f"{index_url}: not a Helm repository index (it must be one mapping whose 'entries' "
                               "maps chart names to lists of versions)")
    versions = entries.get(name)
    if versions is None:
        raise ChartSourceError(f"{index_url}: has no chart {name} ({product} {tag} needs {version})")
    if not isinstance(versions, list):
        raise ChartSourceError(f"{index_url}: entries.{name} is not a list of chart versions")
    entry = next((e for e in versions if isinstance(e, dict) and str(e.get("version")) == version), None)
    if entry is None:
        raise ChartSourceError(f"{index_url}: has no {name} {version} ({product} {tag})")
    urls = entry.get("urls")
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls) or \
            not isinstance(entry.get("digest"), str) or not _SHA256.match(entry["digest"]):
        raise ChartSourceError(f"{index_url}: the entry of {name} {version} has no urls or sha256 digest")
    return entry


def fetch_chart(tag: str, cache_root: Path, repo_url: str | None = None, timeout: float = TIMEOUT_S,
                product: str = NETWORK_OPERATOR) -> Chart:
    """Download the release's chart through the repository's index.yaml into the cache, digest-verified;
    ``timeout``: the deadline of each download."""
    from generator.sources.download import DownloadError, check_url

    name, version, _repo = identity(tag, product)
    base = (repo_url or repository_url(product)).rstrip("/") + "/"
    try:
        check_url(base)
    except DownloadError:
        raise ChartSourceError(f"{base}: a Helm repository URL must be http:// or https://") from None
    index_url = urllib.parse.urljoin(base, "index.yaml")
    entry = _index_entry(_get(index_url, MAX_INDEX_BYTES, timeout), index_url, name, version, tag, product)
    digest = entry["digest"]
    url = urllib.parse.urljoin(base, entry["urls"][0])
    data = _get(url, MAX_CHART_BYTES, timeout)
    actual = hashlib.sha256(data).hexdigest()
    if actual != digest:
        raise ChartSourceError(f"{url}: sha256 {actual} does not match the index's digest {digest}; the download was "
                               "altered or the repository is inconsistent; nothing was written")
    needs_network = _verified(data, tag, url, product)
    path = chart_dir(cache_root, tag, product) / f"{name}-{version}.tgz"
    atomic_write(path, data)
    chart = Chart(tag, path, actual, needs_network, product)
    vouch(chart)
    return chart


def copy_chart(chart: Chart, cache_root: Path) -> Chart:
    """A mirror's chart, copied into the cache (``gen schemas pull --from DIR``): the bytes that were checked."""
    data = read_chart_file(chart.path)
    if hashlib.sha256(data).hexdigest() != chart.sha256:
        raise ChartSourceError(f"{chart.path}: changed while gen read it; run the command again")
    path = chart_dir(cache_root, chart.tag, chart.product) / chart.path.name
    if not (path.is_file() and path.stat().st_size == len(data) and read_chart_file(path) == data):
        atomic_write(path, data)
    copied = Chart(chart.tag, path, chart.sha256, chart.schema_needs_network, chart.product)
    vouch(copied)
    return copied
