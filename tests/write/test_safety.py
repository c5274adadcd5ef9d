from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from generator.core.errors import EnvironmentFailure
from generator.render.output import Bundle
from generator.write import CorruptManifest, InvalidBundle, UnsafePath, apply, check
from generator.write.fsops import DirTree, open_dir
from tests.write.conftest import bundle, files_under

PROD = {"kustomization.yaml": "k\n", "base/ns.yaml": "ns\n"}


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    d = tmp_path / "outside"
    d.mkdir()
    (d / "kustomization.yaml").write_text("precious\n")
    (d / "ns.yaml").write_text("precious ns\n")
    return d


def snapshot(d: Path) -> dict[str, bytes]:
    return files_under(d)


def test_output_is_symlink(repo: Path, outside: Path) -> None:
    before = snapshot(outside)
    (repo / "output").symlink_to(outside)
    with pytest.raises(UnsafePath, match=r"output/ is a symlink"):
        apply(repo, [bundle("prod", PROD)], force=True)
    with pytest.raises(UnsafePath):
        check(repo, [bundle("prod", PROD)], all_clusters=True)
    assert snapshot(outside) == before


def test_output_is_a_file(repo: Path) -> None:
    (repo / "output").write_text("x")
    with pytest.raises(UnsafePath, match="output exists but is not a directory"):
        apply(repo, [bundle("prod", PROD)])


def test_cluster_dir_is_symlink(repo: Path, outside: Path) -> None:
    before = snapshot(outside)
    (repo / "output").mkdir()
    (repo / "output/prod").symlink_to(outside)
    with pytest.raises(UnsafePath, match=r"output/prod/ is a symlink"):
        apply(repo, [bundle("prod", PROD)], force=True)
    assert snapshot(outside) == before


def test_orphan_cluster_dir_symlink_is_not_pruned_through(repo: Path, outside: Path) -> None:
    before = snapshot(outside)
    (repo / "output").mkdir()
    (repo / "output/old").symlink_to(outside)
    report = apply(repo, [bundle("prod", PROD)], prune=True, all_clusters=True)
    assert report.refused == ["output/old"] and (repo / "output/old").is_symlink()  # not gen's: kept
    assert snapshot(outside) == before
    report = apply(repo, [bundle("prod", PROD)], prune=True, all_clusters=True, force=True)
    assert "output/old" in report.removed and not os.path.lexists(repo / "output/old")  # the link, not its target
    assert snapshot(outside) == before


def test_target_file_is_symlink(repo: Path, outside: Path) -> None:
    apply(repo, [bundle("prod", PROD)])
    before = snapshot(outside)
    target = repo / "output/prod/kustomization.yaml"
    target.unlink()
    target.symlink_to(outside / "kustomization.yaml")
    with pytest.raises(UnsafePath, match=r"output/prod/kustomization.yaml is a symlink"):
        apply(repo, [bundle("prod", {**PROD, "kustomization.yaml": "new\n"})], force=True)
    assert snapshot(outside) == before
    assert target.is_symlink()


def test_parent_dir_is_symlink(repo: Path, outside: Path) -> None:
    apply(repo, [bundle("prod", {"kustomization.yaml": "k\n"})])
    before = snapshot(outside)
    (repo / "output/prod/base").symlink_to(outside)
    with pytest.raises(UnsafePath, match=r"output/prod/base is a symlink"):
        apply(repo, [bundle("prod", PROD)], force=True)
    assert snapshot(outside) == before


def test_owned_file_replaced_by_symlink_is_not_deleted(repo: Path, outside: Path) -> None:
    apply(repo, [bundle("prod", PROD)])
    before = snapshot(outside)
    f = repo / "output/prod/base/ns.yaml"
    f.unlink()
    f.symlink_to(outside / "ns.yaml")
    with pytest.raises(UnsafePath):
        apply(repo, [bundle("prod", {"kustomization.yaml": "k\n"})])
    assert snapshot(outside) == before


def test_owned_dir_replaced_by_symlink_deletes_nothing_through_it(repo: Path, outside: Path) -> None:
    apply(repo, [bundle("prod", PROD)])
    before = snapshot(outside)
    (repo / "output/prod/base/ns.yaml").unlink()
    (repo / "output/prod/base").rmdir()
    (repo / "output/prod/base").symlink_to(outside)  # outside/ns.yaml looks like an owned file
    apply(repo, [bundle("prod", {"kustomization.yaml": "k\n"})], prune=True, all_clusters=True)
    assert snapshot(outside) == before


def test_dirtree_never_follows_a_symlink_swapped_in_after_planning(repo: Path, outside: Path) -> None:
    (repo / "output/prod").mkdir(parents=True)
    (repo / "output/prod/sub").symlink_to(outside)
    before = snapshot(outside)
    repo_fd = open_dir(None, repo, create=False, shown="repo")
    tree = DirTree(open_dir(repo_fd, "output", create=False, shown="output"), "output")
    os.close(repo_fd)
    try:
        with pytest.raises(UnsafePath, match="output/prod/sub is a symlink"):
            tree.write(("prod", "sub", "ns.yaml"), b"evil")
        with pytest.raises(UnsafePath):
            tree.unlink(("prod", "sub", "ns.yaml"))
    finally:
        tree.close()
    assert snapshot(outside) == before


BAD_PATHS = ["/etc/passwd", "../x.yaml", "a/../../x", "a\\b.yaml", "a\x00b", "a//b", "a/", "", "./a",
             ".", ".gen-manifest.json", ".x.gen-tmp-0123456789abcdef", "d/.x.gen-tmp-1"]


@pytest.mark.parametrize("path", BAD_PATHS)
def test_bad_bundle_paths_rejected_before_anything_written(repo: Path, path: str) -> None:
    with pytest.raises(InvalidBundle, match="generated paths must be relative POSIX paths"):
        apply(repo, [bundle("ok", {"a.yaml": "a\n"}), bundle("prod", {path: "x"})])
    with pytest.raises(InvalidBundle):
        check(repo, [bundle("prod", {path: "x"})], all_clusters=False)
    assert not (repo / "output").exists()
    assert list(repo.parent.rglob("x.yaml")) == []


@pytest.mark.parametrize("name", ["Prod", "-a", "a-", "a_b", "a..b", ".a", "a" * 64, "", "../x", "a/b"])
def test_bad_cluster_names_rejected(repo: Path, name: str) -> None:
    with pytest.raises(InvalidBundle, match="not a DNS-1123 label"):
        apply(repo, [bundle(name, {"a.yaml": "a\n"})])
    assert not (repo / "output").exists()


def test_malformed_bundles_rejected(repo: Path) -> None:
    with pytest.raises(InvalidBundle, match="two bundles"):
        apply(repo, [bundle("prod", {}), bundle("prod", {})])
    with pytest.raises(InvalidBundle, match="both a file and the directory"):
        apply(repo, [bundle("prod", {"a": "x", "a/b": "y"})])
    with pytest.raises(InvalidBundle, match="not bytes"):
        apply(repo, [Bundle("prod", "clusters/prod.yaml", {"a": "text"})])  # type: ignore[dict-item]
    assert not (repo / "output").exists()


def test_manifest_with_escaping_path_is_rejected(repo: Path, outside: Path) -> None:
    apply(repo, [bundle("prod", PROD)])
    m = repo / "output/prod/.gen-manifest.json"
    doc = json.loads(m.read_text())
    doc["files"]["../../../outside/ns.yaml"] = "0" * 64
    m.write_text(json.dumps(doc))
    before = snapshot(outside)
    with pytest.raises(CorruptManifest, match=r"delete output/prod/\.gen-manifest\.json"):
        apply(repo, [bundle("prod", {"kustomization.yaml": "k\n"})], prune=True, all_clusters=True)
    assert snapshot(outside) == before


def test_garbage_manifest_is_rejected(repo: Path) -> None:
    apply(repo, [bundle("prod", PROD)])
    (repo / "output/prod/.gen-manifest.json").write_text("{nope")
    with pytest.raises(CorruptManifest, match="not valid JSON"):
        apply(repo, [bundle("prod", PROD)])


@pytest.mark.parametrize("hostile", ["[" * 100_000, '{"files": ' + "[" * 100_000, '{"a": ' * 50_000],
                         ids=["lists", "in files", "objects"])
def test_a_manifest_nested_beyond_recursion_is_one_error_and_nothing_written(repo: Path, hostile: str) -> None:
    apply(repo, [bundle("prod", PROD)])
    (repo / "output/prod/.gen-manifest.json").write_text(hostile)
    before = snapshot(repo / "output")
    with pytest.raises(CorruptManifest, match=r"is not a gen manifest \(nested too deeply\); delete output/prod/"):
        apply(repo, [bundle("prod", {**PROD, "new.yaml": "n\n"})])
    assert snapshot(repo / "output") == before
    assert [d.path for d in check(repo, [bundle("prod", PROD)], all_clusters=True)] == [
        "output/prod/.gen-manifest.json"]  # out of date, said as such


def test_a_manifest_past_the_size_limit_or_not_a_file_is_never_read_whole(repo: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from generator.write import manifest

    apply(repo, [bundle("prod", PROD)])
    monkeypatch.setattr(manifest, "MAX_BYTES", 1000)
    (repo / "output/prod/.gen-manifest.json").write_text(" " * 1001 + "{}")
    with pytest.raises(CorruptManifest, match=r"larger than the limit of 1,000 bytes.*; delete output/prod/"):
        apply(repo, [bundle("prod", PROD)])


def test_missing_repo_is_a_clear_error(tmp_path: Path) -> None:
    from generator.write import WriteError

    with pytest.raises(WriteError, match="is not a directory; run gen from the repository root"):
        apply(tmp_path / "nope", [bundle("prod", PROD)])


def test_failed_write_leaves_no_temp_file(repo: Path) -> None:
    (repo / "output/prod/a.yaml").mkdir(parents=True)  # a directory where a file must go
    repo_fd = open_dir(None, repo, create=False, shown="repo")
    tree = DirTree(open_dir(repo_fd, "output", create=False, shown="output"), "output")
    os.close(repo_fd)
    try:
        with pytest.raises(EnvironmentFailure, match=r"output/prod/a\.yaml: cannot write it"):
            tree.write(("prod", "a.yaml"), b"x")
    finally:
        tree.close()
    assert os.listdir(repo / "output/prod") == ["a.yaml"]
