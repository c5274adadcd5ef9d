"""gen lint's kept verdicts (``pipeline.lint_verdicts``): a run with the same inputs prints exactly what linting
again prints; every input it reads is in the key (a file in the paths, a file a kustomization reaches outside them,
a link's target, a spec, an option, a GEN_ variable), and an entry gen did not write with this user's key (planted,
committed to a checkout, written with another key, or its bytes changed) is a miss."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.core import cache as cache_module
from generator.core.cache import DiskCache
from generator.pipeline import lint_verdicts
from tests.helpers import run_gen

pytestmark = [pytest.mark.kustomize]

POLICY = """\
apiVersion: mellanox.com/v1alpha1
kind: NicClusterPolicy
metadata:
  name: nic-cluster-policy
spec:
  ofedDriver:
    image: doca-driver
    repository: nvcr.io/nvidia/mellanox
    version: {version}
"""
CONFIG = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: {ns}\ndata:\n  a: b\n"


def _repo(root: Path) -> Path:
    """A repo with a loose policy, and a kustomize directory under manifests/ whose component lies outside it."""
    (root / "manifests" / "app").mkdir(parents=True)
    (root / "shared").mkdir()
    (root / "manifests" / "policy.yaml").write_text(POLICY.format(version="25.01-0.6.0.0-0"))
    (root / "manifests" / "app" / "kustomization.yaml").write_text(
        "resources:\n- config.yaml\ncomponents:\n- ../../shared\n")
    (root / "manifests" / "app" / "config.yaml").write_text(CONFIG.format(ns="default"))
    (root / "shared" / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nnamespace: default\n")
    return root


def _lint(repo: Path, cache: Path, *args: str, env: dict[str, str | None] | None = None) -> tuple[int, str, str]:
    result = run_gen("lint", *args, "manifests", cwd=repo, env={"GEN_CACHE_DIR": str(cache), **(env or {})})
    assert "Traceback" not in result.err
    return result.code, result.out, result.err


def _entries(cache: Path) -> list[Path]:
    return sorted(p for p in (cache / "lint-verdicts").rglob("*") if p.is_file())


def test_a_kept_verdict_is_what_linting_again_says_after_every_kind_of_change(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    warm = tmp_path / "warm"

    def agree(step: str, *args: str, env: dict[str, str | None] | None = None) -> tuple[int, str, str]:
        first = _lint(repo, warm, *args, env=env)
        kept = _lint(repo, warm, *args, env=env)  # from the record
        empty = _lint(repo, tmp_path / f"empty-{step}", *args, env=env)
        assert first == kept == empty, step
        return empty

    said = agree("as written")
    assert said[0] == 0 and _entries(warm)
    (repo / "other").mkdir()
    (repo / "other" / "bad.yaml").write_text(CONFIG.format(ns="default").replace("a: b", "a: 1"))
    link = repo / "manifests" / "more.yaml"
    bad_data = ("apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n- patch: |-\n"
                "    {apiVersion: v1, kind: ConfigMap, metadata: {name: c}, data: {z: 1}}\n")
    edits: list[tuple[str, Callable[[], object]]] = [
        ("a linted file", lambda: (repo / "manifests" / "policy.yaml").write_text(POLICY.format(version=7))),
        ("a file a kustomization reaches outside the paths",
         lambda: (repo / "shared" / "kustomization.yaml").write_text(bad_data)),
        ("a link in the paths", lambda: link.symlink_to(repo / "other" / "bad.yaml")),
        ("a link's target", lambda: (link.unlink(), link.symlink_to(repo / "manifests" / "app" / "config.yaml"))),
        ("the file behind a link", lambda: (repo / "manifests" / "app" / "config.yaml").write_text(
            CONFIG.format(ns="default").replace("a: b", "a: [1]"))),
    ]
    for step, edit in edits:
        edit()
        now = agree(step)
        assert now != said, step  # the edit changed what lint says: said again, not the kept verdict
        said = now
    assert agree("an option", "--strict") is not None
    assert agree("a GEN_ variable", env={"GEN_LOCK_TIMEOUT": "5"}) is not None


def test_a_planted_foreign_or_altered_verdict_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _repo(tmp_path / "repo")
    (repo / "manifests" / "policy.yaml").write_text(POLICY.format(version=7))  # a schema error: exit 1
    cache = tmp_path / "cache"
    said = _lint(repo, cache)
    assert said[0] == 1
    [entry] = _entries(cache)
    forged = json.dumps({"stderr": "", "stdout": "gen lint: ok: nothing found\n", "code": 0}).encode()
    # written with another user's key (a cache committed to a checkout, or planted): refused
    user = os.environ["XDG_CONFIG_HOME"]
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "attacker"))
    cache_module._keys.clear()
    DiskCache(cache, "lint-verdicts", lint_verdicts.VERSION).put(entry.name, forged)
    monkeypatch.setenv("XDG_CONFIG_HOME", user)
    cache_module._keys.clear()
    code, out, err = _lint(repo, cache)
    assert (code, out) == said[:2] and "ignored" in err
    # the user's own entry with its payload replaced: its authentication code no longer matches
    _lint(repo, cache)  # written again, with the user's key
    head, _, _ = entry.read_bytes().partition(b"\n")
    entry.write_bytes(head + b"\n" + forged)
    code, out, err = _lint(repo, cache)
    assert (code, out) == said[:2] and "ignored" in err
    # a file that is no entry at all
    entry.write_bytes(forged)
    assert _lint(repo, cache)[:2] == said[:2]


def test_nothing_kept_for_what_cannot_be_keyed(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    os.mkfifo(repo / "manifests" / "pipe.yaml")
    cache = tmp_path / "cache"
    first = _lint(repo, cache)
    assert first == _lint(repo, cache) and not _entries(cache)


def _key(repo: Path) -> lint_verdicts.Key:
    key = lint_verdicts.verdict_key([repo / "manifests"], repo, ["--strict"], ["mirror"])
    assert key is not None
    return key


def _holds(key: lint_verdicts.Key, repo: Path) -> bool:
    return lint_verdicts.still_holds(key, [repo / "manifests"], repo, ["--strict"], ["mirror"])


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every entry as if written long before the key was taken (its times cannot be shared with a later write)."""
    monkeypatch.setattr(lint_verdicts, "RACY_NS", -3600 * 10**9)


@pytest.mark.usefixtures("settled")
def test_an_unchanged_tree_holds_by_lstat_without_reading_a_file(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _repo(tmp_path / "repo")
    (repo / "manifests" / "app" / "kustomization.yaml").unlink()  # a kustomize directory is always read again
    key = _key(repo)

    def refuse(self: Path) -> bytes:
        raise AssertionError(f"read again: {self}")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    assert _holds(key, repo)


@pytest.mark.usefixtures("settled")
def test_every_kind_of_change_while_linting_is_seen(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    (repo / "clusters").mkdir()
    (repo / "clusters" / "a.yaml").write_text("name: a\n")
    policy = repo / "manifests" / "policy.yaml"
    link = repo / "manifests" / "link.yaml"
    link.symlink_to(repo / "manifests" / "app" / "config.yaml")

    def same_size_same_mtime() -> None:  # the bytes change, the size and modification time do not: ctime does
        before = policy.stat()
        policy.write_text(policy.read_text().replace("6.0.0", "7.0.0"))
        os.utime(policy, ns=(before.st_atime_ns, before.st_mtime_ns))

    edits: list[tuple[str, Callable[[], object]]] = [
        ("a file's bytes, its size and modification time kept", same_size_same_mtime),
        ("a file added", lambda: (repo / "manifests" / "new.yaml").write_text("a: 1\n")),
        ("a file removed", lambda: (repo / "manifests" / "app" / "config.yaml").unlink()),
        ("a link's target", lambda: (link.unlink(), link.symlink_to(policy))),
        ("the file behind a link", lambda: (repo / "manifests" / "app" / "config.yaml").write_text("b: 2\n")),
        ("a spec", lambda: (repo / "clusters" / "a.yaml").write_text("name: b\n")),
        ("a spec directory's link", lambda: (os.rename(repo / "clusters", repo / "c2"),
                                              (repo / "clusters").symlink_to(repo / "shared"))),
        ("a file a kustomization reaches outside the paths",
         lambda: (repo / "shared" / "kustomization.yaml").write_text("kind: Component\n")),
        ("the paths' own directory moved aside", lambda: (os.rename(repo / "manifests", repo / "m2"),
                                                          shutil.copytree(repo / "m2", repo / "manifests",
                                                                          symlinks=True))),
    ]
    for step, edit in edits:
        key = _key(repo)
        assert _holds(key, repo), step
        edit()
        assert not _holds(key, repo), step


def test_an_entry_written_just_before_the_key_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _repo(tmp_path / "repo")  # every entry written a moment ago: its times could be shared with a later write
    key = _key(repo)
    again: list[object] = []
    taken = lint_verdicts.verdict_key

    def spy(*args: object) -> object:
        again.append(args)
        return taken(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(lint_verdicts, "verdict_key", spy)
    assert _holds(key, repo) and again
    (repo / "manifests" / "policy.yaml").write_text(POLICY.format(version="25.01-0.6.0.0-1"))
    assert not _holds(key, repo)
