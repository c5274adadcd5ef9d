"""One bounded HTTP(S) download: whatever the server does, it ends within its deadline and its size limit, or is
one error saying why, on one line.

- One deadline for the whole download (connection, TLS, headers, body, redirects): a watchdog shuts the sockets
  down when it passes, so a server that sends one byte every few seconds is cut off, not waited for byte by byte
  (a socket timeout alone bounds each read, not the download).
- The size is checked before reading (``Content-Length``) and while reading (never more than the limit + 1 bytes
  held).
- http and https only, redirects included (no ftp, no file); a server on this machine is reached without the
  environment's proxy.
- What a server says (its reason phrase, a redirect's target) is shown escaped: it cannot forge a line or send a
  terminal escape sequence to the user's terminal or CI log; ``download_failure`` says the same of an error from a
  plain ``urlopen`` (the schema store's): one line, a redirect loop in words of its own.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from generator.core.errors import printable

IDLE_S = 20.0  # the longest a single read may wait (within the deadline)
_CHUNK = 64 * 1024
_LOCAL = ("localhost", "127.0.0.1", "::1")


class DownloadError(Exception):
    """Why a download failed, on one printable line."""

    def __init__(self, message: str):
        super().__init__(printable(message))


class _Deadline:
    """Shuts down every socket of a download when its time is up."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def watch(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)
        return sock

    def _fire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)

    def cancel(self) -> None:
        self._timer.cancel()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # the plain socket's shutdown, under any TLS layer: a blocked read returns
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _connection_factory(base: type[http.client.HTTPConnection], deadline: _Deadline) -> Any:
    def make(host: str, **kwargs: Any) -> http.client.HTTPConnection:
        conn = base(host, **kwargs)
        create = conn._create_connection  # type: ignore[attr-defined]

        def watched(address: Any, timeout: Any = None, source: Any = None) -> socket.socket:
            return deadline.watch(create(address, min(IDLE_S, max(deadline.remaining(), 0.01)), source))

        conn._create_connection = watched  # type: ignore[attr-defined]
        return conn

    return make


def _opener(url: str, deadline: _Deadline) -> urllib.request.OpenerDirector:
    """http(s) only, each connection watched by ``deadline``; no proxy for a server on this machine."""
    http_conn = _connection_factory(http.client.HTTPConnection, deadline)
    https_conn = _connection_factory(http.client.HTTPSConnection, deadline)

    class Http(urllib.request.HTTPHandler):
        def http_open(self, req: Any) -> Any:
            return self.do_open(http_conn, req)

    class Https(urllib.request.HTTPSHandler):
        def https_open(self, req: Any) -> Any:
            return self.do_open(https_conn, req, context=self._context)  # type: ignore[attr-defined]

    local = urllib.parse.urlsplit(url).hostname in _LOCAL
    opener = urllib.request.OpenerDirector()
    for handler in (urllib.request.ProxyHandler({} if local else None), Http(), Https(),
                    urllib.request.HTTPDefaultErrorHandler(), urllib.request.HTTPRedirectHandler(),
                    urllib.request.HTTPErrorProcessor()):
        opener.add_handler(handler)
    return opener


def check_url(url: str) -> None:
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise DownloadError(f"{url}: must be an http:// or https:// URL")


def fetch(url: str, max_bytes: int, deadline_s: float) -> bytes:
    """The body at ``url``: at most ``max_bytes``, all of it within ``deadline_s`` seconds; else DownloadError."""
    check_url(url)
    deadline = _Deadline(deadline_s)
    try:
        return _read(url, max_bytes, deadline)
    except DownloadError:
        raise
    except urllib.error.HTTPError as exc:
        if deadline.expired:
            raise _late(url, deadline) from None
        if 300 <= exc.code < 400:
            raise DownloadError(f"cannot download {url}: too many redirects or a redirect loop "
                                f"(HTTP {exc.code})") from None
        raise DownloadError(f"cannot download {url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        if deadline.expired:
            raise _late(url, deadline) from None
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise DownloadError(f"cannot download {url}: {reason or type(exc).__name__}") from None
    finally:
        deadline.cancel()


def _late(url: str, deadline: _Deadline) -> DownloadError:
    return DownloadError(f"cannot download {url}: did not finish within {deadline.seconds:g} s")


def _read(url: str, max_bytes: int, deadline: _Deadline) -> bytes:
    with _opener(url, deadline).open(url, timeout=min(IDLE_S, deadline.remaining())) as response:
        length = response.headers.get("Content-Length")
        if length is not None and length.strip().isdigit() and int(length) > max_bytes:
            raise DownloadError(f"{url}: {int(length):,} bytes (Content-Length), more than the limit of "
                                f"{max_bytes:,}; nothing was read")
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = response.read1(_CHUNK)
            if deadline.expired:
                raise _late(url, deadline)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                raise DownloadError(f"{url}: larger than the limit of {max_bytes:,} bytes; not what it claims to be")
            chunks.append(chunk)
    if deadline.expired:
        raise _late(url, deadline)
    return b"".join(chunks)


MAX_REASON = 200
_LOOP = "redirect error that would lead to an infinite loop"


def _short(text: str) -> str:
    shown = printable(text.strip())
    return shown if len(shown) <= MAX_REASON else shown[: MAX_REASON - 1] + "…"


def download_failure(exc: BaseException) -> str:
    """``exc`` (from ``urlopen``) as one printable line: "a redirect loop (HTTP 302)", "HTTP 404 Not Found", the
    network's reason ("Name or service not known"), or "no answer in time"."""
    if isinstance(exc, urllib.error.HTTPError):
        if _LOOP in str(exc.msg):
            return f"a redirect loop (HTTP {exc.code}); the server sends the request back where it came from"
        return f"HTTP {exc.code} {_short(str(exc.msg))}".rstrip()
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        return "no answer in time" if isinstance(reason, TimeoutError) else _short(str(reason))
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return _short(str(exc) or type(exc).__name__)
