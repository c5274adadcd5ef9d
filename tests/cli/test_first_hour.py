"""A new user's first hour: the advice gen gives works, the fleet file stays current, two specs cannot fight over
one cluster, and what the README says about the CLI holds."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from generator import catalog
from tests.conftest import REPO, write_spec
from tests.helpers import run_gen


def _advice(stderr: str) -> str:
    match = re.search(r"run: (gen bundle[^\n]*)", stderr)
    assert match, stderr
    return match.group(1)


def _run_advice(repo: Path, stderr: str) -> None:
    args = _advice(stderr).split()[1:]
    run_gen(*args, repo=repo, check=True)


@pytest.fixture
def two_clusters(gitops_repo: Path) -> Path:
    write_spec(gitops_repo)
    write_spec(gitops_repo, "staging", mode="base")
    run_gen("bundle", "--all", repo=gitops_repo, check=True)
    return gitops_repo


def test_a_stray_file_in_a_cluster_directory(two_clusters: Path) -> None:
    repo = two_clusters
    (repo / "output/prod/notes.md").write_text("mine\n")
    (repo / "output/prod/extra").mkdir()
    (repo / "output/prod/extra/x.yaml").write_text("a: 1\n")
    proc = run_gen("check", repo=repo)
    assert proc.code == 1 and "output/prod/notes.md: stray" in proc.out
    assert _advice(proc.err) == "gen bundle --all --force"
    proc = run_gen("bundle", "--cluster", "prod", repo=repo, check=True)  # kept, with a warning naming it
    assert "output/prod/notes.md: not written by gen; kept" in proc.err and "2 not owned (kept)" in proc.out
    assert (repo / "output/prod/notes.md").exists()
    _run_advice(repo, run_gen("check", repo=repo).err)
    assert not (repo / "output/prod/notes.md").exists() and not (repo / "output/prod/extra").exists()
    assert run_gen("check", repo=repo).code == 0


def test_a_deleted_spec(two_clusters: Path) -> None:
    repo = two_clusters
    (repo / "clusters/staging.yaml").unlink()
    proc = run_gen("bundle", "--cluster", "prod", repo=repo, check=True)
    assert "output/staging/ is stale" in proc.err and "gen bundle --all --prune" in proc.err
    proc = run_gen("check", repo=repo)
    assert proc.code == 1 and _advice(proc.err) == "gen bundle --all --prune"
    (repo / "output/staging/mine.txt").write_text("keep\n")
    (repo / "output/staging/empty-of-mine").mkdir()
    proc = run_gen("bundle", "--all", "--prune", repo=repo, check=True)
    assert (repo / "output/staging/mine.txt").exists() and (repo / "output/staging/empty-of-mine").is_dir()
    assert not (repo / "output/staging/overlays").exists()  # gen's files and the directories they leave empty
    proc = run_gen("check", repo=repo)
    assert proc.code == 1 and _advice(proc.err) == "gen bundle --all --prune --force"
    _run_advice(repo, proc.err)
    assert not (repo / "output/staging").exists()
    assert run_gen("check", repo=repo).code == 0


def test_a_loose_file_in_output(two_clusters: Path) -> None:
    (two_clusters / "output/README.md").write_text("hand-written\n")
    proc = run_gen("check", repo=two_clusters)
    assert "output/README.md: stray" in proc.out and _advice(proc.err) == "gen bundle --all --prune --force"
    _run_advice(two_clusters, proc.err)
    assert run_gen("check", repo=two_clusters).code == 0


def test_two_specs_targeting_one_cluster(gitops_repo: Path) -> None:
    write_spec(gitops_repo)
    write_spec(gitops_repo, "staging", extra="  destination:\n    server: https://kubernetes.default.svc/\n")
    write_spec(gitops_repo, "west", extra="  destination:\n    name: in-cluster\n")
    proc = run_gen("bundle", "--all", repo=gitops_repo)
    assert proc.code == 2 and "Traceback" not in proc.err
    assert "clusters/staging.yaml: field 'argocd.destination': cluster 'prod' (clusters/prod.yaml)" in proc.err
    assert "clusters/west.yaml: field 'argocd.destination'" in proc.err and "nic-cluster-policy" in proc.err
    assert not (gitops_repo / "output").exists()
    proc = run_gen("bundle", "--cluster", "west", repo=gitops_repo)  # the named one is refused as well
    assert proc.code == 2 and "clusters/west.yaml" in proc.err


def test_same_destination_in_another_argo_cd_is_another_cluster(gitops_repo: Path) -> None:
    write_spec(gitops_repo)
    write_spec(gitops_repo, "staging", extra="  namespace: argocd-staging\n  destination:\n    name: in-cluster\n")
    run_gen("bundle", "--all", repo=gitops_repo, check=True)


def test_a_new_cluster_keeps_the_fleet_file_current(two_clusters: Path) -> None:
    write_spec(two_clusters, "west", mode="ipoib")
    proc = run_gen("bundle", "--cluster", "west", repo=two_clusters, check=True)
    assert "output/fleet: 1 written" in proc.out
    assert "west" in (two_clusters / "output/fleet/bootstrap.yaml").read_text()
    assert run_gen("check", repo=two_clusters).code == 0


def test_repo_before_or_after_the_command(two_clusters: Path, tmp_path: Path) -> None:
    for args in (["--repo", str(two_clusters), "check"], ["check", "--repo", str(two_clusters)],
                 ["lint", "--no-kustomize", str(two_clusters / "output/prod/base"), "--repo", str(two_clusters)]):
        proc = run_gen(*args, cwd=tmp_path)  # elsewhere: --repo names the repo
        assert proc.code == 0, (args, proc.err)


def test_version() -> None:
    proc = run_gen("--version")
    tags = catalog.load().release_tags
    assert proc.code == 0 and proc.out == f"gen 0.1.0 (rdma-gitops); network-operator releases {tags[0]} to " \
                                                   f"{tags[-1]}\n"


def test_catalog_shows_images_and_ipoib_interfaces() -> None:
    out = run_gen("catalog", check=True).out
    cat = catalog.load()
    for release in cat.releases.values():
        image = release.images["docaDriver"]
        assert f"{image.repository}/{image.image}:{image.version}" in out
    for size in cat.vm_sizes.values():
        assert re.search(rf"{size.name}\s+{size.gpus}\s+{size.nics} x .*{size.ipoib_interface}", out)


def test_lint_summary_says_what_it_found(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n")
    out = run_gen("lint", "ok.yaml", cwd=tmp_path, check=True).out
    assert out.splitlines()[-1] == ("gen lint: ok: nothing found; checked 1 file(s), 1 object(s), 0 kustomize "
                                    "build(s)")


def test_cache_show_and_clear(tmp_path: Path) -> None:
    env = {"GEN_CACHE_DIR": str(tmp_path / "c")}
    (tmp_path / "c" / "kustomize" / "v2").mkdir(parents=True)
    (tmp_path / "c" / "kustomize" / "v2" / "x").write_text("x")
    shown = run_gen("cache", env=env, check=True).out
    assert str(tmp_path / "c") in shown and re.search(r"kustomize/\s+1 file", shown)
    run_gen("cache", "clear", env=env, check=True)
    assert not (tmp_path / "c" / "kustomize").exists()


def test_every_make_target_runs_something_that_exists() -> None:
    makefile = (REPO / "Makefile").read_text()
    for script in re.findall(r"(?:python|bash|^\t)\s*((?:bench|scripts)/[\w./-]+)", makefile, flags=re.M):
        assert (REPO / script).is_file(), script
    assert shutil.which("make") is None or "bench:" in makefile
