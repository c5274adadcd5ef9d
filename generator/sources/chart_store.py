"""The network-operator chart of a release, as a packaged ``.tgz``: from the mirror, else from the cache, and
fetched into the cache by ``gen schemas pull`` through the Helm repository's ``index.yaml``.

Layout, the same in a mirror (``--from DIR`` / ``$GEN_SCHEMA_MIRROR``) and in the cache::

    network-operator/<tag>/chart/network-operator-<chart version>.tgz

A fetched chart must match the ``digest`` (sha256) its repository's index gives for it; any chart, fetched or from
a mirror, must be the ``network-operator`` chart of the release's version (its ``Chart.yaml`` is read from the
archive). The chart is optional: without it, gen checks against the catalog's chart facts.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from generator import catalog
from generator.core.errors import InputError
from generator.core.fs import atomic_write

REPOSITORY_ENV = "GEN_CHART_REPOSITORY"  # a Helm repository (a mirror of the catalog's) to fetch charts from
TIMEOUT_S = 30.0
MAX_CHART_BYTES = 64 * 1024 * 1024


class ChartSourceError(InputError):
    """A chart that cannot be fetched, or is not what it claims to be; the message says which and the fix."""


@dataclass(frozen=True)
class Chart:
    tag: str  # the network-operator release
    path: Path
    sha256: str


def chart_dir(root: Path, tag: str) -> Path:
    return root / "network-operator" / tag / "chart"


def repository_url() -> str:
    return os.environ.get(REPOSITORY_ENV) or catalog.load().chart_repository


def _identity(data: bytes, where: str) -> tuple[str, str]:
    """(name, version) from the Chart.yaml at the top of a packaged chart."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            for member in archive:
                parts = member.name.split("/")
                if len(parts) == 2 and parts[1] == "Chart.yaml" and member.isfile():
                    handle = archive.extractfile(member)
                    meta = yaml.safe_load(handle.read(1024 * 1024)) if handle else None
                    if isinstance(meta, dict):
                        return str(meta.get("name", "")), str(meta.get("version", ""))
    except (tarfile.TarError, OSError, EOFError, yaml.YAMLError) as exc:
        raise ChartSourceError(f"{where}: not a packaged Helm chart ({exc}); remove it or replace it") from None
    raise ChartSourceError(f"{where}: no Chart.yaml at the top of the archive; not a packaged Helm chart")


def _verified(data: bytes, tag: str, where: str) -> bytes:
    cat = catalog.load()
    want = (cat.chart_name, cat.release(tag).chart_version)
    got = _identity(data, where)
    if got != want:
        raise ChartSourceError(f"{where}: is chart {got[0]} {got[1]}, not {want[0]} {want[1]} of network-operator "
                               f"{tag}; replace it with the release's chart")
    return data


def find_chart(tag: str, roots: list[Path]) -> Chart | None:
    """The release's chart from the first root (mirror, then cache) that has one; None when none has."""
    version = catalog.load().release(tag).chart_version
    for root in roots:
        folder = chart_dir(root, tag)
        if not folder.is_dir():
            continue
        found = sorted(p for p in folder.iterdir() if p.suffix == ".tgz" and p.is_file())
        preferred = [p for p in found if p.name == f"network-operator-{version}.tgz"] or found
        if preferred:
            path = preferred[0]
            data = _verified(path.read_bytes()[: MAX_CHART_BYTES + 1], tag, str(path))
            return Chart(tag, path, hashlib.sha256(data).hexdigest())
    return None


def _opener(url: str) -> urllib.request.OpenerDirector:
    """http(s) only; a repository on this machine is reached directly, whatever proxy the environment names."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ChartSourceError(f"{url}: a Helm repository URL must be http:// or https://")
    if parts.hostname in ("localhost", "127.0.0.1", "::1"):
        return urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener()


def _get(url: str, timeout: float) -> bytes:
    try:
        with _opener(url).open(url, timeout=timeout) as response:  # the catalog's (or the user's) repository
            data = bytes(response.read(MAX_CHART_BYTES + 1))
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        raise ChartSourceError(f"cannot download {url}: {exc}") from None
    if len(data) > MAX_CHART_BYTES:
        raise ChartSourceError(f"{url}: larger than {MAX_CHART_BYTES:,} bytes; not a chart")
    return data


def fetch_chart(tag: str, cache_root: Path, repo_url: str | None = None, timeout: float = TIMEOUT_S) -> Chart:
    """Download the release's chart through the repository's index.yaml into the cache, digest-verified."""
    cat = catalog.load()
    version = cat.release(tag).chart_version
    base = (repo_url or repository_url()).rstrip("/") + "/"
    index_url = urllib.parse.urljoin(base, "index.yaml")
    try:
        index = yaml.safe_load(_get(index_url, timeout))
    except yaml.YAMLError as exc:
        raise ChartSourceError(f"{index_url}: not a Helm repository index ({exc})") from None
    entries = (index.get("entries") or {}).get(cat.chart_name) if isinstance(index, dict) else None
    entry = next((e for e in entries or [] if isinstance(e, dict) and str(e.get("version")) == version), None)
    if entry is None:
        raise ChartSourceError(f"{index_url}: has no {cat.chart_name} {version} (network-operator {tag})")
    urls = [u for u in entry.get("urls") or [] if isinstance(u, str)]
    digest = str(entry.get("digest", ""))
    if not urls or len(digest) != 64:
        raise ChartSourceError(f"{index_url}: the entry of {cat.chart_name} {version} has no urls or sha256 digest")
    url = urllib.parse.urljoin(base, urls[0])
    data = _get(url, timeout)
    actual = hashlib.sha256(data).hexdigest()
    if actual != digest:
        raise ChartSourceError(f"{url}: sha256 {actual} does not match the index's digest {digest}; the download was "
                               "altered or the repository is inconsistent; nothing was written")
    _verified(data, tag, url)
    path = chart_dir(cache_root, tag) / f"{cat.chart_name}-{version}.tgz"
    atomic_write(path, data)
    return Chart(tag, path, actual)


def copy_chart(chart: Chart, cache_root: Path) -> Chart:
    """A mirror's chart, copied into the cache (``gen schemas pull --from DIR``)."""
    data = chart.path.read_bytes()
    path = chart_dir(cache_root, chart.tag) / chart.path.name
    if not (path.is_file() and path.read_bytes() == data):
        atomic_write(path, data)
    return Chart(chart.tag, path, chart.sha256)
