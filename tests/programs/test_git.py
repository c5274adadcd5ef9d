"""git, read-only, with the real git: refs, the default branch's merge base, a commit's files; nothing changes in
the checkout or its index."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from generator.programs import git as gitlib
from tests.conftest import commit_all, git


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    root = tmp_path / "r"
    (root / "output" / "prod").mkdir(parents=True)
    (root / "output" / "prod" / "a.yaml").write_text("a: 1\n")
    (root / "overlays" / "prod").mkdir(parents=True)
    (root / "overlays" / "prod" / "kustomization.yaml").write_text("kind: Component\n")
    (root / "overlays" / "prod" / "link.yaml").symlink_to("kustomization.yaml")
    (root / "clusters").mkdir()
    (root / "clusters" / "prod.yaml").write_text("name: prod\n")
    commit_all(root, "first")
    return root


def test_resolve_names_a_commit_or_says_it_cannot(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    assert gitlib.resolve(repo, "HEAD") == gitlib.Revision(head, "HEAD")
    assert gitlib.resolve(repo, "main").commit == head
    for bad in ("nope", "-x", "--all", "", "HEAD~5"):
        with pytest.raises(gitlib.GitError, match="not a commit in"):
            gitlib.resolve(repo, bad)


def test_not_a_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    with pytest.raises(gitlib.GitError, match="not a git checkout"):
        gitlib.checkout(tmp_path)


def test_checkout_gives_the_repo_s_place_in_the_work_tree(repo: Path) -> None:
    assert gitlib.checkout(repo) == ""
    assert gitlib.checkout(repo / "overlays") == "overlays/"
    with pytest.raises(gitlib.GitError, match="not a git checkout"):
        gitlib.checkout(repo / ".git")


def test_default_is_head_on_main_and_the_merge_base_on_a_branch(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD").strip()
    on_main = gitlib.default_revision(repo)
    assert (on_main.commit, on_main.ref, on_main.why) == (first, "HEAD", "HEAD is on the default branch main")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "clusters" / "prod.yaml").write_text("name: prod\nmode: shared\n")
    commit_all(repo, "on the branch")
    git(repo, "checkout", "-q", "main")
    (repo / "clusters" / "eu.yaml").write_text("name: eu\n")
    commit_all(repo, "main moves on")
    git(repo, "checkout", "-q", "feature")
    base = gitlib.default_revision(repo)
    assert (base.commit, base.ref) == (first, "the merge base of HEAD and main")
    # origin/HEAD names the default branch when there is one
    git(repo, "update-ref", "refs/remotes/origin/trunk", "HEAD")
    git(repo, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/trunk")
    tip = gitlib.default_revision(repo)
    assert (tip.commit, tip.ref) == (git(repo, "rev-parse", "HEAD").strip(), "the merge base of HEAD and origin/trunk")


def test_default_without_a_default_branch_is_head(repo: Path) -> None:
    git(repo, "branch", "-q", "-m", "main", "work")
    revision = gitlib.default_revision(repo)
    assert revision.ref == "HEAD" and "no origin/HEAD, main or master" in revision.why
    # a pull request's checkout in CI: a detached HEAD and origin/main only
    first = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    git(repo, "checkout", "-q", "--detach")
    (repo / "clusters" / "prod.yaml").write_text("name: prod\nmode: shared\n")
    commit_all(repo, "the pull request")
    revision = gitlib.default_revision(repo)
    assert (revision.commit, revision.ref) == (first, "the merge base of HEAD and origin/main")


def test_no_commit_yet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    git(tmp_path, "init", "-q", "-b", "main")
    with pytest.raises(gitlib.GitError, match="no commit yet"):
        gitlib.default_revision(tmp_path)


def test_read_tree_writes_the_commit_s_files_and_links(repo: Path, tmp_path: Path) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    (repo / "output" / "prod" / "a.yaml").write_text("a: 2\n")  # not committed: not read
    index = (repo / ".git" / "index").stat()
    dest = tmp_path / "tree"
    assert gitlib.read_tree(repo, head, ["output", "overlays", "missing"], dest) == 3
    assert (dest / "output" / "prod" / "a.yaml").read_text() == "a: 1\n"
    assert os.readlink(dest / "overlays" / "prod" / "link.yaml") == "kustomization.yaml"
    assert not (dest / "clusters").exists()
    assert (repo / ".git" / "index").stat().st_mtime_ns == index.st_mtime_ns  # the index is untouched
    assert git(repo, "status", "--porcelain") == " M output/prod/a.yaml\n"


def test_read_tree_of_a_repo_in_a_subdirectory(repo: Path, tmp_path: Path) -> None:
    sub = repo / "gitops"
    (sub / "output" / "x").mkdir(parents=True)
    (sub / "output" / "x" / "b.yaml").write_text("b: 1\n")
    head = commit_all(repo, "sub")
    assert gitlib.checkout(sub) == "gitops/"
    dest = tmp_path / "tree"
    assert gitlib.read_tree(sub, head, ["output"], dest) == 1
    assert (dest / "output" / "x" / "b.yaml").read_text() == "b: 1\n"


def test_read_tree_ignores_the_commit_s_gitattributes(repo: Path, tmp_path: Path) -> None:
    (repo / ".gitattributes").write_text("output/** export-ignore\n")
    head = commit_all(repo, "attributes")
    assert gitlib.read_tree(repo, head, ["output"], tmp_path / "tree") == 1


def _status(repo: Path, *paths: str) -> set[str]:
    """What git itself says differs under ``paths`` (untracked and ignored files too)."""
    out = git(repo, "status", "--porcelain", "-z", "--ignored", "-uall", "--no-renames", "--", *paths)
    return {entry[3:] for entry in out.split("\0") if entry}


def test_changed_paths_are_what_git_status_says(repo: Path) -> None:
    (repo / ".gitignore").write_text("*.lock\n")
    commit_all(repo, "ignore locks")
    head = git(repo, "rev-parse", "HEAD").strip()
    (repo / "output" / "prod" / "a.yaml").write_text("a: 2\n")  # changed
    (repo / "overlays" / "prod" / "kustomization.yaml").chmod(0o755)  # its mode
    (repo / "overlays" / "prod" / "link.yaml").unlink()
    (repo / "overlays" / "prod" / "link.yaml").symlink_to("other.yaml")  # a link retargeted
    (repo / "output" / "prod" / "new.yaml").write_text("n: 1\n")  # untracked
    (repo / "output" / ".gen.lock").write_text("123")  # ignored
    (repo / "clusters" / "prod.yaml").write_text("name: changed\n")  # not asked about
    expected = {"output/prod/a.yaml", "overlays/prod/kustomization.yaml", "overlays/prod/link.yaml",
                "output/prod/new.yaml", "output/.gen.lock"}
    assert set(gitlib.changed_paths(repo, head, ["output/", "overlays/"])) == expected
    assert _status(repo, "output/", "overlays/") == expected
    (repo / "output" / "prod" / "a.yaml").unlink()  # deleted
    assert "output/prod/a.yaml" in gitlib.changed_paths(repo, head, ["output/", "overlays/"])
    git(repo, "checkout", "-q", "--", ".")
    for extra in ("output/prod/new.yaml", "output/.gen.lock"):
        (repo / extra).unlink()
    assert gitlib.changed_paths(repo, head, ["output/", "overlays/"]) == []


def test_changed_paths_in_a_sha256_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    root = tmp_path / "r"
    (root / "output").mkdir(parents=True)
    (root / "output" / "a.yaml").write_text("a: 1\n")
    git(tmp_path, "init", "-q", "--object-format=sha256", "-b", "main", str(root))
    head = commit_all(root, "first")
    assert len(head) == 64 and gitlib.changed_paths(root, head, ["output/"]) == []
    (root / "output" / "a.yaml").write_text("a: 2\n")
    assert gitlib.changed_paths(root, head, ["output/"]) == ["output/a.yaml"]


PROGRAMS = {  # configuration of the checkout that names a program git would run, and what makes git run it
    "core.fsmonitor": "{script}",
    "filter.x.clean": "{script}", "filter.x.smudge": "{script}", "filter.x.process": "{script}",
    "diff.external": "{script}", "diff.x.textconv": "{script}", "core.pager": "{script}",
    "core.hooksPath": "{hooks}", "core.sshCommand": "{script}", "credential.helper": "!{script}",
}


def test_no_program_the_checkout_configures_ever_runs(repo: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    script = tmp_path / "program"
    script.write_text(f"#!/bin/sh\necho \"$0 $*\" >> {marker}\ncat\n")
    script.chmod(0o755)
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for hook in ("post-index-change", "reference-transaction", "post-checkout"):
        (hooks / hook).symlink_to(script)
    for key, value in PROGRAMS.items():
        git(repo, "config", key, value.format(script=script, hooks=hooks))
    (repo / ".gitattributes").write_text("* filter=x diff=x\n")
    commit_all(repo, "attributes")
    marker.unlink(missing_ok=True)
    (repo / "output" / "prod" / "a.yaml").write_text("a: 2\n")  # a stat-dirty file: git would hash it again
    head = gitlib.resolve(repo, "HEAD").commit
    assert gitlib.checkout(repo) == "" and gitlib.toplevel(repo) == repo
    assert gitlib.default_revision(repo).commit == head
    assert gitlib.changed_paths(repo, head, ["output/", "overlays/"]) == ["output/prod/a.yaml"]
    assert gitlib.read_tree(repo, head, ["output", "overlays"], tmp_path / "tree") == 3
    assert not marker.exists(), marker.read_text()
    git(repo, "status")  # the same checkout, as git runs it by itself: the test would see a program run
    assert marker.exists()


def test_every_blob_s_size_is_asked_before_it_is_read(repo: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / "output" / "prod" / "big.yaml").write_bytes(b"#" * 5000)
    head = commit_all(repo, "a large file")
    calls: list[tuple[str, ...]] = []
    real = gitlib._git

    def spy(where: Path, *args: str, stdin: bytes | None = None) -> object:
        calls.append(args)
        return real(where, *args, stdin=stdin)

    monkeypatch.setattr(gitlib, "_git", spy)
    monkeypatch.setattr(gitlib, "MAX_BLOB_BYTES", 4096)
    with pytest.raises(gitlib.GitError, match=r"output/prod/big\.yaml in [0-9a-f]{12}: 5,000 bytes, more than the "
                                              r"4,096 a file of a GitOps bundle may hold; not read"):
        gitlib.read_tree(repo, head, ["output"], tmp_path / "tree")
    assert ("cat-file", "--batch-check") in calls and ("cat-file", "--batch") not in calls
    monkeypatch.setattr(gitlib, "MAX_BLOB_BYTES", 8192)
    monkeypatch.setattr(gitlib, "MAX_TREE_BYTES", 5003)  # a.yaml (5 bytes) and big.yaml: 5,005 together
    with pytest.raises(gitlib.GitError, match="hold more than 5,003 bytes; not a GitOps bundle"):
        gitlib.read_tree(repo, head, ["output"], tmp_path / "tree")


def test_a_repository_of_another_user_is_refused_as_git_refuses_it(repo: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_TEST_ASSUME_DIFFERENT_OWNER", "1")  # git's own way to test safe.directory
    with pytest.raises(gitlib.GitError, match=r"owned by another user, and git refuses it \(safe\.directory\)"):
        gitlib.checkout(repo)
