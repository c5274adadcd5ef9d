from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from generator.core.fs import is_temp_name
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


def test_a_first_bundle_is_laid_out_under_a_temporary_name_and_renamed_into_place(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No output/<cluster>/ yet: every file created once in a directory of output/ under a temporary name, which is
    then renamed: one rename for the cluster, and no file replaced through a temporary file of its own."""
    from generator.write.fsops import DirTree

    calls: list[tuple[str, tuple[str, ...]]] = []
    for name in ("write", "create", "rename"):
        real = getattr(DirTree, name)
        monkeypatch.setattr(DirTree, name, lambda self, parts, *a, _n=name, _r=real: (
            calls.append((_n, parts)), _r(self, parts, *a))[1])
    report = apply(repo, [bundle("prod", PROD)])
    laid = {parts[0] for name, parts in calls}
    assert len(laid) == 1 and is_temp_name(next(iter(laid)))
    assert [name for name, _ in calls] == ["create"] * (len(PROD) + 1) + ["rename"]
    assert sorted(calls[:-1]) == sorted(("create", (*laid, *p.split("/"))) for p in [*PROD, ".gen-manifest.json"])
    assert report.written == sorted(f"output/prod/{p}" for p in PROD)
    assert check(repo, [bundle("prod", PROD)], all_clusters=True) == []
    assert sorted(os.listdir(repo / "output")) == [".gen.lock", "prod"]


def test_what_a_killed_first_bundle_left_is_stray_to_check_and_removed_by_the_next(repo: Path) -> None:
    """A killed run leaves the directory it was laying out (under a temporary name): gen check names its files (an
    empty one is nothing to git), gen bundle removes it, whatever it holds, before writing; a link so named is not
    followed, nor is one inside."""
    out = repo / "output"
    apply(repo, [bundle("prod", PROD)])
    left = out / ".prod.gen-tmp-0123456789abcdef"
    (left / "base").mkdir(parents=True)
    (left / "base" / "ns.yaml").write_text("kind: Namespace\n")
    (out / ".edge.gen-tmp-0123456789abcdef").mkdir()  # killed before its first file
    outside = repo.parent / "outside"
    outside.mkdir()
    (outside / "keep.yaml").write_text("mine\n")
    (left / "link").symlink_to(outside)
    (out / ".evil.gen-tmp-fedcba9876543210").symlink_to(outside)
    drift = check(repo, [bundle("prod", PROD)], all_clusters=True)
    assert [(d.path, d.kind, d.fix) for d in drift] == [
        ("output/.evil.gen-tmp-fedcba9876543210", "stray", "--prune --force"),
        ("output/.prod.gen-tmp-0123456789abcdef/base/ns.yaml", "stray", ""),
        ("output/.prod.gen-tmp-0123456789abcdef/link", "stray", "")]
    report = apply(repo, [bundle("prod", PROD)])
    assert report.removed == ["output/.edge.gen-tmp-0123456789abcdef/", "output/.prod.gen-tmp-0123456789abcdef/"]
    assert report.lines()[1:] == [f"output/.{name}.gen-tmp-0123456789abcdef/: removed (a first bundle an interrupted "
                                  "gen bundle was laying out)" for name in ("edge", "prod")]
    assert sorted(os.listdir(out)) == [".evil.gen-tmp-fedcba9876543210", ".gen.lock", "prod"]
    assert (outside / "keep.yaml").read_text() == "mine\n"


def test_a_first_bundle_that_cannot_be_laid_out_or_put_in_place_leaves_nothing(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk while laying it out: an error naming the file where it would be, and no directory left; a
    directory someone made at the cluster's path meanwhile: an error, and their files as they were."""
    import errno

    from generator.core.errors import EnvironmentFailure
    from generator.write import fsops
    from generator.write.fsops import DirTree

    real_create, made = fsops.write_new_at, []

    def full(dir_fd: int, name: str, data: bytes) -> None:
        made.append(name)
        if len(made) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_create(dir_fd, name, data)

    monkeypatch.setattr(fsops, "write_new_at", full)
    with pytest.raises(EnvironmentFailure, match=r"^output/prod/.*: cannot write it: .*free some space"):
        apply(repo, [bundle("prod", PROD)])
    assert sorted(os.listdir(repo / "output")) == [".gen.lock"]
    monkeypatch.setattr(fsops, "write_new_at", real_create)
    real_rename = DirTree.rename

    def meanwhile(self: DirTree, source: tuple[str, ...], target: tuple[str, ...]) -> None:
        (repo / "output" / "prod").mkdir()
        (repo / "output" / "prod" / "mine.yaml").write_text("mine\n")
        real_rename(self, source, target)

    monkeypatch.setattr(DirTree, "rename", meanwhile)
    with pytest.raises(EnvironmentFailure, match=r"^output/prod: cannot put it in place"):
        apply(repo, [bundle("prod", PROD)])
    assert sorted(os.listdir(repo / "output")) == [".gen.lock", "prod"]
    assert files_under(repo / "output" / "prod") == {"mine.yaml": b"mine\n"}


def test_a_leftover_named_as_gen_s_but_nested_deeper_than_gen_writes_is_refused_before_any_write(repo: Path) -> None:
    """A directory under a temporary name that holds what gen never lays out (entries 40 levels deep; 1,500 were
    past Python's recursion limit in its removal) is not removed as gen's own: a one-line refusal, exit 2, nothing
    written or removed."""
    from generator.write import UnsafePath

    out = repo / "output"
    apply(repo, [bundle("prod", PROD)])
    deep = out / ".prod.gen-tmp-0123456789abcdef"
    inner = deep
    for _ in range(40):
        inner = inner / "d"
    inner.mkdir(parents=True)
    (inner / "x.yaml").write_text("x: 1\n")
    before = files_under(out)
    with pytest.raises(UnsafePath, match=r"^output/\.prod\.gen-tmp-0123456789abcdef/ is named as gen's .* more "
                                         r"than 32 levels deep"):
        apply(repo, [bundle("prod", {**PROD, "new.yaml": "n\n"})])
    assert files_under(out) == before and (inner / "x.yaml").is_file()
    assert UnsafePath("x").exit_code == 2
