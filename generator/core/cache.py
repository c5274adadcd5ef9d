"""The one on-disk cache: derived data (kustomize builds, helm renders, parsed YAML, records of clusters already
checked) keyed by the digest of everything it was derived from, written atomically, and authenticated when read.

An entry is ``m1 <key id> <HMAC-SHA256>\\n<payload>``: the MAC is over the entry's place (its kind, format version and
key) and its payload, with a secret key of this user's (``key_file()``: 32 random bytes, mode 0600, created by gen,
never inside a git work tree). So an entry vouches for a payload only when this user's gen wrote it: a truncated,
corrupted, hand-edited or planted entry, one copied from another key's slot, or one written with another key (a
record committed to a repository, a cache restored from elsewhere) is a miss, said once per run, and derived again.
A cache directory another user owns or can write to is not used at all (as ssh treats its keys), nor is a cache whose
key cannot be kept safe (a key file that is a link, another user's, readable by others, or inside a git work tree,
where a repository could supply it). Writes are best effort: a read-only or full cache only costs speed.

Where it lives: ``$GEN_CACHE_DIR``, else ``$XDG_CACHE_HOME/rdma-gitops``, else ``~/.cache/rdma-gitops``; the key:
``$XDG_CONFIG_HOME/rdma-gitops/cache.key``, else ``~/.config/rdma-gitops/cache.key``, wherever the cache is (a cache
inside a checkout still has its key outside). Deleting the cache is always safe (``gen cache clear`` does it);
deleting the key makes every entry a miss.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
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
KEY_NAME = "cache.key"
KEY_BYTES = 32
ENTRY_FORMAT = b"m1"


def cache_root(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get(CACHE_ENV):
        return Path(env[CACHE_ENV]).expanduser()
    base = Path(env["XDG_CACHE_HOME"]).expanduser() if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "rdma-gitops"


def key_file(env: Mapping[str, str] | None = None) -> Path:
    """Where the cache's key lives: ``$XDG_CONFIG_HOME/rdma-gitops/cache.key`` (an absolute XDG_CONFIG_HOME only, as
    the XDG spec says: a relative one would be relative to wherever gen runs, perhaps a checkout), else
    ``~/.config/rdma-gitops/cache.key``."""
    env = os.environ if env is None else env
    config = Path(env.get("XDG_CONFIG_HOME", "")).expanduser()
    base = config if config.is_absolute() else Path.home() / ".config"
    return base / "rdma-gitops" / KEY_NAME


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


# What the cache said once per process (a run, in a real process): the roots and keys it refused, and that an
# entry failed verification. (tests.helpers.run_gen empties it around each in-process run.)
_refused: set[Any] = set()
_words: dict[Any, str] = {}  # what it said of each


def _say_once(what: Any, message: str) -> None:
    if what not in _refused:
        _refused.add(what)
        _words[what] = message
        print(message, file=sys.stderr)


def said() -> dict[Any, str]:
    """What the cache said once in this process: what it refused, and its warning."""
    return {what: _words[what] for what in _refused if what in _words}


def say_again(warnings: dict[Any, str]) -> None:
    """Say here, once, what another process (``programs.forked``'s child) said."""
    for what, message in warnings.items():
        _say_once(what, message)


def private(root: Path) -> bool:
    """Whether ``root`` is this user's own: absent (gen creates it), or owned by us and writable by no one else.

    A refusal is said once per process, as a warning: the run goes on without the cache."""
    try:
        st = os.stat(root)
    except OSError:
        return True
    if stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return True
    _say_once(root, f"gen: warning: cache {root} is not used: it is not a directory of yours that only you can "
                    f"write (run `chmod go-w {root}` or set {CACHE_ENV} to a private directory)")
    return False


def work_tree_of(path: Path) -> Path | None:
    """The git work tree ``path`` lies in (a ``.git`` directory or file in it or above it), or None."""
    for folder in [path, *path.parents]:
        if os.path.lexists(folder / ".git"):
            return folder
    return None


class KeyRefused(Exception):
    """The key file cannot be trusted or made; the message says why and what to do."""


def _check_key_dir(folder: Path) -> None:
    st = os.lstat(folder)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise KeyRefused(f"{folder} is not a directory of yours that only you can write (run `chmod go-w "
                         f"{folder}`)")


def _read_key(path: Path) -> bytes | None:
    """The key in ``path`` (None when there is no file); KeyRefused when the file cannot be trusted."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise KeyRefused(f"{path} cannot be opened ({exc.strerror}; a link is never followed): remove it") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
            raise KeyRefused(f"{path} is not a file of yours that only you can read (mode 0600): remove it, and gen "
                             "makes a new one")
        data = os.read(fd, KEY_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) != KEY_BYTES:
        raise KeyRefused(f"{path} is not a key gen made ({KEY_BYTES} bytes): remove it, and gen makes a new one")
    return data


def _make_key(path: Path) -> None:
    """A new random key in ``path``, published whole (written to a temporary file, then linked into place: two runs
    making it at once agree on one)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    _check_key_dir(Path(os.path.realpath(path.parent)))  # (a linked directory is judged by what it is)
    tmp = path.with_name(f".{KEY_NAME}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, os.urandom(KEY_BYTES))
        os.fsync(fd)
        os.close(fd)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def load_key(path: Path) -> bytes:
    """The cache key in ``path``, made when there is none; KeyRefused when it cannot be kept safe."""
    folder = Path(os.path.realpath(path.parent))
    tree = work_tree_of(folder)
    if tree is not None:
        raise KeyRefused(f"{path} would be inside the git work tree {tree}, where a repository could supply it; set "
                         "XDG_CONFIG_HOME to a directory outside any checkout")
    try:
        key = _read_key(path)
        if key is None:
            _make_key(path)
            key = _read_key(path)
        if os.path.lexists(folder):
            _check_key_dir(folder)
    except OSError as exc:
        raise KeyRefused(f"{path} cannot be made ({exc.strerror}); make {path.parent} a writable directory of yours "
                         "or set XDG_CONFIG_HOME") from None
    if key is None:  # pragma: no cover - made above
        raise KeyRefused(f"{path} could not be made")
    return key


_keys: dict[tuple[Path, int, int, int, int, int], bytes] = {}  # (path, inode, mtime, size, mode, owner) -> key


def cache_key(root: Path) -> bytes | None:
    """This user's cache key (for the cache at ``root``), or None (said once) when there is none to trust."""
    try:
        path = key_file()
    except RuntimeError:  # no home directory
        _say_once(("key", None), f"gen: warning: cache {root} is not used: no home directory for its key; set "
                                 "XDG_CONFIG_HOME")
        return None
    try:
        st = os.lstat(path)
        memo = (path, st.st_ino, st.st_mtime_ns, st.st_size, st.st_mode, st.st_uid)
        if memo in _keys:
            return _keys[memo]
    except OSError:
        memo = None
    try:
        key = load_key(path)
    except KeyRefused as exc:
        _say_once(("key", path), f"gen: warning: cache {root} is not used: its key {exc}")
        return None
    if memo is not None:
        _keys[memo] = key
    return key


def key_id(key: bytes) -> bytes:
    """Which key an entry was written with (not the key: a digest of it)."""
    return hashlib.sha256(b"gen cache key id\0" + key).hexdigest()[:16].encode()


class DiskCache:
    """Entries of one kind (``name``) and format ``version`` under ``root``; none at all if ``root`` is not
    private or has no key to trust (then every read misses and nothing is written)."""

    def __init__(self, root: Path, name: str, version: int):
        self.root = root
        self.place = f"{name}/v{version}"
        self.folder = root / name / f"v{version}"
        self.key = cache_key(root) if private(root) else None
        self.key_id = key_id(self.key) if self.key is not None else b""
        self.enabled = self.key is not None

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / key

    def _mac(self, key: str, payload: bytes) -> bytes:
        assert self.key is not None
        message = f"{self.place}/{key}\0".encode() + payload
        return hmac.new(self.key, message, hashlib.sha256).hexdigest().encode()

    def get(self, key: str) -> bytes | None:
        if self.key is None:
            return None
        try:
            raw = self._path(key).read_bytes()
        except OSError:
            return None
        head, sep, payload = raw.partition(b"\n")
        fields = head.split(b" ")
        if not sep or len(fields) != 3 or fields[0] != ENTRY_FORMAT:
            return None  # another format (an older gen's): derived again
        if fields[1] != self.key_id:
            self._unverified(key, "it was written with another key (not by this user's gen on this machine, or "
                                  "before the key was replaced)")
            return None
        if not hmac.compare_digest(fields[2], self._mac(key, payload)):
            self._unverified(key, "its authentication code does not match (altered, or moved from another entry)")
            return None
        return payload

    def _unverified(self, key: str, why: str) -> None:
        _say_once(("unverified", self.root), f"gen: warning: cache entry {self.place}/{key[:2]}/{key[:16]}… in "
                                             f"{self.root} ignored: {why}; derived again (said once per run)")

    def put(self, key: str, payload: bytes) -> None:
        if self.key is None:
            return
        entry = b" ".join([ENTRY_FORMAT, self.key_id, self._mac(key, payload)]) + b"\n" + payload
        with contextlib.suppress(OSError):  # not fsynced: a torn entry fails its authentication, a miss
            atomic_write(self._path(key), entry, durable=False)

    def holds(self, key: str) -> bool:
        """Whether an entry is there under ``key``, not whether it is authentic (``get`` tells that): a hint of work
        that need not be done ahead, never a verdict."""
        return self.key is not None and self._path(key).is_file()

    def mark(self, key: str) -> tuple[int, int, int, int] | None:
        """The entry's file as it is now (inode, size, modified and changed times), None when there is none: whether
        it changed since it was read, never whether it is authentic (``get`` tells that)."""
        if self.key is None:
            return None
        try:
            st = os.stat(self._path(key))
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    def get_json(self, key: str) -> Any:
        payload = self.get(key)
        if payload is None:
            return None
        try:
            return json.loads(payload)
        except (ValueError, RecursionError):
            return None

    def put_json(self, key: str, value: Any) -> None:
        """Key order is kept: a cached render must give the same bytes as a fresh one."""
        self.put(key, json.dumps(value, separators=(",", ":")).encode("utf-8"))
