"""The run lock: ``output/.gen.lock``, held with ``fcntl.flock`` for a whole ``apply``.

The file holds the holder's pid (for the error message).  It is never deleted (deleting a
flock file races with waiters); add ``output/.gen.lock`` to ``.gitignore``.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from generator.write.errors import LockTimeout, WriteError
from generator.write.fsops import open_dir
from generator.write.paths import LOCK_NAME, OUTPUT_DIR, check_output_root

DEFAULT_TIMEOUT = 30.0
_POLL = 0.05


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
    try:
        fd = os.open(LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644,
                     dir_fd=out_fd)
        try:
            _acquire(fd, timeout)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield out_fd
        finally:
            os.close(fd)  # releases the flock
    finally:
        os.close(out_fd)


def _acquire(fd: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                pid = os.pread(fd, 32, 0).decode(errors="replace").strip()
                raise LockTimeout(f"{OUTPUT_DIR}/{LOCK_NAME}", pid, timeout) from None
            time.sleep(_POLL)
