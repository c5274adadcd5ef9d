"""Filesystem primitives every stage shares: one atomic write, relative to a directory fd.

A file is written to a temporary name in its own directory (``O_EXCL | O_NOFOLLOW``), fsynced, then renamed
over the target, so a reader sees the old bytes or the new ones, never a mix, and a killed run leaves at
most a temporary file that ``write`` recognises by its name and removes.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

TEMP_MARK = ".gen-tmp-"
_TEMP_RE = re.compile(r"^\..*\.gen-tmp-[0-9a-f]{16}$")


def temp_name(name: str) -> str:
    """A fresh temporary name for ``name`` in the same directory."""
    return f".{name[:100]}{TEMP_MARK}{os.urandom(8).hex()}"


def is_temp_name(name: str) -> bool:
    """True for a name made by :func:`temp_name` (basename only)."""
    return bool(_TEMP_RE.match(name))


def write_atomic_at(dir_fd: int, name: str, data: bytes) -> None:
    """Replace ``name`` in the directory ``dir_fd`` with ``data``: temp file, fsync, rename."""
    tmp = temp_name(name)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=dir_fd)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise


def atomic_write(path: Path, data: bytes) -> None:
    """Replace the file ``path`` with ``data`` atomically, creating its directory if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        write_atomic_at(dir_fd, path.name, data)
    finally:
        os.close(dir_fd)
