"""gen's cache authenticates every entry with a key of this user's, kept 0600 outside any git work tree: an entry
it did not write (tampered with, moved to another slot, written with another key) is a miss, said once, and a key it
cannot keep safe turns the cache off rather than trusting it."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from generator.core import cache as cache_module
from generator.core.cache import DiskCache, key_file

KEY = "a" * 64


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """XDG_CONFIG_HOME of this test, and nothing said yet."""
    folder = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    monkeypatch.setattr(cache_module, "_refused", set())
    return folder


def _cache(tmp_path: Path) -> DiskCache:
    root = tmp_path / "cache"
    root.mkdir(mode=0o700, exist_ok=True)
    return DiskCache(root, "checked", 1)


def _entry(tmp_path: Path, key: str = KEY) -> Path:
    return tmp_path / "cache" / "checked" / "v1" / key[:2] / key


def test_the_key_is_made_once_0600_in_the_config_directory_not_the_cache(tmp_path: Path, config: Path) -> None:
    cache = _cache(tmp_path)
    cache.put(KEY, b"payload")
    path = config / "rdma-gitops" / "cache.key"
    assert key_file() == path and path.is_file() and not list((tmp_path / "cache").rglob("*.key"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(path.read_bytes()) == 32
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    key = path.read_bytes()
    assert _cache(tmp_path).get(KEY) == b"payload" and path.read_bytes() == key  # kept, not made again
    assert b"payload" in _entry(tmp_path).read_bytes() and key.hex() not in _entry(tmp_path).read_text("latin-1")


def test_a_relative_xdg_config_home_is_not_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", "cfg")  # relative: it would be wherever gen runs, perhaps a checkout
    monkeypatch.setenv("HOME", str(tmp_path))
    assert key_file() == tmp_path / ".config" / "rdma-gitops" / "cache.key"


def test_a_tampered_entry_is_a_miss_said_once(tmp_path: Path, config: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    cache = _cache(tmp_path)
    for key in (KEY, "b" * 64):
        cache.put(key, b'{"ok": true}')
        _entry(tmp_path, key).write_bytes(_entry(tmp_path, key).read_bytes().replace(b"true", b"false"))
    assert cache.get(KEY) is None and cache.get("b" * 64) is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ignored: its authentication code does not match" in err
    assert err.startswith("gen: warning: cache entry checked/v1/aa/aaaa")


def test_an_entry_moved_to_another_slot_is_a_miss(tmp_path: Path, config: Path) -> None:
    cache = _cache(tmp_path)
    cache.put(KEY, b"for a")
    other = _entry(tmp_path, "b" * 64)
    other.parent.mkdir(parents=True)
    other.write_bytes(_entry(tmp_path).read_bytes())  # a valid entry, under another key
    assert cache.get("b" * 64) is None and cache.get(KEY) == b"for a"
    assert DiskCache(tmp_path / "cache", "kustomize", 1).get(KEY) is None  # nor in another part


def test_an_entry_written_with_another_key_is_a_miss(tmp_path: Path, config: Path,
                                                     capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _cache(tmp_path).put(KEY, b"planted")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "another-user"))
    assert _cache(tmp_path).get(KEY) is None
    assert "ignored: it was written with another key" in capsys.readouterr().err
    _cache(tmp_path).put(KEY, b"mine")  # derived again, and written with this key
    assert _cache(tmp_path).get(KEY) == b"mine"


def test_an_entry_of_the_old_format_is_a_silent_miss(tmp_path: Path, config: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    import hashlib

    entry = _entry(tmp_path)
    entry.parent.mkdir(parents=True)
    entry.write_bytes(hashlib.sha256(b"x").hexdigest().encode() + b"\nx")  # as gen wrote before keys
    assert _cache(tmp_path).get(KEY) is None and capsys.readouterr().err == ""


@pytest.mark.parametrize("spoil", ["group-readable", "link", "short", "directory"])
def test_a_key_that_cannot_be_trusted_turns_the_cache_off(tmp_path: Path, config: Path, spoil: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    _cache(tmp_path).put(KEY, b"payload")
    path = config / "rdma-gitops" / "cache.key"
    if spoil == "group-readable":
        path.chmod(0o640)
    elif spoil == "link":
        (tmp_path / "elsewhere").write_bytes(path.read_bytes())
        path.unlink()
        path.symlink_to(tmp_path / "elsewhere")
    elif spoil == "short":
        path.write_bytes(b"0123")
    else:
        path.parent.chmod(0o777)
    cache = _cache(tmp_path)
    assert not cache.enabled and cache.get(KEY) is None
    cache.put("c" * 64, b"x")
    assert not _entry(tmp_path, "c" * 64).exists()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"gen: warning: cache {tmp_path / 'cache'} is not used: its key")


def test_a_key_inside_a_git_work_tree_is_never_read_or_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    checkout = tmp_path / "checkout"
    subprocess.run(["git", "init", "-q", str(checkout)], check=True)
    planted = checkout / ".config" / "rdma-gitops" / "cache.key"
    planted.parent.mkdir(parents=True, mode=0o700)
    planted.write_bytes(b"k" * 32)
    planted.chmod(0o600)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(checkout / ".config"))
    monkeypatch.setattr(cache_module, "_refused", set())
    cache = _cache(tmp_path)
    assert not cache.enabled and cache.get(KEY) is None
    assert "would be inside the git work tree" in capsys.readouterr().err
    os.unlink(planted)
    assert not _cache(tmp_path).enabled and not planted.exists()  # nor made there


def test_a_key_directory_reached_through_a_link_is_judged_by_what_it_is(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "dotfiles" / "rdma-gitops").mkdir(parents=True, mode=0o700)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "rdma-gitops").symlink_to(tmp_path / "dotfiles" / "rdma-gitops")  # as stow links them
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(cache_module, "_refused", set())
    cache = _cache(tmp_path)
    cache.put(KEY, b"payload")
    assert cache.enabled and _cache(tmp_path).get(KEY) == b"payload"
    assert (tmp_path / "dotfiles" / "rdma-gitops" / "cache.key").is_file()
