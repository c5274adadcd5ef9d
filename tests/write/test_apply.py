from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from generator.write import WriteRefused, apply, check
from generator.write.manifest import sha256
from tests.write.conftest import OLD, age_tree, bundle, files_under, mtimes

PROD = {
    "kustomization.yaml": "resources:\n- nicclusterpolicy.yaml\n",
    "nicclusterpolicy.yaml": "kind: NicClusterPolicy\n",
    "base/ns.yaml": "kind: Namespace\n",
}


def test_first_write_creates_files_and_manifest(repo: Path) -> None:
    report = apply(repo, [bundle("prod", PROD)])
    out = repo / "output" / "prod"
    got = files_under(out)
    manifest = got.pop(".gen-manifest.json")
    assert got == {p: c.encode() for p, c in PROD.items()}
    doc = json.loads(manifest)
    assert doc == {
        "cluster": "prod",
        "files": {p: sha256(c.encode()) for p, c in sorted(PROD.items())},
        "generator": "rdma-gitops/gen",
        "spec_file": "clusters/prod.yaml",
        "version": 1,
    }
    assert manifest == (json.dumps(doc, sort_keys=True, indent=2) + "\n").encode()
    assert report.written == sorted(f"output/prod/{p}" for p in PROD)
    assert report.lines() == ["output/prod: 3 written, 0 unchanged, 0 removed"]
    assert check(repo, [bundle("prod", PROD)], all_clusters=True) == []


def test_second_apply_rewrites_nothing(repo: Path) -> None:
    apply(repo, [bundle("prod", PROD)])
    out = repo / "output"
    age_tree(out)
    before = mtimes(out)
    report = apply(repo, [bundle("prod", PROD)])
    assert report.written == [] and report.removed == []
    assert len(report.unchanged) == 3
    assert mtimes(out) == before
    assert set(before.values()) == {OLD * 10**9}


def test_changing_one_file_rewrites_only_it(repo: Path) -> None:
    apply(repo, [bundle("prod", PROD)])
    age_tree(repo / "output")
    changed = {**PROD, "base/ns.yaml": "kind: Namespace\nmetadata: {name: x}\n"}
    report = apply(repo, [bundle("prod", changed)])
    assert report.written == ["output/prod/base/ns.yaml"]
    assert report.lines() == ["output/prod: 1 written, 2 unchanged, 0 removed"]
    now = mtimes(repo / "output" / "prod")
    rewritten = {p for p, m in now.items() if m != OLD * 10**9}
    assert rewritten == {"base/ns.yaml", ".gen-manifest.json"}
    assert (repo / "output/prod/base/ns.yaml").read_text() == changed["base/ns.yaml"]


def test_removed_file_is_pruned_with_its_empty_dir(repo: Path) -> None:
    apply(repo, [bundle("prod", PROD)])
    smaller = {k: v for k, v in PROD.items() if k != "base/ns.yaml"}
    report = apply(repo, [bundle("prod", smaller)])
    assert report.removed == ["output/prod/base/ns.yaml"]
    assert not (repo / "output/prod/base").exists()
    assert check(repo, [bundle("prod", smaller)], all_clusters=True) == []


def test_removal_keeps_dirs_holding_user_files(repo: Path) -> None:
    apply(repo, [bundle("prod", PROD)])
    (repo / "output/prod/base/notes.txt").write_text("mine")
    apply(repo, [bundle("prod", {"kustomization.yaml": "x\n"})])
    assert (repo / "output/prod/base/notes.txt").read_text() == "mine"
    assert not (repo / "output/prod/base/ns.yaml").exists()


def test_unowned_file_refused_before_anything_written_then_forced(repo: Path) -> None:
    apply(repo, [bundle("prod", PROD)])
    (repo / "output/prod/extra.yaml").write_text("user\n")
    (repo / "output/staging").mkdir()
    (repo / "output/staging/a.yaml").write_text("user a\n")
    age_tree(repo / "output")
    before = files_under(repo / "output"), mtimes(repo / "output")
    fleet = [bundle("prod", {**PROD, "extra.yaml": "gen\n", "kustomization.yaml": "new\n"}),
             bundle("staging", {"a.yaml": "gen a\n", "b.yaml": "gen b\n"})]
    with pytest.raises(WriteRefused) as e:
        apply(repo, fleet)
    msg = str(e.value)
    assert "output/prod/extra.yaml is not owned by gen; move it to overlays/prod/ or rerun with --force" in msg
    assert "output/staging/a.yaml is not owned by gen" in msg
    assert e.value.paths == ["output/prod/extra.yaml", "output/staging/a.yaml"]
    assert e.value.exit_code == 1
    assert (files_under(repo / "output"), mtimes(repo / "output")) == before

    report = apply(repo, fleet, force=True)
    assert (repo / "output/prod/extra.yaml").read_text() == "gen\n"
    assert (repo / "output/staging/a.yaml").read_text() == "gen a\n"
    assert "output/prod/extra.yaml" in report.written
    assert check(repo, fleet, all_clusters=True) == []
    # now owned: removing it from the bundle deletes it without --force
    apply(repo, [bundle("prod", PROD), fleet[1]])
    assert not (repo / "output/prod/extra.yaml").exists()


def test_unowned_file_that_is_not_generated_is_left_alone(repo: Path) -> None:
    apply(repo, [bundle("prod", PROD)])
    (repo / "output/prod/mine.yaml").write_text("user\n")
    report = apply(repo, [bundle("prod", {"kustomization.yaml": "y\n"})])
    assert (repo / "output/prod/mine.yaml").read_text() == "user\n"
    assert "output/prod/mine.yaml" not in report.removed
    drift = check(repo, [bundle("prod", {"kustomization.yaml": "y\n"})], all_clusters=False)
    assert [(d.path, d.kind) for d in drift] == [("output/prod/mine.yaml", "stray")]


def test_prune_removes_cluster_without_bundle_but_keeps_user_files(repo: Path) -> None:
    apply(repo, [bundle("prod", PROD), bundle("old", {"a.yaml": "a\n", "d/b.yaml": "b\n"}),
                 bundle("gone", {"x.yaml": "x\n"})])
    (repo / "output/old/d/user.txt").write_text("keep me")
    # without prune (or without all_clusters) nothing is removed
    apply(repo, [bundle("prod", PROD)], all_clusters=True)
    apply(repo, [bundle("prod", PROD)], prune=True)
    assert (repo / "output/old/a.yaml").exists() and (repo / "output/gone/x.yaml").exists()
    report = apply(repo, [bundle("prod", PROD)], prune=True, all_clusters=True)
    assert not (repo / "output/gone").exists()
    assert files_under(repo / "output/old") == {"d/user.txt": b"keep me"}
    assert sorted(report.removed) == ["output/gone/x.yaml", "output/old/a.yaml", "output/old/d/b.yaml"]
    assert report.refused == ["output/old/d/user.txt"]
    assert report.pruned == ["gone", "old"]
    assert "output/old: 0 written, 0 unchanged, 2 removed, 1 not owned (kept) (pruned)" in report.lines()
    drift = check(repo, [bundle("prod", PROD)], all_clusters=True)
    assert [(d.path, d.kind) for d in drift] == [("output/old/d/user.txt", "stray")]


def test_leftover_temp_files_are_removed(repo: Path) -> None:
    apply(repo, [bundle("prod", PROD)])
    tmp = repo / "output/prod/base/.ns.yaml.gen-tmp-0123456789abcdef"
    tmp.write_text("half")
    drift = check(repo, [bundle("prod", PROD)], all_clusters=False)
    assert [(d.path, d.kind) for d in drift] == [("output/prod/base/.ns.yaml.gen-tmp-0123456789abcdef",
                                                  "stray")]
    report = apply(repo, [bundle("prod", PROD)])
    assert not tmp.exists()
    assert report.removed == ["output/prod/base/.ns.yaml.gen-tmp-0123456789abcdef"]
    assert check(repo, [bundle("prod", PROD)], all_clusters=False) == []


def test_file_and_directory_swap_places(repo: Path) -> None:
    apply(repo, [bundle("prod", {"a": "file a\n", "b/c/d.yaml": "d\n"})])
    apply(repo, [bundle("prod", {"a/x.yaml": "x\n", "b": "file b\n"})])
    assert files_under(repo / "output/prod").keys() == {"a/x.yaml", "b", ".gen-manifest.json"}
    assert check(repo, [bundle("prod", {"a/x.yaml": "x\n", "b": "file b\n"})], all_clusters=True) == []


def test_spec_file_change_rewrites_only_manifest(repo: Path) -> None:
    apply(repo, [bundle("prod", PROD)])
    b = bundle("prod", PROD, spec_file="clusters/prod-eu.yaml")
    assert check(repo, [b], all_clusters=False)[0].path == "output/prod/.gen-manifest.json"
    report = apply(repo, [b])
    assert report.written == []
    assert json.loads((repo / "output/prod/.gen-manifest.json").read_text())["spec_file"] == (
        "clusters/prod-eu.yaml")
    assert check(repo, [b], all_clusters=False) == []


def test_no_temp_files_after_apply_and_mode_is_readable(repo: Path) -> None:
    apply(repo, [bundle("prod", PROD)])
    names = [n for _, _, ns in os.walk(repo / "output") for n in ns]
    assert not [n for n in names if ".gen-tmp-" in n]
    assert os.stat(repo / "output/prod/kustomization.yaml").st_mode & 0o444 == 0o444


_NAMES = ["a", "ab", "a-b", "prod"]


@pytest.mark.parametrize("paths", [
    ["output/a/x", "output/ab/x", "output/a-b/x", "output/a/", "output/a", "output/ab", "other/a/x", "output//x"],
    [f"output/{c}/{f}" for c in _NAMES for f in ("k.yaml", "base/n.yaml")] + ["output/loose", "output/prod"],
])
def test_summary_lines_count_each_clusters_own_paths(paths: list[str]) -> None:
    """Each cluster's counts are its own paths (output/<cluster>/...), never a cluster whose name starts the same,
    nor a loose file named like a cluster: as many as start with ``output/<cluster>/``."""
    from generator.write.summary import WriteReport

    report = WriteReport(clusters=list(_NAMES), written=paths, unchanged=paths[::2], removed=paths[1::3],
                         refused=paths[::-1])

    def n(seq: list[str], cluster: str) -> int:
        return sum(p.startswith(f"output/{cluster}/") for p in seq)

    assert report.lines() == [
        f"output/{c}: {n(paths, c)} written, {n(paths[::2], c)} unchanged, {n(paths[1::3], c)} removed"
        + (f", {n(paths, c)} not owned (kept)" if n(paths, c) else "") for c in _NAMES]
