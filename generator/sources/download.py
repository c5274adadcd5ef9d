"""Why a download failed, in words gen can print: one line, a server's own text escaped and cut short.

urllib's errors carry what the server sent (a reason phrase may hold a newline or a terminal escape sequence) and,
for a redirect loop, three lines of their own; neither may reach the terminal or a CI log as it is."""

from __future__ import annotations

import urllib.error

from generator.core.errors import printable

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
