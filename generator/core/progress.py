"""A progress bar for long fleet runs, on stderr: only on a terminal, never in CI (``CI=true``) or when stderr is a
file or a pipe, and only once a run has taken a moment (``DELAY`` seconds), so a short run prints nothing. It redraws
one line in place and erases it when the phase ends, so nothing of it stays in the output. Thread-safe: writers
and kustomize builds advance it from their threads."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import TextIO

DELAY = 0.5  # seconds before the bar first shows
REDRAW = 0.1  # seconds between redraws
WIDTH = 30


def wanted(stream: TextIO, env: Mapping[str, str] | None = None) -> bool:
    """Whether to draw on ``stream``: a terminal, CI not set (``CI=true``, as CI services set it), TERM not dumb."""
    env = os.environ if env is None else env
    if env.get("CI", "").strip().lower() in ("true", "1", "yes"):
        return False
    if env.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """``phase(label, total)`` starts a bar; ``advance()`` moves it; ``done()`` erases it. Disabled, every call is a
    no-op."""

    def __init__(self, stream: TextIO | None, enabled: bool, clock: Callable[[], float] = time.monotonic):
        self.stream, self.enabled, self.clock = stream, enabled and stream is not None, clock
        self.started = clock()
        self._lock = threading.Lock()
        self._label, self._total, self._count = "", 0, 0
        self._drawn_at = 0.0
        self._shown = False

    def phase(self, label: str, total: int) -> None:
        with self._lock:
            self._label, self._total, self._count = label, total, 0
            self._draw(force=True)

    def advance(self, n: int = 1) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._count = min(self._total, self._count + n)
            self._draw(force=self._count == self._total)

    def done(self) -> None:
        with self._lock:
            if self._shown and self.stream is not None:
                self.stream.write("\r\x1b[2K")
                self.stream.flush()
                self._shown = False
            self._label, self._total = "", 0

    def _draw(self, force: bool) -> None:
        if not self.enabled or self._total < 1 or self.stream is None:
            return
        now = self.clock()
        if now - self.started < DELAY or (not force and now - self._drawn_at < REDRAW):
            return
        filled = WIDTH * self._count // self._total
        bar = "#" * filled + "-" * (WIDTH - filled)
        self.stream.write(f"\r\x1b[2Kgen: [{bar}] {self._count}/{self._total} {self._label} "
                          f"({now - self.started:.0f} s)")
        self.stream.flush()
        self._drawn_at = now
        self._shown = True


def for_stderr() -> Progress:
    import sys

    return Progress(sys.stderr, wanted(sys.stderr))


QUIET = Progress(None, enabled=False)
