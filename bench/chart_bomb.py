"""Benchmark: how fast gen refuses a packaged chart that is a gzip bomb (about 16 MB holding 16 GiB).

Usage: .venv/bin/python bench/chart_bomb.py [--gib 16] [--runs 3]

Builds, without ever holding the inflated bytes, a ``network-operator-25.4.0.tgz`` whose tar stream is the genuine
``network-operator/Chart.yaml`` followed by members of 4 MiB of zeros (each under helm's 5 MiB per-file limit, so
only the inflation bounds can stop it) up to ``--gib`` GiB, and a second one whose single member declares the whole
size in its tar header. Puts each in a mirror laid out as gen reads it and times ``find_chart`` (what every
``gen bundle`` and ``gen check`` does with a mirror's chart) until it refuses. Prints the compressed size and the
median and max time of the runs.
"""

from __future__ import annotations

import argparse
import statistics
import struct
import sys
import tarfile
import tempfile
import time
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHART_YAML = (b"apiVersion: v2\nname: network-operator\nversion: 25.4.0\nappVersion: v25.4.0\n"
              b"description: gzip bomb for rdma-gitops' benchmark\n")
MEMBER = 4 * 1024 * 1024


def _flushed(data: bytes) -> bytes:
    """``data`` as raw deflate blocks, byte-aligned and independent of anything before or after them."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush(zlib.Z_FULL_FLUSH)


def _header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, 0
    return info.tobuf(tarfile.PAX_FORMAT)


def _padded(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 512)


def gzip_bomb(total: int, one_member: bool = False, block: bytes = b"") -> bytes:
    """A .tgz: Chart.yaml, then ``total`` bytes of zeros (or of ``block``, 4 MiB, repeated) in 4 MiB members (or
    one member declaring them all); the gzip trailer's CRC is not that of the data (nothing that refuses the bomb
    reads that far)."""
    head = _header("network-operator/Chart.yaml", len(CHART_YAML)) + _padded(CHART_YAML)
    parts = [_flushed(head)]
    zeros = _flushed(block or b"\0" * MEMBER)
    if one_member:
        parts.append(_flushed(_header("network-operator/templates/bomb.yaml", total)))
        parts += [zeros] * (total // MEMBER)
    else:
        for i in range(total // MEMBER):
            parts += [_flushed(_header(f"network-operator/templates/bomb-{i}.yaml", MEMBER)), zeros]
    final = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS).flush(zlib.Z_FINISH)
    trailer = struct.pack("<II", 0, total % (1 << 32))
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + b"".join(parts) + final + trailer


def measure(data: bytes, runs: int) -> list[float]:
    sys.path.insert(0, str(REPO))
    from generator.sources.chart_store import ChartSourceError, chart_dir, find_chart

    times = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = chart_dir(Path(tmp), "v25.4.0")
        folder.mkdir(parents=True)
        (folder / "network-operator-25.4.0.tgz").write_bytes(data)
        for _ in range(runs):
            start = time.perf_counter()
            try:
                find_chart("v25.4.0", [Path(tmp)])
            except ChartSourceError as exc:
                message = str(exc)
            else:
                raise SystemExit("the bomb was accepted")
            times.append(time.perf_counter() - start)
    print(f"  refused: {message}")
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gib", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    total = args.gib * 1024 ** 3
    for label, one in (("4 MiB members", False), ("one member", True)):
        data = gzip_bomb(total, one)
        print(f"{label}: {len(data):,} bytes compressed, {total:,} inflated")
        times = measure(data, args.runs)
        print(f"  refused in median {statistics.median(times):.3f} s, max {max(times):.3f} s ({args.runs} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
