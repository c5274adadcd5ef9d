"""Symlink-proof file operations relative to directory file descriptors.

Every directory is opened component by component with ``O_NOFOLLOW``, so nothing can be written
or deleted through a symlink even if one appears after planning.  Files are written with
``generator.core.fs.write_atomic_at`` (temp file, fsync, rename); directories are fsynced before the
next stage relies on them.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from generator.core.errors import os_failure
from generator.core.fs import write_atomic_at
from generator.write.refusals import UnsafePath

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def open_dir(parent_fd: int | None, name: str | Path, *, create: bool, shown: str) -> int:
    """Open ``name`` (relative to ``parent_fd``) as a directory without following symlinks."""
    flags = _DIR_FLAGS if parent_fd is not None else os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
    try:
        return os.open(name, flags, dir_fd=parent_fd)
    except FileNotFoundError:
        if not create:
            raise
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.ENOTDIR):
            raise UnsafePath(
                f"{shown} is a symlink or not a directory; gen never writes through symlinks: "
                f"replace it with a real directory"
            ) from None
        raise
    try:
        os.mkdir(name, 0o755, dir_fd=parent_fd)
    except FileExistsError:
        pass
    except OSError as exc:
        raise os_failure(exc, shown, "create the directory") from None
    if parent_fd is not None:
        os.fsync(parent_fd)
    return open_dir(parent_fd, name, create=False, shown=shown)


class DirTree:
    """Directory fds below one root directory fd, opened lazily and cached."""

    def __init__(self, root_fd: int, shown: str) -> None:
        self._fds: dict[tuple[str, ...], int] = {(): root_fd}
        self._dirty: set[tuple[str, ...]] = set()
        self.shown = shown

    def dir(self, parts: tuple[str, ...], *, create: bool = True) -> int:
        fd = self._fds.get(parts)
        if fd is None:
            parent = self.dir(parts[:-1], create=create)
            fd = open_dir(parent, parts[-1], create=create, shown="/".join((self.shown, *parts)))
            self._fds[parts] = fd
        return fd

    def write(self, parts: tuple[str, ...], data: bytes) -> None:
        try:
            write_atomic_at(self.dir(parts[:-1]), parts[-1], data)
        except OSError as exc:  # a full disk, a read-only file system: the old file is untouched
            raise os_failure(exc, "/".join((self.shown, *parts)), "write it") from None
        self._dirty.add(parts[:-1])

    def unlink(self, parts: tuple[str, ...]) -> None:
        try:
            os.unlink(parts[-1], dir_fd=self.dir(parts[:-1], create=False))
        except FileNotFoundError:
            return
        self._dirty.add(parts[:-1])

    def rmdir(self, parts: tuple[str, ...]) -> bool:
        """Remove the directory if empty; False if it is not empty or gone."""
        fd = self._fds.pop(parts, None)
        if fd is not None:
            os.close(fd)
        try:
            os.rmdir(parts[-1], dir_fd=self.dir(parts[:-1], create=False))
        except OSError as e:
            if e.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT):
                return False
            raise
        self._dirty.add(parts[:-1])
        return True

    def sync(self) -> None:
        """fsync every directory changed since the last sync."""
        for parts in sorted(self._dirty, key=len, reverse=True):
            fd = self._fds.get(parts)
            if fd is not None:
                os.fsync(fd)
        self._dirty.clear()

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
