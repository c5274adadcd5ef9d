"""The one on-disk cache: derived data (converted CRD schemas, kustomize builds) keyed by the digest of
everything it was derived from, written atomically, and verified when read.

An entry is ``<sha256 of the payload>\\n<payload>``; a read whose digest does not match (a truncated, corrupted
or hand-edited entry) is a miss and the entry is derived again. Only what is slow to derive and checked again
after use is cached (kustomize and helm outputs, validated on every run); converted schemas are kept per
process. A cache directory another user owns or can write to is not used at all (as ssh treats its keys):
its entries could be planted. Writes are best effort: a read-only or full cache only costs speed.
Where it lives: ``$GEN_CACHE_DIR``, else ``$XDG_CACHE_HOME/rdma-gitops``, else ``~/.cache/rdma-gitops``;
deleting the directory is always safe (``gen cache clear`` does it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from generator.core.fs import atomic_write

CACHE_ENV = "GEN_CACHE_DIR"


def cache_root(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get(CACHE_ENV):
        return Path(env[CACHE_ENV]).expanduser()
    base = Path(env["XDG_CACHE_HOME"]).expanduser() if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "rdma-gitops"


def digest(*parts: bytes | str) -> str:
    """sha256 over ``parts``, each length-prefixed (so ("ab", "c") and ("a", "bc") differ)."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        h.update(f"{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def tool_key(command: list[str]) -> str:
    """A program's identity for cache keys: the command, and its binary's size and modification time."""
    try:
        stat_ = os.stat(command[0] if os.path.sep in command[0] else (shutil.which(command[0]) or command[0]))
        return f"{command}:{stat_.st_size}:{stat_.st_mtime_ns}"
    except OSError:
        return str(command)


_refused: set[Path] = set()


def private(root: Path) -> bool:
    """Whether ``root`` is this user's own: absent (gen creates it), or owned by us and writable by no one else.

    A refusal is said once per process, as a warning: the run goes on without the cache."""
    try:
        st = os.stat(root)
    except OSError:
        return True
    if stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return True
    if root not in _refused:
        _refused.add(root)
        print(f"gen: warning: cache {root} is not used: it is not a directory of yours that only you can write "
              f"(run `chmod go-w {root}` or set {CACHE_ENV} to a private directory)", file=sys.stderr)
    return False


class DiskCache:
    """Entries of one kind (``name``) and format ``version`` under ``root``; none at all if ``root`` is not
    private (then every read misses and nothing is written)."""

    def __init__(self, root: Path, name: str, version: int):
        self.folder = root / name / f"v{version}"
        self.enabled = private(root)

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / key

    def get(self, key: str) -> bytes | None:
        if not self.enabled:
            return None
        try:
            raw = self._path(key).read_bytes()
        except OSError:
            return None
        head, sep, payload = raw.partition(b"\n")
        if not sep or head.decode("ascii", "replace") != hashlib.sha256(payload).hexdigest():
            return None
        return payload

    def put(self, key: str, payload: bytes) -> None:
        if not self.enabled:
            return
        entry = hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload
        with contextlib.suppress(OSError):
            atomic_write(self._path(key), entry)

    def get_json(self, key: str) -> Any:
        payload = self.get(key)
        if payload is None:
            return None
        try:
            return json.loads(payload)
        except ValueError:
            return None

    def put_json(self, key: str, value: Any) -> None:
        """Key order is kept: a cached render must give the same bytes as a fresh one."""
        self.put(key, json.dumps(value, separators=(",", ":")).encode("utf-8"))
