"""The pinned CRDs converted to strict schemas are kept in gen's cache (``kinds._converted``): what is read back is
exactly what converting gives, and an entry gen did not write (committed to a checkout, written with another key,
or a ``{}`` schema that would let every field pass) is a miss, converted again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator import catalog
from generator.check.validators import kinds
from generator.core import cache as cache_module
from generator.core.cache import DiskCache, digest
from generator.core.identity import package_digest
from generator.sources.schema_store import NETWORK_OPERATOR, LockedFile, SchemaStore, open_store
from tests.conftest import UPSTREAM


def _entry() -> tuple[SchemaStore, LockedFile]:
    store = open_store(UPSTREAM)
    files = store.files(NETWORK_OPERATOR, catalog.load().default_release, "crds")
    entry = next(f for f in files if "nicclusterpolic" in f.path.lower())
    return store, entry


def _cache(root: Path) -> DiskCache:
    return DiskCache(root, "crd-schemas", kinds.CONVERTED_VERSION)


def test_a_kept_conversion_reads_back_as_converting_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEN_CACHE_DIR", str(tmp_path / "cache"))
    store, entry = _entry()
    fresh = kinds._converted.__wrapped__(store, entry)  # type: ignore[attr-defined]
    assert fresh and any(k.kind == "NicClusterPolicy" for k in fresh)
    assert list(_cache(tmp_path / "cache").folder.rglob("*"))  # kept
    assert kinds._converted.__wrapped__(store, entry) == fresh  # type: ignore[attr-defined]


def test_a_planted_or_foreign_entry_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache_dir = tmp_path / "cache"
    monkeypatch.setenv("GEN_CACHE_DIR", str(cache_dir))
    store, entry = _entry()
    fresh = kinds._converted.__wrapped__(store, entry)  # type: ignore[attr-defined]
    key = digest(package_digest(), entry.path, entry.sha256)
    empty = [{"api_version": k.api_version, "kind": k.kind, "scope": k.scope, "schema": {},
              "cel_rules_dropped": 0, "openapi": {}, "status_subresource": False} for k in fresh]
    # written with another user's key (a cache committed to the checkout): refused
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "attacker"))
    cache_module._keys.clear()
    _cache(cache_dir).put(key, json.dumps({"kinds": empty}).encode())
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "user"))
    cache_module._keys.clear()
    assert kinds._converted.__wrapped__(store, entry) == fresh  # type: ignore[attr-defined]
    # the file's bytes changed by hand beside a valid header: its authentication fails
    path = next(p for p in _cache(cache_dir).folder.rglob("*") if p.is_file() and p.name == key)
    head, _, _old = path.read_bytes().partition(b"\n")
    path.write_bytes(head + b"\n" + json.dumps({"kinds": empty}).encode())
    assert kinds._converted.__wrapped__(store, entry) == fresh  # type: ignore[attr-defined]
