"""A server that redirects forever, or answers with terminal escapes in its reason phrase: each failed download is
one escaped line (per file, per release), with the documented exit code, never the server's raw text."""

from __future__ import annotations

import contextlib
import http.server
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator import catalog
from generator.sources import schema_store as st
from generator.sources.download import download_failure
from tests.helpers import run_gen

HOSTILE_REASON = "Gone\x1b[2J\x1b]0;owned\x07"


class _Hostile(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # the name http.server calls
        if self.path.startswith("/loop"):
            self.send_response(302, "Found\x1b[31m")
            self.send_header("Location", self.path)  # back where it came from
        else:
            self.send_response(410, HOSTILE_REASON)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def _server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def _failure(url: str) -> str:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with pytest.raises(urllib.error.URLError) as caught:
        opener.open(url, timeout=10)
    return download_failure(caught.value)


def test_a_redirect_loop_and_a_hostile_reason_are_one_escaped_line_each() -> None:
    with _server() as url:
        assert _failure(f"{url}/loop") == ("a redirect loop (HTTP 302); the server sends the request back where it "
                                           "came from")
        assert _failure(f"{url}/gone") == r"HTTP 410 Gone\x1b[2J\x1b]0;owned\x07"
    assert download_failure(urllib.error.URLError(TimeoutError())) == "no answer in time"
    assert download_failure(urllib.error.URLError("x" * 500)).endswith("…")


def test_a_schema_download_in_a_redirect_loop_is_one_line_exit_3(tmp_path: Path) -> None:
    with _server() as url:
        entry = st.LockedFile("argo-cd/v0.0.0/crds/a.yaml", f"{url}/loop/a.yaml", "0" * 64)
        with pytest.raises(st.SchemaDownloadFailed) as caught:
            st.pull(tmp_path, None, lock=st.Lock((entry,), {entry.path: entry}), timeout=10)
    lines = caught.value.lines()
    assert caught.value.exit_code == 3 and len(lines) == 1 and "\x1b" not in lines[0]
    assert lines[0] == (f"gen: error: argo-cd/v0.0.0/crds/a.yaml: cannot download {url}/loop/a.yaml: a redirect loop "
                        "(HTTP 302); the server sends the request back where it came from. Without network, "
                        f"{st.FIX_HINT}.")


def test_gen_schemas_pull_says_one_line_per_release_whose_chart_cannot_be_fetched(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert run_gen("schemas", "pull", env={"GEN_SCHEMA_CACHE": str(cache)}).code == 0  # CRDs, from the mirror
    with _server() as url:
        proc = run_gen("schemas", "pull", env={"GEN_CHART_REPOSITORY": f"{url}/loop/", "GEN_SCHEMA_CACHE": str(cache),
                                               "GEN_SCHEMA_MIRROR": ""})
    assert proc.code == 0 and "Traceback" not in proc.err  # charts are optional: the catalog's facts stand in
    releases = catalog.load().release_tags
    lines = proc.err.splitlines()
    assert len(lines) == len(releases) and all(line.startswith(f"  {tag}: ") for tag, line in zip(releases, lines,
                                                                                                   strict=True))
    assert "\x1b" not in proc.err and all("redirect" in line for line in lines)  # the chart store's words, escaped
