"""Symlink-proof file operations relative to directory file descriptors.

Every directory is opened component by component with ``O_NOFOLLOW``, so nothing can be written
or deleted through a symlink even if one appears after planning.  Files are written with
``generator.core.fs.write_atomic_at`` (temp file, fsync, rename); directories are fsynced before the
next stage relies on them.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from generator.core.errors import os_failure
from generator.core.fs import write_atomic_at, write_new_at
from generator.write.refusals import UnsafePath

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def open_dir(parent_fd: int | None, name: str | Path, *, create: bool, shown: str, sync: bool = True) -> int:
    """Open ``name`` (relative to ``parent_fd``) as a directory without following symlinks; one it creates is made
    durable in its parent at once unless not ``sync`` (the caller then fsyncs the parent itself)."""
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
    if parent_fd is not None and sync:
        os.fsync(parent_fd)
    return open_dir(parent_fd, name, create=False, shown=shown)


class DirTree:
    """Directory fds below one root directory fd, opened lazily and cached."""

    def __init__(self, root_fd: int, shown: str) -> None:
        self._fds: dict[tuple[str, ...], int] = {(): root_fd}
        self._dirty: set[tuple[str, ...]] = set()
        self.shown = shown
        self._as: dict[str, str] = {}

    def show_as(self, name: str, shown: str) -> None:
        """Name the entry ``name`` of the root (a directory laid out under a temporary name) as ``shown`` in errors."""
        self._as[name] = shown

    def _shown(self, parts: tuple[str, ...]) -> str:
        if parts and parts[0] in self._as:
            parts = (self._as[parts[0]], *parts[1:])
        return "/".join((self.shown, *parts))

    def dir(self, parts: tuple[str, ...], *, create: bool = True, later: bool = False) -> int:
        """The directory's fd, made (with its parents) when ``create``; ``later``: what it makes is fsynced in its
        parent by the next ``sync``, not at once (a tree no reader sees until it is renamed into place)."""
        fd = self._fds.get(parts)
        if fd is None:
            parent = self.dir(parts[:-1], create=create, later=later)
            fd = open_dir(parent, parts[-1], create=create, shown=self._shown(parts), sync=not later)
            self._fds[parts] = fd
            if later and create:
                self._dirty.add(parts[:-1])
        return fd

    def create(self, parts: tuple[str, ...], data: bytes) -> None:
        """A new file (none may be there), fsynced, in a directory made when missing, all durable at the next
        ``sync``: for a tree laid out under a temporary name, which no reader sees until it is renamed."""
        try:
            write_new_at(self.dir(parts[:-1], later=True), parts[-1], data)
        except OSError as exc:
            raise os_failure(exc, self._shown(parts), "write it") from None
        self._dirty.add(parts[:-1])

    def rename(self, source: tuple[str, ...], target: tuple[str, ...]) -> None:
        """Rename ``source`` to ``target`` (which must not be there, but as an empty directory when ``source`` is
        one)."""
        try:
            os.rename(source[-1], target[-1], src_dir_fd=self.dir(source[:-1], create=False),
                      dst_dir_fd=self.dir(target[:-1], create=False))
        except OSError as exc:
            raise os_failure(exc, self._shown(target), "put it in place") from None
        self._dirty.update((source[:-1], target[:-1]))

    def remove_tree(self, parts: tuple[str, ...]) -> None:
        """Remove the directory ``parts`` and everything in it, never following a link (one gone already is
        fine)."""
        fd = self._fds.pop(parts, None)
        if fd is not None:
            os.close(fd)
        for inner in [p for p in self._fds if p[:len(parts)] == parts]:
            os.close(self._fds.pop(inner))
        try:
            shutil.rmtree(parts[-1], dir_fd=self.dir(parts[:-1], create=False))
        except FileNotFoundError:
            return
        except OSError as exc:
            raise os_failure(exc, self._shown(parts), "remove it") from None
        self._dirty.add(parts[:-1])

    def write(self, parts: tuple[str, ...], data: bytes) -> None:
        try:
            write_atomic_at(self.dir(parts[:-1]), parts[-1], data)
        except OSError as exc:  # a full disk, a read-only file system: the old file is untouched
            raise os_failure(exc, self._shown(parts), "write it") from None
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
