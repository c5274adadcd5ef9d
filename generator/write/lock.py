"""The run lock: ``output/.gen.lock``, held with ``fcntl.flock`` for a whole ``apply``.

The file holds the holder's pid (for the error message).  It is never deleted (deleting a
flock file races with waiters); add ``output/.gen.lock`` to ``.gitignore``.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from generator.core.errors import os_failure
from generator.write.fsops import open_dir
from generator.write.paths import LOCK_NAME, OUTPUT_DIR, check_output_root
from generator.write.refusals import LockTimeout, UnsafePath, WriteError

DEFAULT_TIMEOUT = 30.0
_POLL = 0.05
_TELL_AFTER = 1.0  # seconds of waiting before saying so


@contextmanager
def gen_lock(repo: Path, timeout: float = DEFAULT_TIMEOUT) -> Iterator[int]:
    """Hold ``repo/output/.gen.lock``; yields the fd of ``repo/output`` (opened no-follow)."""
    if not repo.is_dir():
        raise WriteError(f"{repo} is not a directory; run gen from the repository root")
    check_output_root(repo)
    repo_fd = open_dir(None, repo, create=False, shown=str(repo))
    try:
        out_fd = open_dir(repo_fd, OUTPUT_DIR, create=True, shown=OUTPUT_DIR)
    finally:
        os.close(repo_fd)
    shown = f"{OUTPUT_DIR}/{LOCK_NAME}"
    try:
        fd = _open_lock(out_fd, shown)
        try:
            _acquire(fd, timeout, shown)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield out_fd
        finally:
            os.close(fd)  # releases the flock
    finally:
        os.close(out_fd)


def _open_lock(out_fd: int, shown: str) -> int:
    """The lock file, which must be a regular file (never followed through a link, never a FIFO)."""
    try:
        fd = os.open(LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644,
                     dir_fd=out_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO):
            raise UnsafePath(f"{shown} is a symlink, a directory or a FIFO, not gen's lock file; remove it") from None
        raise os_failure(exc, shown, "create the run lock") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UnsafePath(f"{shown} is not a regular file (a FIFO or a device), not gen's lock file; remove it")
    return fd


def _holder(fd: int) -> str:
    """The pid the holder wrote, and whether it still runs (an earlier holder's pid may linger in the file)."""
    text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    if not text.isdigit():
        return ""
    try:
        os.kill(int(text), 0)
    except ProcessLookupError:
        return f"{text}, which no longer runs: the lock is held through another process"
    except PermissionError:
        pass
    return text


def _acquire(fd: int, timeout: float, shown: str) -> None:
    start = time.monotonic()
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            waited = time.monotonic() - start
            if waited >= timeout:
                raise LockTimeout(shown, _holder(fd), timeout) from None
            if not told and waited >= _TELL_AFTER:
                print(f"gen: waiting for {shown}: another gen run (pid {_holder(fd) or 'unknown'}) is writing "
                      f"output/; giving up after {timeout:g} s", file=sys.stderr)
                told = True
            time.sleep(_POLL)
