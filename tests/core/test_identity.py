"""gen's own digest (``core.identity.package_digest``), kept by the lstat signature of the package's entries: the
kept digest is always the one reading the package gives, whatever changed, and an entry gen did not write with this
user's key is a miss."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from generator.core import cache as cache_module
from generator.core import identity
from generator.core.cache import DiskCache


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "generator"
    (root / "data").mkdir(parents=True)
    (root / "a.py").write_text("A = 1\n")
    (root / "data" / "facts.yaml").write_text("release: v1\n")
    monkeypatch.setattr(identity, "PACKAGE", root)
    monkeypatch.setenv("GEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(identity, "RACY_NS", -3600 * 10**9)  # as if every entry was written long ago
    identity.package_digest.cache_clear()
    yield root
    identity.package_digest.cache_clear()


def _digest() -> str:
    identity.package_digest.cache_clear()
    return identity.package_digest()


def _entries(tmp_path: Path) -> list[Path]:
    return sorted(p for p in (tmp_path / "cache" / "package-digest").rglob("*") if p.is_file())


def test_the_kept_digest_is_the_one_reading_gives_after_every_change(package: Path, tmp_path: Path) -> None:
    first = _digest()
    assert first == identity._package_digest() and _entries(tmp_path)
    assert _digest() == first  # kept

    def same_size_and_time() -> None:  # the bytes change, size and modification time are put back: ctime moves
        before = (package / "a.py").stat()
        (package / "a.py").write_text("A = 2\n")
        os.utime(package / "a.py", ns=(before.st_atime_ns, before.st_mtime_ns))

    for step, edit in [("bytes", same_size_and_time),
                       ("a file added", lambda: (package / "data" / "more.yaml").write_text("x: 1\n")),
                       ("a file removed", lambda: (package / "data" / "facts.yaml").unlink())]:
        edit()
        now = _digest()
        assert now == identity._package_digest() and now != first, step
        first = now


def test_a_planted_entry_is_a_miss(package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    truth = identity._package_digest()
    signature = identity._installed_signature()
    assert signature is not None
    user = os.environ["XDG_CONFIG_HOME"]
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "attacker"))
    cache_module._keys.clear()
    DiskCache(tmp_path / "cache", "package-digest", 1).put_json(signature, "0" * 64)
    monkeypatch.setenv("XDG_CONFIG_HOME", user)
    cache_module._keys.clear()
    assert _digest() == truth


def test_nothing_kept_while_an_entry_was_just_written(package: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(identity, "RACY_NS", 3_000_000_000)  # the files above were written a moment ago
    assert _digest() == identity._package_digest()
    assert not _entries(tmp_path)
