"""What a packaged Helm chart (``.tgz``) is, read the way helm reads it, within helm's own limits, and refused
whole when it is anything but one chart.

helm's loader (helm/helm ``pkg/chart/loader``, ``LoadArchiveFiles``) drops the first path component of every file
in the archive: ``network-operator/Chart.yaml`` and ``other/Chart.yaml`` both become ``Chart.yaml``, and the last one
read wins. So a chart is accepted here only when every member is under one top-level directory named as the chart,
no file is there twice, every member is a directory or a regular file (no links or devices) with a plain relative
name, and its ``Chart.yaml`` (the one helm renders) says the chart and version wanted.

Bounds, checked while the archive streams (nothing is read whole): each file at most helm's
``MaxDecompressedFileSize`` (5 MiB, from its tar header, before its data is inflated), the whole chart at most
helm's ``MaxDecompressedChartSize`` (100 MiB inflated), and an inflation ratio no chart reaches (a gzip bomb is
refused after its first megabyte). ``Chart.yaml`` is parsed with gen's hardened YAML loader.
"""

from __future__ import annotations

import re
import tarfile
import zlib
from dataclasses import dataclass
from typing import Any, cast

from generator.yamlio.load import YamlInputError, load_single

MAX_FILE_BYTES = 5 * 1024 * 1024  # helm: MaxDecompressedFileSize
MAX_UNPACKED_BYTES = 100 * 1024 * 1024  # helm: MaxDecompressedChartSize
MAX_RATIO = 100  # inflated / compressed; YAML charts inflate about 5-15x, gzip at most about 1,030x
RATIO_AFTER = 1024 * 1024  # the ratio is judged once this much is inflated
MAX_MEMBERS = 20_000
MAX_CHART_YAML = 256 * 1024
_WEB_REF = re.compile(rb'"\$ref"\s*:\s*"https?://')


class ArchiveError(ValueError):
    """Not one chart, or over a bound: the message says which (without the archive's name; the caller adds it)."""


@dataclass(frozen=True)
class ArchiveFacts:
    name: str  # Chart.yaml's name
    version: str  # Chart.yaml's version
    schema_needs_network: bool  # a values.schema.json (of the chart or a subchart) $refs a web URL


class _Inflater:
    """The gzip stream of ``data`` inflated on demand (a file object for ``tarfile``'s stream mode), refused past
    the size and ratio bounds."""

    def __init__(self, data: bytes):
        self._data: memoryview | bytes = memoryview(data)
        self._at = 0
        self._zlib = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        self._pending = b""
        self.consumed = 0
        self.inflated = 0

    def _more(self, want: int) -> bytes:
        """Up to ``want`` more inflated bytes (b"" at the end of the stream)."""
        while True:
            if self._zlib.eof:  # a further gzip member (helm reads concatenated streams too), or the end
                rest = bytes(self._zlib.unused_data) + bytes(self._data[self._at:])
                if not rest.strip(b"\0"):
                    return b""
                self._data, self._at = memoryview(rest), 0
                self._zlib = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            source = self._zlib.unconsumed_tail
            if not source:
                if self._at >= len(self._data):
                    raise ArchiveError("the gzip stream is truncated")
                chunk = self._data[self._at:self._at + 64 * 1024]
                self._at += len(chunk)
                self.consumed += len(chunk)
                source = bytes(chunk)
            out = self._zlib.decompress(source, want)
            if out:
                return out

    def read(self, want: int) -> bytes:
        if not self._pending:
            self._pending = self._more(want)
        out, self._pending = self._pending[:want], self._pending[want:]
        self.inflated += len(out)
        if self.inflated > MAX_UNPACKED_BYTES:
            raise ArchiveError(f"inflates to more than {MAX_UNPACKED_BYTES:,} bytes (helm's limit for a chart)")
        if self.inflated > RATIO_AFTER and self.inflated > MAX_RATIO * max(self.consumed, 1):
            raise ArchiveError(f"inflates more than {MAX_RATIO}x, a gzip bomb ({self.inflated:,} bytes from the "
                               f"first {self.consumed:,})")
        return out


def _member_problem(member: tarfile.TarInfo, chart: str) -> str:
    name = member.name
    if not (member.isdir() or member.isreg()):
        return f"{name!r} is a link or a special file; a chart holds only files and directories"
    parts = name.rstrip("/").split("/") if member.isdir() else name.split("/")
    if "\\" in name or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        return f"{name!r} is not a plain relative path (helm would move or refuse it)"
    if parts[0] != chart:
        return (f"{name!r} is outside the chart's directory {chart}/: a packaged chart holds one top-level directory "
                "named as the chart (helm strips the first directory of every file, so a second one would "
                "replace the chart's files)")
    if member.isreg() and len(parts) < 2:
        return f"{name!r} is a file where the chart's directory {chart}/ must be"
    if member.size > MAX_FILE_BYTES:
        return f"{name!r} is {member.size:,} bytes, more than helm's limit of {MAX_FILE_BYTES:,} for a file of a chart"
    return ""


def inspect(data: bytes, chart: str) -> ArchiveFacts:
    """The facts of the packaged chart ``data``, which must be the one chart ``chart``; else ArchiveError."""
    inflater = _Inflater(data)
    seen: set[str] = set()
    total = 0
    meta: ArchiveFacts | None = None
    needs_network = False
    try:
        with tarfile.open(fileobj=cast(Any, inflater), mode="r|", bufsize=64 * 1024) as archive:
            for member in archive:
                problem = _member_problem(member, chart)
                if problem:
                    raise ArchiveError(problem)
                if len(seen) >= MAX_MEMBERS:
                    raise ArchiveError(f"holds more than {MAX_MEMBERS:,} entries")
                key = member.name.rstrip("/")
                if key in seen and not member.isdir():
                    raise ArchiveError(f"holds {member.name!r} twice (helm would render the last one)")
                seen.add(key)
                if not member.isreg():
                    continue
                total += member.size
                if total > MAX_UNPACKED_BYTES:
                    raise ArchiveError(f"holds more than {MAX_UNPACKED_BYTES:,} bytes (helm's limit for a chart)")
                if member.name == f"{chart}/Chart.yaml":
                    meta = _chart_yaml(_read(archive, member), member.name)
                elif member.name.endswith("/values.schema.json"):
                    needs_network = needs_network or bool(_WEB_REF.search(_read(archive, member)))
    except (tarfile.TarError, zlib.error, EOFError, OSError) as exc:
        raise ArchiveError(f"not a packaged Helm chart ({exc})") from None
    if not seen:
        raise ArchiveError("is empty; not a packaged Helm chart")
    if meta is None:
        raise ArchiveError(f"has no {chart}/Chart.yaml (the Chart.yaml helm renders); not the packaged chart {chart}")
    return ArchiveFacts(meta.name, meta.version, needs_network)


def _read(archive: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    handle = archive.extractfile(member)
    return handle.read(MAX_FILE_BYTES + 1) if handle is not None else b""


def _chart_yaml(data: bytes, where: str) -> ArchiveFacts:
    try:
        doc = load_single(data, where, max_bytes=MAX_CHART_YAML)
    except YamlInputError as exc:
        raise ArchiveError(f"its Chart.yaml does not parse: {exc}") from None
    meta = doc.value
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or \
            not isinstance(meta.get("version"), (str, int, float)):
        raise ArchiveError(f"its Chart.yaml ({where}) has no name and version")
    return ArchiveFacts(meta["name"], str(meta["version"]), False)
