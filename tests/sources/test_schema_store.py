"""Schema store: lock, pull, digest checks, cache selection."""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from generator import catalog
from generator.check.schema import check_schema
from generator.check.validators.kinds import Schemas, _converted
from generator.sources import schema_store as st

CAT = catalog.load()


def test_lock_covers_every_pinned_release_and_file(mirror: Path) -> None:
    lock = st.load_lock()
    assert lock.tags(st.NETWORK_OPERATOR) == sorted(CAT.release_tags)
    assert lock.tags(st.ARGO_CD) == sorted(CAT.argocd_versions)
    assert lock.tags(st.FLUX) == sorted(CAT.flux_versions)
    for tag in CAT.flux_versions:  # every Flux CRD of the release, each from its controller's tag
        on_disk = {p.relative_to(mirror).as_posix() for p in (mirror / st.FLUX / tag / "crds").iterdir()}
        assert on_disk == {f.path for f in lock.release(st.FLUX, tag, "crds")}
        for entry in lock.release(st.FLUX, tag):
            controller = entry.url.split("/")[4]
            assert f"/{CAT.flux_versions[tag][controller]}/config/crd/bases/" in entry.url
    for tag in CAT.release_tags:
        for subdir in ("crds", "operand-crds", "webhook-schemas"):
            on_disk = {
                p.relative_to(mirror).as_posix()
                for p in (mirror / st.NETWORK_OPERATOR / tag / subdir).iterdir()
            }
            assert on_disk == {f.path for f in lock.release(st.NETWORK_OPERATOR, tag, subdir)}
    for entry in lock.files:
        assert entry.url.startswith("https://raw.githubusercontent.com/")
        assert entry.url.endswith(entry.path.rsplit("/", 1)[1])
        assert f"/{entry.tag}/" in entry.url or entry.project == st.FLUX
        assert len(entry.sha256) == 64


def test_every_file_the_validator_reads_is_locked(mirror: Path, tmp_path: Path, monkeypatch: Any) -> None:
    _converted.cache_clear()  # converted schemas are kept per process: forget them to see every read
    store = st.open_store(mirror, cache=tmp_path)
    read: list[str] = []
    original = st.SchemaStore.read

    def spy(self: st.SchemaStore, path: str) -> bytes:
        read.append(path)
        return original(self, path)

    monkeypatch.setattr(st.SchemaStore, "read", spy)
    schemas = Schemas("v26.4.1", "v2.14.21", store, "1.33")
    assert schemas.custom_kinds()  # every custom kind: the Argo CD and GPU Operator CRDs are read when first asked for
    locked = {f.path for f in store.lock.files}
    assert read and set(read) <= locked
    assert any("nicclusterpolicies" in p for p in read) and any("argo-cd/v2.14.21" in p for p in read)


def test_pull_from_mirror(mirror: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    fetched = st.pull(cache, mirror)
    assert sorted(fetched) == sorted(f.path for f in st.load_lock().files)
    for path in fetched[:5]:
        assert (cache / path).read_bytes() == (mirror / path).read_bytes()
    assert not list(cache.rglob("*.tmp"))
    assert st.pull(cache, mirror) == []  # already there, digests match
    store = st.open_store(None, cache=cache, env={})
    assert store.source == "cache"
    schemas = Schemas("v25.10.0", "v3.5.1", store, "1.33")
    assert check_schema({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}, schemas) == []


def _release_copy(mirror: Path, dest: Path, tag: str = "v26.4.1") -> Path:
    shutil.copytree(mirror / st.NETWORK_OPERATOR / tag, dest / st.NETWORK_OPERATOR / tag)
    return dest


def test_tampered_mirror_file_is_named(mirror: Path, tmp_path: Path) -> None:
    copy = _release_copy(mirror, tmp_path / "mirror")
    victim = copy / st.NETWORK_OPERATOR / "v26.4.1" / "crds" / "mellanox.com_nicclusterpolicies.yaml"
    victim.chmod(0o644)
    data = bytearray(victim.read_bytes())
    data[100] ^= 0x01
    victim.write_bytes(bytes(data))
    rel = "network-operator/v26.4.1/crds/mellanox.com_nicclusterpolicies.yaml"
    with pytest.raises(st.SchemaSourceError) as caught:
        st.pull(tmp_path / "cache", copy, releases=[(st.NETWORK_OPERATOR, "v26.4.1")])
    message = str(caught.value)
    assert rel in message and "sha256 mismatch" in message and "--from DIR" in message
    assert "raw.githubusercontent.com/Mellanox/network-operator/v26.4.1/" in message
    with pytest.raises(st.SchemaSourceError, match=r"mellanox\.com_nicclusterpolicies\.yaml"):
        st.open_store(copy, cache=tmp_path / "derived").read(rel)


def test_missing_mirror_file(mirror: Path, tmp_path: Path) -> None:
    copy = _release_copy(mirror, tmp_path / "mirror")
    with pytest.raises(st.SchemaSourceError, match="missing from mirror"):
        st.open_store(copy, cache=tmp_path / "c").read("argo-cd/v3.5.1/crds/application-crd.yaml")


def test_network_failure_names_file_url_and_fix(tmp_path: Path, monkeypatch: Any) -> None:
    def offline(url: str, timeout: float) -> Any:
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(st.SchemaDownloadFailed) as caught:
        st.pull(tmp_path, None, releases=[(st.ARGO_CD, "v3.5.1")])
    assert caught.value.exit_code == 3  # the network, not the input
    message = str(caught.value)
    assert (
        "argo-cd/v3.5.1/crds/" in message and "https://raw.githubusercontent.com/argoproj/argo-cd/" in message
    )
    assert "GEN_SCHEMA_MIRROR" in message and "--from DIR" in message
    with pytest.raises(st.SchemaSourceError):  # an empty cache auto-pulls
        st.open_store(None, cache=tmp_path / "empty", env={})


def test_downloaded_bytes_are_verified(tmp_path: Path, monkeypatch: Any) -> None:
    class Response:
        def __enter__(self) -> Response:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def read(self) -> bytes:
            return b"not the CRD"

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: Response())
    with pytest.raises(st.SchemaSourceError, match="sha256 mismatch"):
        st.pull(tmp_path, None, releases=[(st.ARGO_CD, "v3.5.1")])
    assert not (tmp_path / "argo-cd").exists() or not list((tmp_path / "argo-cd").rglob("*.yaml"))


def test_mirror_from_env(mirror: Path, tmp_path: Path) -> None:
    store = st.open_store(None, cache=tmp_path, env={st.MIRROR_ENV: str(mirror)})
    assert store.source == "mirror" and store.root == mirror
    with pytest.raises(st.SchemaSourceError, match="not a directory"):
        st.open_store(tmp_path / "nope", cache=tmp_path)


def test_unpinned_release(store: st.SchemaStore) -> None:
    with pytest.raises(st.SchemaSourceError, match="not a pinned release"):
        Schemas("v24.1.0", "v3.5.1", store, "1.33")


def test_default_cache_dir() -> None:
    assert st.default_cache_dir({st.CACHE_ENV: "/x/c"}) == Path("/x/c")
    assert st.default_cache_dir({"GEN_CACHE_DIR": "/y"}) == Path("/y/schemas")
    assert st.default_cache_dir({"XDG_CACHE_HOME": "/x"}) == Path("/x/rdma-gitops/schemas")
    assert st.default_cache_dir({}) == Path.home() / ".cache" / "rdma-gitops" / "schemas"
