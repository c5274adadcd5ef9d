"""Filesystem primitives every stage shares: one atomic write, relative to a directory fd.

A file is written to a temporary name in its own directory (``O_EXCL | O_NOFOLLOW``), fsynced, then renamed
over the target, so a reader sees the old bytes or the new ones, never a mix, and a killed run leaves at
most a temporary file that ``write`` recognises by its name and removes.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import stat
from pathlib import Path
from typing import Any

from generator.core.errors import InputError

# the most gen reads of any one file it did not write: a spec's overlay, a manifest, a kustomize input, a record
MAX_FILE_BYTES = 16 * 1024 * 1024
TEMP_MARK = ".gen-tmp-"
_TEMP_RE = re.compile(r"^\..*\.gen-tmp-[0-9a-f]{16}$")


MEMORY_BACKED = "/dev/shm"  # a tmpfs on Linux; each use makes a private (0700) directory in it


_PATH_MAX = 4096


@functools.cache
def _libc_realpath() -> tuple[Any, Any] | None:
    """The C library's realpath(3) and a maker of its buffers (None where there is none), looked up once."""
    if os.name != "posix":
        return None
    try:
        import ctypes

        function = ctypes.CDLL(None).realpath
    except (ImportError, OSError, AttributeError):  # pragma: no cover - no C library with realpath
        return None
    function.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    function.restype = ctypes.c_char_p
    return function, ctypes.create_string_buffer


def realpath(path: str | os.PathLike[str]) -> str:
    """``os.path.realpath(path)``, the same string, in about a third of the time: the C library's realpath(3)
    resolves a path whose every component exists (one system call per link instead of an lstat per component in
    Python); anything it refuses (a missing component, a link loop, a path too long, a file used as a directory, no
    permission) is resolved by ``os.path.realpath``, as before."""
    libc = _libc_realpath()
    if libc is not None:
        raw = os.fsencode(path)
        if raw and b"\0" not in raw and len(raw) < _PATH_MAX:
            function, buffer = libc
            found = function(raw, buffer(_PATH_MAX))
            if found:
                return os.fsdecode(found)
    return os.path.realpath(path)


def scratch_dir() -> str | None:
    """Where to lay out short-lived trees a program reads (gen bundle's staged bundles for kustomize): the memory-backed
    ``/dev/shm`` when it is a writable directory, for a file made there costs no disk journal (on a VM's disk, 30
    times less than in /tmp); None (tempfile's choice) when TMPDIR names a place, as for every other temporary file,
    or when there is no such directory. A caller whose writes there fail (a small tmpfs full) lays its tree out in
    tempfile's place instead."""
    if os.environ.get("TMPDIR"):
        return None
    return MEMORY_BACKED if os.path.isdir(MEMORY_BACKED) and os.access(MEMORY_BACKED, os.W_OK | os.X_OK) else None


def temp_name(name: str) -> str:
    """A fresh temporary name for ``name`` in the same directory."""
    return f".{name[:100]}{TEMP_MARK}{os.urandom(8).hex()}"


def is_temp_name(name: str) -> bool:
    """True for a name made by :func:`temp_name` (basename only)."""
    return bool(_TEMP_RE.match(name))


_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def _written(fd: int, data: bytes, durable: bool) -> None:
    """Write all of ``data`` to ``fd`` (fsynced when ``durable``) and close it."""
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)


def write_new_at(dir_fd: int, name: str, data: bytes) -> None:
    """Create ``name`` in the directory ``dir_fd`` (it must not exist: never through a link) with ``data``, fsynced;
    for a directory no reader sees before it is complete (one laid out under a temporary name, then renamed)."""
    _written(os.open(name, _NEW_FILE, 0o644, dir_fd=dir_fd), data, True)


def write_atomic_at(dir_fd: int, name: str, data: bytes, *, durable: bool = True) -> None:
    """Replace ``name`` in the directory ``dir_fd`` with ``data``: temp file, fsync (unless not ``durable``: a cache
    entry, which a crash may leave torn and its authentication then refuses), rename."""
    tmp = temp_name(name)
    fd = os.open(tmp, _NEW_FILE, 0o644, dir_fd=dir_fd)
    try:
        _written(fd, data, durable)
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise


def atomic_write(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Replace the file ``path`` with ``data`` atomically, creating its directory if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        write_atomic_at(dir_fd, path.name, data, durable=durable)
    finally:
        os.close(dir_fd)


def read_regular(path: Path, limit: int, shown: str, *, over_limit_ok: bool = False) -> bytes:
    """The bytes of the regular file at ``path`` (links followed), at most ``limit`` of them.

    Never blocks on a FIFO, never reads a device or a directory, never reads past ``limit``: each is an InputError
    naming ``shown`` and what to do, as is any OS error (permissions, a link loop, an I/O error). With
    ``over_limit_ok``, a larger file gives its first ``limit + 1`` bytes instead (the caller reports it)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise InputError(f"{shown}: cannot open it: {_reason(exc)}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise InputError(f"{shown}: is {file_kind(mode)}, not a regular file; replace it with a file or remove it")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise InputError(f"{shown}: cannot read it: {_reason(exc)}") from None
    finally:
        os.close(fd)
    if size > limit and not over_limit_ok:
        raise InputError(f"{shown}: larger than the limit of {limit:,} bytes; is it the right file?")
    return b"".join(chunks)


def _reason(exc: OSError) -> str:
    """Why, and what to do."""
    if exc.errno == errno.ELOOP:
        return "a symbolic link loop; point the link at a file"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied; make it readable (chmod u+r) or run gen as its owner"
    if exc.errno == errno.ENOENT:
        return "no such file (a link to nothing?); restore the file or remove the link"
    return f"{exc.strerror or exc}; replace it with a regular file"


def file_kind(mode: int) -> str:
    """What a file of this mode is, when it is not a regular file (for messages)."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"
