"""Work over independent items on two cores: the first half in a forked child process, the second here.

For CPU-bound Python work whose items do not depend on each other (``gen lint`` keying and checking one cluster's
part of ``output/`` after another). The child starts from this process's memory (what was loaded, compiled and
cached before the fork is shared, not done again), sends its result back pickled over a pipe and ends. The result
is the same list, in the same order, as ``work(items)`` in one process:

- the child's result is used only when it finished its half; when it raised, died or sent nothing whole, its half
  is done again here, so an error is the one a single process raises, and raised in the same order (the first
  half's before the second's);
- what the child said on stderr is said here: the cache's once-per-process warnings once (``cache.said``), anything
  else as it was;
- one piece here when the items are fewer than ``LEAST``, when fork is not there or fails, or when this process may
  use one core only.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from generator.core import cache

T = TypeVar("T")
R = TypeVar("R")

LEAST = 16  # fewer items than this: one process (a fork and its copied pages cost tens of milliseconds)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def in_halves(items: Sequence[T], work: Callable[[Sequence[T]], list[R]], least: int | None = None) -> list[R]:
    """``work(items)``, the first half in a forked child and the second here (see the module's doc)."""
    if len(items) < (LEAST if least is None else least) or not hasattr(os, "fork") or _cores() < 2:
        return work(items)
    middle = (len(items) + 1) // 2
    first, second = items[:middle], items[middle:]
    for stream in (sys.stdout, sys.stderr):  # nothing buffered here is written twice
        stream.flush()
    reader, writer = os.pipe()
    try:
        pid = os.fork()
    except OSError:  # no process to be had (a limit, memory): one piece here, as on one core
        os.close(reader)
        os.close(writer)
        return work(items)
    if pid == 0:  # pragma: no cover - the child (its work is measured through what it sends)
        os.close(reader)
        _child(writer, work, first)
    os.close(writer)
    try:
        done = work(second)
    except Exception:
        if _received(pid, reader) is None:
            work(first)  # one process would meet the first half's error first
        raise
    except BaseException:  # interrupted: the child too
        _stop(pid, reader)
        raise
    sent = _received(pid, reader)
    return (work(first) if sent is None else sent) + done


def _child(writer: int, work: Callable[[Sequence[Any]], list[Any]], items: Sequence[Any]) -> None:  # pragma: no cover
    """Do ``items`` and send (result, what the cache said, the rest of stderr); never returns."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C reaches the parent too: it stops this child
        before = cache.said()
        sys.stderr = captured = io.StringIO()
        sys.stdout = io.StringIO()  # never the parent's output
        result = work(items)
        said = {what: message for what, message in cache.said().items() if what not in before}
        data = pickle.dumps((result, said, captured.getvalue()), protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(writer, "wb") as pipe:
            pipe.write(data)
        code = 0
    finally:
        os._exit(code)


def _received(pid: int, reader: int) -> list[Any] | None:
    """What the child did, once it ended well (what it said on stderr said here); None when it did not (its half
    is then done here)."""
    with os.fdopen(reader, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        return None
    try:
        result, said, text = pickle.loads(data)  # our own child's bytes, never a file's
    except Exception:  # cut short: done here instead
        return None
    for message in said.values():  # what the cache said there: its own lines, said here once
        text = text.replace(message + "\n", "", 1)
    sys.stderr.write(text)
    cache.say_again(said)
    return list(result)


def _stop(pid: int, reader: int) -> None:
    """End the child (this process is raising) and reap it."""
    with contextlib.suppress(ProcessLookupError):  # ended already
        os.kill(pid, signal.SIGTERM)
    os.close(reader)
    os.waitpid(pid, 0)
