"""Nothing a repository can contain vouches for itself: records (and every other cache entry) committed to the
repository, with the cache inside the checkout as a CI job would keep it, are not gen's own and are ignored, so a
fresh shallow clone gets the verdict an empty cache gives (exit 1, output/ out of date, untouched by gen check)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from generator.core.cache import DiskCache
from generator.pipeline.records import MEMO_VERSION
from tests.conftest import commit_all, git, snapshot, write_spec
from tests.helpers import run_gen

PUBLISHED, STAGING = b"nvcr.io/nvidia/mellanox", b"nvcr.io/nvstaging/mellanox"
ANOTHER_KEY = "ignored: it was written with another key"


def _forge(repo: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """What an attacker who can push to the repository does: point the DOCA driver of the committed output at
    another registry (and its sha256 in gen's manifest), and rewrite the records gen made (with the attacker's own
    key) to vouch for the new bytes."""
    policy = repo / "output" / "prod" / "base" / "nicclusterpolicy.yaml"
    good = policy.read_bytes()
    policy.write_bytes(good.replace(PUBLISHED, STAGING))
    old, new = (hashlib.sha256(data).hexdigest().encode() for data in (good, policy.read_bytes()))
    manifest = repo / "output" / "prod" / ".gen-manifest.json"
    manifest.write_bytes(manifest.read_bytes().replace(old, new))
    with monkeypatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        records = DiskCache(Path(env["GEN_CACHE_DIR"]), "checked", MEMO_VERSION)
        for entry in records.folder.rglob("*"):
            payload = records.get(entry.name) if entry.is_file() else None
            if payload is not None and old in payload:
                records.put(entry.name, payload.replace(old, new))


@pytest.mark.kustomize
def test_records_committed_to_the_repository_do_not_vouch_in_a_fresh_clone(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    gitops_repo = tmp_path / "origin"  # (every other directory of the test lies outside its work tree)
    write_spec(gitops_repo)
    attacker = {"GEN_CACHE_DIR": str(gitops_repo / ".gen-cache"), "XDG_CONFIG_HOME": str(tmp_path / "attacker")}
    run_gen("bundle", "--all", repo=gitops_repo, env=attacker, check=True)
    _forge(gitops_repo, attacker, monkeypatch)
    assert run_gen("check", repo=gitops_repo, env=attacker).code == 0  # the forgery holds for its own key
    (gitops_repo / ".gitignore").write_text(".gen-cache/\n")
    commit_all(gitops_repo, "output")
    git(gitops_repo, "add", "-f", ".gen-cache")
    git(gitops_repo, "commit", "-q", "-m", "records")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{gitops_repo}", str(clone))
    assert (clone / ".gen-cache" / "checked").is_dir()
    before = snapshot(clone / "output")
    ci = {"GEN_CACHE_DIR": str(clone / ".gen-cache"), "XDG_CONFIG_HOME": str(tmp_path / "ci")}
    forged = run_gen("check", repo=clone, env=ci)
    empty = run_gen("check", repo=clone, env={**ci, "GEN_CACHE_DIR": str(tmp_path / "empty")})
    assert forged.code == empty.code == 1 and "output/prod/base/nicclusterpolicy.yaml: changed" in empty.out
    said = [line for line in forged.err.splitlines() if ANOTHER_KEY in line]
    assert len(said) == 1 and said[0].startswith("gen: warning: cache entry ")
    assert forged.err.replace(said[0] + "\n", "") == empty.err and forged.out == empty.out
    assert snapshot(clone / "output") == before
    bundled = run_gen("bundle", "--all", repo=clone, env=ci)  # writes what the spec generates, not the forgery
    assert bundled.code == 0 and "Traceback" not in bundled.err
    assert STAGING not in (clone / "output" / "prod" / "base" / "nicclusterpolicy.yaml").read_bytes()


@pytest.mark.kustomize
def test_a_key_committed_with_the_records_is_never_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A CI job whose configuration directory lies in the checkout (XDG_CONFIG_HOME=$PWD/.config) would read a key
    the repository supplies: gen refuses a key inside a git work tree, and runs without the cache."""
    gitops_repo = tmp_path / "origin"
    write_spec(gitops_repo)
    attacker = {"GEN_CACHE_DIR": str(gitops_repo / ".gen-cache"), "XDG_CONFIG_HOME": str(tmp_path / "attacker")}
    run_gen("bundle", "--all", repo=gitops_repo, env=attacker, check=True)
    _forge(gitops_repo, attacker, monkeypatch)
    key = gitops_repo / ".config" / "rdma-gitops" / "cache.key"  # the key the forged records verify with
    key.parent.mkdir(parents=True)
    key.write_bytes((tmp_path / "attacker" / "rdma-gitops" / "cache.key").read_bytes())
    (gitops_repo / ".gitignore").write_text(".gen-cache/\n.config/\n")
    commit_all(gitops_repo, "output")
    git(gitops_repo, "add", "-f", ".gen-cache", ".config")
    git(gitops_repo, "commit", "-q", "-m", "records and their key")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{gitops_repo}", str(clone))
    (clone / ".config" / "rdma-gitops").chmod(0o700)
    (clone / ".config" / "rdma-gitops" / "cache.key").chmod(0o600)  # as a umask of 077 would check it out
    ci = {"GEN_CACHE_DIR": str(clone / ".gen-cache"), "XDG_CONFIG_HOME": str(clone / ".config")}
    forged = run_gen("check", repo=clone, env=ci)
    empty = run_gen("check", repo=clone, env={**ci, "GEN_CACHE_DIR": str(tmp_path / "empty"),
                                               "XDG_CONFIG_HOME": str(tmp_path / "ci")})
    assert forged.code == empty.code == 1
    said = [line for line in forged.err.splitlines() if "would be inside the git work tree" in line]
    assert len(said) == 1 and forged.err.replace(said[0] + "\n", "") == empty.err
