"""The chart store against hostile Helm repositories and mirrors: each ends in one ChartSourceError naming the
source, never a traceback, a hang or MemoryError; an archive is accepted only as the one chart it claims to be."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import socket
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.sources import chart_archive
from generator.sources.chart_store import ChartSourceError, chart_dir, fetch_chart, find_chart
from generator.sources.download import DownloadError, fetch
from tests.conftest import FIXTURE_CHARTS, REPO, serve

sys.path.insert(0, str(REPO / "bench"))
from chart_bomb import gzip_bomb

CHART_YAML = b"apiVersion: v2\nname: network-operator\nversion: 25.4.0\nappVersion: v25.4.0\n"
TAG = "v25.4.0"

# -- archives --------------------------------------------------------------------------------------------------------


def tgz(members: list[tuple[str, bytes | None]], kinds: dict[str, bytes] | None = None) -> bytes:
    """A .tgz of (name, data) regular files (data None: a directory); ``kinds``: name -> tar type (links, FIFOs)."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w") as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.mtime = 0
            if kinds and name in kinds:
                info.type = kinds[name]
                info.linkname = "/etc/passwd"
                archive.addfile(info)
            elif data is None:
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            else:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def fixture_members(top: str = "network-operator") -> list[tuple[str, bytes | None]]:
    """The fixture chart's files under ``top/``, as helm package lays them out."""
    root = FIXTURE_CHARTS / "network-operator"
    return [(f"{top}/{p.relative_to(root)}", p.read_bytes()) for p in sorted(root.rglob("*")) if p.is_file()]


EVIL_POD = b"""apiVersion: v1
kind: Pod
metadata: {name: evil, namespace: kube-system}
spec:
  hostPID: true
  containers: [{name: x, image: evil.example/x:1, securityContext: {privileged: true}}]
"""


def in_mirror(root: Path, data: bytes) -> Path:
    folder = chart_dir(root, TAG)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "network-operator-25.4.0.tgz"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(("members", "words"), [
    pytest.param([*fixture_members(), ("evil/Chart.yaml", CHART_YAML), ("evil/templates/pod.yaml", EVIL_POD)],
                 "'evil/Chart.yaml' is outside the chart's directory network-operator/", id="second-top-level-chart"),
    pytest.param([("Chart.yaml", CHART_YAML), *fixture_members()[1:]],
                 "'Chart.yaml' is outside the chart's directory", id="chart-yaml-at-the-root"),
    pytest.param([(n.replace("network-operator/Chart.yaml", "network-operator/sub/Chart.yaml"), d)
                  for n, d in fixture_members()],
                 "has no network-operator/Chart.yaml (the Chart.yaml helm renders)", id="chart-yaml-elsewhere"),
    pytest.param(fixture_members("nvidia-network-operator"), "outside the chart's directory network-operator/",
                 id="top-directory-named-otherwise"),
    pytest.param([*fixture_members(), ("network-operator/Chart.yaml", CHART_YAML.replace(b"25.4.0", b"25.4.0 "))],
                 "holds 'network-operator/Chart.yaml' twice", id="chart-yaml-twice"),
    pytest.param([*fixture_members(), ("network-operator/../x", b"")], "not a plain relative path", id="dotdot"),
    pytest.param([*fixture_members(), ("network-operator\\Chart.yaml", CHART_YAML)], "not a plain relative path",
                 id="backslash"),
    pytest.param([*fixture_members(), ("/network-operator/x", b"")], "not a plain relative path", id="absolute"),
    pytest.param([("network-operator/Chart.yaml", b"a: &a [x, x, x, x, x, x, x, x, x, x]\n" + b"".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n".encode()
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)))], "Chart.yaml does not parse", id="alias-bomb"),
    pytest.param([("network-operator/Chart.yaml", b"[" * 20_000 + b"]" * 20_000)], "nesting deeper than",
                 id="deep-chart-yaml"),
    pytest.param([("network-operator/Chart.yaml", b"- just\n- a list\n")], "has no name and version",
                 id="chart-yaml-not-a-mapping"),
])
def test_an_archive_that_is_not_one_chart_is_refused_naming_it(tmp_path: Path,
                                                               members: list[tuple[str, bytes | None]],
                                                               words: str) -> None:
    path = in_mirror(tmp_path, tgz(members))
    with pytest.raises(ChartSourceError) as caught:
        find_chart(TAG, [tmp_path])
    assert str(caught.value).startswith(f"{path}: ") and words in str(caught.value), str(caught.value)


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.FIFOTYPE, tarfile.CHRTYPE])
def test_links_and_special_files_are_refused(tmp_path: Path, kind: bytes) -> None:
    name = "network-operator/templates/x.yaml"
    in_mirror(tmp_path, tgz([*fixture_members(), (name, b"")], {name: kind}))
    with pytest.raises(ChartSourceError, match="is a link or a special file"):
        find_chart(TAG, [tmp_path])


def test_helm_renders_a_second_top_level_chart_which_is_why_it_is_refused(tmp_path: Path) -> None:
    """The outside truth: helm strips the first directory of every member, so the second chart's Chart.yaml and
    templates replace the genuine ones."""
    from generator.programs.helm import helm_command

    command = helm_command()
    assert command is not None
    archive = tmp_path / "two.tgz"
    archive.write_bytes(tgz([*fixture_members(), ("evil/Chart.yaml", CHART_YAML),
                             ("evil/templates/pod.yaml", EVIL_POD)]))
    out = subprocess.run([*command, "template", "network-operator", str(archive)], capture_output=True, text=True,
                         env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "name: evil" in out.stdout
    with pytest.raises(ChartSourceError, match="outside the chart's directory"):
        chart_archive_check(archive.read_bytes())


def chart_archive_check(data: bytes) -> None:
    try:
        chart_archive.inspect(data, "network-operator")
    except chart_archive.ArchiveError as exc:
        raise ChartSourceError(str(exc)) from None


def test_a_genuine_archive_passes_and_its_web_schema_is_noticed(tmp_path: Path) -> None:
    facts = chart_archive.inspect(tgz(fixture_members()), "network-operator")
    assert (facts.name, facts.version, facts.schema_needs_network) == ("network-operator", "25.4.0", False)
    web = [(n, b'{"$ref": "https://example.com/x.json"}' if n.endswith("values.schema.json") else d)
           for n, d in fixture_members()]
    assert chart_archive.inspect(tgz(web), "network-operator").schema_needs_network


@pytest.mark.parametrize(("one_member", "words"), [
    (False, "inflates more than 100x, a gzip bomb"),
    (True, "more than helm's limit of 5,242,880 for a file of a chart"),
])
def test_a_16_gib_gzip_bomb_is_refused_before_it_is_inflated(tmp_path: Path, one_member: bool, words: str) -> None:
    """16 GiB of zeros in about 16 MB (bench/chart_bomb.py times it: milliseconds)."""
    data = gzip_bomb(16 * 1024 ** 3, one_member)
    assert len(data) < 20 * 1024 * 1024
    in_mirror(tmp_path, data)
    with pytest.raises(ChartSourceError, match=words):
        find_chart(TAG, [tmp_path])


def test_inflated_size_is_bounded_even_at_a_modest_ratio(tmp_path: Path) -> None:
    """Members of 4 MiB that inflate only about 8x: the total bound (helm's 100 MiB) stops them."""
    block = os.urandom(4 * 1024 * 1024).translate(bytes(b"ab"[i >> 7] for i in range(256)))
    data = gzip_bomb(30 * 4 * 1024 * 1024, block=block)
    assert len(data) > (30 * 4 * 1024 * 1024) // 10  # not a bomb by its ratio
    in_mirror(tmp_path, data)
    with pytest.raises(ChartSourceError, match="more than 104,857,600 bytes"):
        find_chart(TAG, [tmp_path])


def test_an_8_gib_sparse_chart_file_is_refused_from_its_size(tmp_path: Path) -> None:
    path = in_mirror(tmp_path, b"")
    with path.open("r+b") as handle:
        handle.truncate(8 * 1024 ** 3)
    with pytest.raises(ChartSourceError, match=r"8,589,934,592 bytes, more than the limit of 67,108,864"):
        find_chart(TAG, [tmp_path])


def test_not_gzip_and_truncated_archives_are_one_error(tmp_path: Path) -> None:
    data = tgz(fixture_members())
    for broken in (b"not a chart", data[: len(data) // 2], b"\x1f\x8b" + b"\0" * 100):
        in_mirror(tmp_path, broken)
        with pytest.raises(ChartSourceError, match=r"network-operator-25\.4\.0\.tgz: "):
            find_chart(TAG, [tmp_path])


# -- repositories ----------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def raw_server(respond: Callable[[socket.socket], None]) -> Iterator[str]:
    """A server on loopback that answers each connection with ``respond`` (in a thread); yields its base URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def loop() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=_answer, args=(conn, respond), daemon=True).start()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    finally:
        stop.set()
        thread.join()
        listener.close()


def _answer(conn: socket.socket, respond: Callable[[socket.socket], None]) -> None:
    with conn:
        try:
            conn.recv(65536)
            respond(conn)
        except OSError:
            pass


def index_repo(tmp_path: Path, text: str) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir(exist_ok=True)
    (repo / "index.yaml").write_text(text)
    return repo


NESTED = "x: " + "[" * 20_000 + "]" * 20_000 + "\n"
ALIASES = "a: &a ['" + "x" * 40 + "']\n" + "".join(
    f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n" for p, c in zip("abcdefghi", "bcdefghij",
                                                                                      strict=True))


@pytest.mark.parametrize(("index", "words"), [
    ("apiVersion: v1\nentries: [network-operator]\n", "not a Helm repository index (it must be one mapping"),
    ("apiVersion: v1\nentries:\n  network-operator: {version: 25.4.0}\n", "entries.network-operator is not a list"),
    ("apiVersion: v1\nentries:\n  other: []\n", "has no chart network-operator"),
    ("apiVersion: v1\nentries:\n  network-operator:\n  - {version: 25.4.0, urls: x.tgz, digest: abc}\n",
     "has no urls or sha256 digest"),
    ("- a\n- list\n", "not a Helm repository index"),
    ("\tentries: {}\n", "not a Helm repository index: invalid YAML"),
    ("entries: !!python/object:os.system {}\n", "unsupported YAML tag"),
    (NESTED, "nesting deeper than 200 levels"),
    (ALIASES, "alias"),
])
def test_a_hostile_index_is_one_error_naming_it(tmp_path: Path, index: str, words: str) -> None:
    assert len(ALIASES) < 1400  # the 1.3 KB alias bomb
    with serve(index_repo(tmp_path, index)) as url, pytest.raises(ChartSourceError) as caught:
        fetch_chart(TAG, tmp_path / "cache", url, timeout=20)
    message = str(caught.value)
    assert message.startswith(f"{url}index.yaml: ") and words in message, message
    assert not (tmp_path / "cache").exists()


def test_a_trickling_server_is_cut_off_at_the_deadline() -> None:
    """One byte every 2 s: each read would finish within a socket timeout; the download's one deadline ends it."""
    def trickle(conn: socket.socket) -> None:
        for byte in b"HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 100:
            conn.sendall(bytes([byte]))
            time.sleep(2)

    with raw_server(trickle) as url:
        start = time.monotonic()
        with pytest.raises(ChartSourceError, match=r"did not finish within 3 s"):
            fetch_chart(TAG, Path("/nonexistent"), url, timeout=3)
        assert time.monotonic() - start < 6


def test_a_body_that_trickles_after_quick_headers_is_cut_off_too() -> None:
    def body(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/yaml\r\n\r\n")
        for _ in range(100):
            conn.sendall(b"#")
            time.sleep(1)

    with raw_server(body) as url:
        start = time.monotonic()
        with pytest.raises(DownloadError, match=r"did not finish within 2 s"):
            fetch(url, 1024, 2)
        assert time.monotonic() - start < 5


def test_sizes_are_checked_before_and_while_reading() -> None:
    def huge(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 17179869184\r\n\r\n" + b"x" * 1024)

    def unannounced(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 5000)

    with raw_server(huge) as url, pytest.raises(DownloadError, match=r"17,179,869,184 bytes \(Content-Length\), "
                                                                      r"more than the limit of 4,096; nothing"):
        fetch(url, 4096, 10)
    with raw_server(unannounced) as url, pytest.raises(DownloadError, match="larger than the limit of 4,096"):
        fetch(url, 4096, 10)


def test_a_reason_phrase_is_printed_escaped() -> None:
    def hostile(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.0 404 \x1b]0;owned\x07\x1b[2J\x1b[31mnot here\r\nContent-Length: 0\r\n\r\n")

    with raw_server(hostile) as url, pytest.raises(ChartSourceError) as caught:
        fetch_chart(TAG, Path("/nonexistent"), url, timeout=10)
    message = str(caught.value)
    assert "\x1b" not in message and "\x07" not in message and "\n" not in message
    assert "HTTP 404 \\x1b]0;owned\\x07\\x1b[2J\\x1b[31mnot here" in message


def test_a_redirect_loop_is_one_line_and_ftp_is_not_followed() -> None:
    def loop(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.0 302 Found\r\nLocation: /index.yaml\r\nContent-Length: 0\r\n\r\n")

    def to_ftp(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.0 302 Found\r\nLocation: ftp://127.0.0.1/x\r\nContent-Length: 0\r\n\r\n")

    with raw_server(loop) as url, pytest.raises(ChartSourceError) as caught:
        fetch_chart(TAG, Path("/nonexistent"), url, timeout=10)
    assert "redirect" in str(caught.value) and "\n" not in str(caught.value)
    with raw_server(to_ftp) as url, pytest.raises(ChartSourceError, match="cannot download"):
        fetch_chart(TAG, Path("/nonexistent"), url, timeout=10)


def test_a_fetched_archive_with_a_second_chart_is_refused_though_its_digest_matches(tmp_path: Path) -> None:
    data = tgz([*fixture_members(), ("evil/Chart.yaml", CHART_YAML), ("evil/templates/pod.yaml", EVIL_POD)])
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "network-operator-25.4.0.tgz").write_bytes(data)
    (repo / "index.yaml").write_text(
        "apiVersion: v1\nentries:\n  network-operator:\n  - version: 25.4.0\n    urls: [network-operator-25.4.0.tgz]\n"
        f"    digest: {hashlib.sha256(data).hexdigest()}\n")
    with serve(repo) as url, pytest.raises(ChartSourceError) as caught:
        fetch_chart(TAG, tmp_path / "cache", url, timeout=20)
    assert str(caught.value).startswith(f"{url}network-operator-25.4.0.tgz: 'evil/Chart.yaml' is outside")
    assert not (tmp_path / "cache").exists()


# -- properties ------------------------------------------------------------------------------------------------------

GENUINE = tgz(fixture_members())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(GENUINE) - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_a_damaged_archive_is_the_chart_or_one_archive_error(flips: list[tuple[int, int]]) -> None:
    data = bytearray(GENUINE)
    for at, value in flips:
        data[at] = value
    try:
        facts = chart_archive.inspect(bytes(data), "network-operator")
    except chart_archive.ArchiveError as exc:
        assert str(exc) and "\n" not in str(exc).strip()
    else:
        assert facts.name == "network-operator"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_random_bytes_are_one_archive_error(data: bytes) -> None:
    with pytest.raises(chart_archive.ArchiveError):
        chart_archive.inspect(data, "network-operator")
