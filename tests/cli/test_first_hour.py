"""A new user's first hour: the advice gen gives works, the fleet file stays current, two specs cannot fight over
one cluster, and what the README says about the CLI holds."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from generator import catalog
from tests.conftest import REPO, commit_all, write_spec
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
    # one error naming all three files (no git here: none blamed), at the last one's destination
    [error] = [line for line in proc.err.splitlines() if line.startswith("gen: error:")]
    assert error.startswith("gen: error: clusters/west.yaml:") and "field 'argocd.destination'" in error
    assert "clusters/prod.yaml, clusters/staging.yaml and clusters/west.yaml target the same cluster" in error
    assert "nic-cluster-policy" in error and "give each spec its own argocd.destination" in error
    assert not (gitops_repo / "output").exists()
    for name in ("west", "prod", "staging"):  # whichever is named
        proc = run_gen("bundle", "--cluster", name, repo=gitops_repo)
        assert proc.code == 2 and "clusters/prod.yaml, clusters/staging.yaml and clusters/west.yaml" in proc.err


def test_a_clash_is_found_whatever_is_named_and_blames_the_spec_that_changed(gitops_repo: Path) -> None:
    """Two specs on the in-cluster default: `gen bundle --cluster new` must not write a bootstrap with two
    Applications on one cluster, and the message names both files and the one that changed (git)."""
    write_spec(gitops_repo, "prod")
    write_spec(gitops_repo, "other")  # its own destination
    run_gen("bundle", "--all", repo=gitops_repo, check=True)
    commit_all(gitops_repo, "prod")
    before = (gitops_repo / "output/fleet/bootstrap.yaml").read_bytes()
    spec = write_spec(gitops_repo, "new")
    spec.write_text(spec.read_text().replace("  destination:\n    name: new\n", ""))  # the default, as prod's
    for args in (("bundle", "--cluster", "new"), ("bundle", "--cluster", "other"), ("bundle", "--all"), ("check",),
                 ("check", "--cluster", "new")):
        proc = run_gen(*args, repo=gitops_repo)
        assert proc.code == 2, (args, proc.err)
        [error] = [line for line in proc.err.splitlines() if line.startswith("gen: error:")]
        assert error.startswith("gen: error: clusters/new.yaml:")  # the one that changed, not prod
        assert "clusters/new.yaml and clusters/prod.yaml target the same cluster (server " \
               "'https://kubernetes.default.svc' by default" in error
        assert "clusters/new.yaml changed since the last commit (git): give it its own argocd.destination" in error
    assert (gitops_repo / "output/fleet/bootstrap.yaml").read_bytes() == before
    assert not (gitops_repo / "output/new").exists()
    commit_all(gitops_repo, "both")  # both committed: git cannot tell, so neither is blamed
    proc = run_gen("bundle", "--cluster", "new", repo=gitops_repo)
    assert proc.code == 2 and "give each spec its own argocd.destination" in proc.err
    assert "changed since" not in proc.err


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


def test_catalog_shows_releases_in_short_and_ipoib_interfaces() -> None:
    out = run_gen("catalog", check=True).out
    cat = catalog.load()
    long = run_gen("releases", check=True).out
    for release in cat.releases.values():
        assert re.search(rf"^  {re.escape(release.tag)}\s+{re.escape(release.chart_version)}\s+"
                         rf"{release.status.status}\s", out, flags=re.M)
        image = release.images["docaDriver"]
        assert f"{image.repository}/{image.image}" in long and image.version in long  # the images: the long form
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


def test_cache_show_describes_every_cache_this_version_keeps(tmp_path: Path) -> None:
    """No cache gen writes is called "no longer used" (kustomize-dirs/, which gen lint fills, was)."""
    from generator.cli.cache import PARTS

    kept = set()
    for source in (REPO / "generator").rglob("*.py"):
        kept |= set(re.findall(r'DiskCache\(cache_root\(\), "([^"]+)"', source.read_text()))
    assert {"kustomize-dirs", "kustomize", "helm-renders", "checked", "parsed-yaml"} <= kept
    assert kept <= set(PARTS)
    env = {"GEN_CACHE_DIR": str(tmp_path / "c")}
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n")
    (tmp_path / "k" / "kustomization.yaml").write_text("resources: [cm.yaml]\n")
    assert "1 kustomize build(s)" in run_gen("lint", "k", cwd=tmp_path, env=env, check=True).out
    shown = run_gen("cache", env=env, check=True).out
    assert "no longer used" not in shown
    assert re.search(r"kustomize-dirs/\s+\d+ file\(s\).*gen lint", shown), shown
    (tmp_path / "c" / "old-part").mkdir()
    assert "old-part/" in run_gen("cache", env=env, check=True).out and "no longer used" in \
        run_gen("cache", env=env, check=True).out


def test_every_make_target_runs_something_that_exists() -> None:
    makefile = (REPO / "Makefile").read_text()
    for script in re.findall(r"(?:python|bash|^\t)\s*((?:bench|scripts)/[\w./-]+)", makefile, flags=re.M):
        assert (REPO / script).is_file(), script
    assert shutil.which("make") is None or "bench:" in makefile


def test_a_hand_edit_under_output_is_named_before_it_is_overwritten(two_clusters: Path) -> None:
    policy = two_clusters / "output/prod/base/nicclusterpolicy.yaml"
    generated = policy.read_bytes()
    policy.write_bytes(generated.replace(b"forcePrecompiled: false", b"forcePrecompiled: true"))
    where = "change clusters/prod.yaml, or put a patch in overlays/prod/"
    proc = run_gen("check", repo=two_clusters)
    assert proc.code == 1
    assert "output/prod/base/nicclusterpolicy.yaml: changed (edited by hand since gen wrote it)" in proc.out
    assert f"gen check: output/prod/base/nicclusterpolicy.yaml was edited by hand; gen bundle replaces it " \
           f"with the generated file. A lasting change: {where}" in proc.err
    proc = run_gen("bundle", "--all", repo=two_clusters, check=True)
    [warning] = [line for line in proc.err.splitlines() if "edited by hand" in line]
    assert warning.startswith("gen: warning: output/prod/base/nicclusterpolicy.yaml: edited by hand since gen wrote "
                              "it; gen bundle replaces it now") and where in warning
    assert policy.read_bytes() == generated
    # a file that changed because its spec did is no hand edit: said by neither
    spec = two_clusters / "clusters/prod.yaml"
    spec.write_text(spec.read_text().replace("mode: sriov ", "mode: shared "))
    check = run_gen("check", repo=two_clusters)
    assert check.code == 1 and "edited by hand" not in check.out + check.err
    assert "edited by hand" not in run_gen("bundle", "--all", repo=two_clusters, check=True).err


def _untimed(text: str) -> str:
    return re.sub(r"\d+\.\d s\b", "N s", text)


def test_the_chart_note_is_said_once_per_command_and_can_be_silenced(two_clusters: Path) -> None:
    """No network-operator chart at hand (the test session's mirror has none): one note per command, naming every
    release concerned; GEN_NO_CHART_NOTE=1 silences it, and changes no verdict."""
    write_spec(two_clusters, "old", version="v25.7.0")
    run_gen("bundle", "--all", repo=two_clusters, check=True)
    commands = [("bundle", "--all"), ("check",), ("bundle", "--cluster", "old"), ("plan", "--cluster", "prod"),
                ("upgrade", "--cluster", "old", "--to", "v26.1.2", "--dry-run"), ("chart",), ("bundle", "--all")]
    for args in commands:
        proc = run_gen(*args, repo=two_clusters)
        notes = [line for line in proc.err.splitlines() if line.startswith("gen: note: network-operator chart")]
        assert len(notes) == 1, (args, proc.err)
        quiet = run_gen(*args, repo=two_clusters, env={"GEN_NO_CHART_NOTE": "1"})
        again = run_gen(*args, repo=two_clusters)  # the same state as the quiet run (a first write is done)
        assert quiet.code == proc.code == again.code and _untimed(quiet.out) == _untimed(again.out), args
        assert "network-operator chart" not in quiet.err, args
    assert "v25.7.0, v25.10.0, v26.1.2" in run_gen(*commands[4], repo=two_clusters).err  # every release of the way


def test_schemas_pull_from_a_missing_directory_is_exit_2_even_with_a_warm_cache(tmp_path: Path) -> None:
    env = {"GEN_CACHE_DIR": str(tmp_path / "cache")}
    run_gen("schemas", "pull", env=env, check=True)  # warm: from the session's mirror
    for args, env_more in ((("schemas", "pull", "--from", str(tmp_path / "nonexistent")), {}),
                           (("schemas", "pull"), {"GEN_SCHEMA_MIRROR": str(tmp_path / "nonexistent")})):
        proc = run_gen(*args, env={**env, **env_more})
        assert proc.code == 2, proc.out + proc.err
        assert "nonexistent: not a directory" in proc.err and proc.err.count("\n") == 1
