"""Errors raised by ``generator.write``; each message names the path and the fix.

All derive from :class:`WriteError` (exit 2: something in output/ to fix first); a refusal to overwrite files gen
does not own is exit 1, like any other check that fails.
"""

from __future__ import annotations

from collections.abc import Iterable

from generator.core import layout
from generator.core.errors import EXIT_ENVIRONMENT, EXIT_FAILED, GenError


class WriteError(GenError):
    """Base class: the tree was not (fully) written; the message says why and what to do."""


class UnsafePath(WriteError):
    """A path would escape ``output/`` (symlink, non-directory parent, ...)."""


class InvalidBundle(UnsafePath):
    """A bundle itself is malformed: bad cluster name, bad/duplicate/reserved file path."""


class CorruptManifest(WriteError):
    """``output/<cluster>/.gen-manifest.json`` exists but cannot be trusted."""


class WriteRefused(WriteError):
    """Files exist that gen does not own and would have to overwrite or delete.

    Raised before anything is written.  ``paths`` are repo-relative.
    """

    exit_code = EXIT_FAILED

    def __init__(self, paths: Iterable[str]) -> None:
        self.paths = sorted(set(paths))
        lines = [
            f"{p} is not owned by gen; move it to overlays/{layout.cluster_of(p) or '<cluster>'}/ or rerun with --force"
            for p in self.paths
        ]
        super().__init__("refusing to overwrite files gen does not own:\n  " + "\n  ".join(lines))


class LockTimeout(WriteError):
    """Another ``gen`` run holds the lock for longer than the timeout (an environment failure: exit 3)."""

    exit_code = EXIT_ENVIRONMENT

    def __init__(self, lock_path: str, pid: str, timeout: float) -> None:
        self.lock_path = lock_path
        self.pid = pid
        super().__init__(
            f"another gen run holds {lock_path} (pid {pid or 'unknown'}); waited {timeout:g}s. "
            f"Wait for it to finish, or if no gen process is running, rerun (the lock is released "
            f"automatically when its holder exits)"
        )
