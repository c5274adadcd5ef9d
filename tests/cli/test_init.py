"""`gen init` from the command line: answers from options, a config file or stdin; a bad answer, a non-empty
directory or a link in the way is one line, exit 2, and nothing written; --force replaces the template's files only.

In-process (tests.helpers.run_gen, answers on its stdin) but for the run with an empty HOME and TMPDIR: tempfile
reads TMPDIR once per process."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator import catalog
from generator.cluster.model import MODES
from tests.conftest import run_gen_process, snapshot
from tests.helpers import run_gen

URL = "https://github.com/example/new-gitops.git"
COMPONENT = "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nlabels:\n- pairs:\n    team: gpu\n"
TEMPLATE_FILES = [".github/workflows/gen.yaml", ".gitignore", ".pre-commit-config.yaml", "README.md",
                  "clusters/{name}.yaml", "schemas/cluster.schema.json"]


def _spec(repo: Path, name: str) -> str:
    return (repo / "clusters" / f"{name}.yaml").read_text()


@pytest.mark.parametrize(("args", "message"), [
    (["--cluster", "Prod"], 'gen: error: --cluster: "Prod" does not match the required form'),
    (["--cluster", "fleet"], "gen: error: --cluster: 'fleet' is reserved for output/fleet/"),
    (["--mode", "sriovv"], 'gen: error: --mode: "sriovv" is not a mode; choose one of: base, sriov, shared, ipoib'),
    (["--vm-size", "Standard_D4s_v5"], 'gen: error: --vm-size: unknown VM size "Standard_D4s_v5"; choose one of:'),
    (["--repo-url", "http://git.example.com/g.git"], "gen: error: --repo-url: \"http://git.example.com/g.git\": "
                                                     "plain http://"),
    (["--repo-url", "https://me:pw@example.com/g.git"], "gen: error: --repo-url: holds credentials"),
    (["--repo-url", "ftp://example.com/g.git"], 'gen: error: --repo-url: "ftp://example.com/g.git" does not match'),
    (["--repo-url", "https://example.com/{{ cookiecutter }}"], "gen: error: --repo-url: \"https://example.com/"
                                                               "{{ cookiecutter }}\" holds '{' or '}'"),
])
def test_a_bad_answer_is_one_line_exit_2_and_nothing_written(tmp_path: Path, args: list[str], message: str) -> None:
    proc = run_gen("init", "new", "--no-input", *args, cwd=tmp_path)
    assert proc.code == 2, proc.err
    assert proc.err.count("\n") == 1 and proc.err.startswith(message), proc.err
    assert list(tmp_path.iterdir()) == []


def test_a_bad_answer_on_stdin(tmp_path: Path) -> None:
    proc = run_gen("init", "new", cwd=tmp_path, stdin=f"{URL}\nProd\n\n\n\n")
    assert proc.code == 2
    assert proc.err.startswith("gen: error: the answer to 'cluster_name': \"Prod\" does not match")
    assert proc.err.count("\n") == 1 and list(tmp_path.iterdir()) == []
    short = run_gen("init", "new", cwd=tmp_path, stdin=f"{URL}\n")
    assert short.code == 2 and "standard input ended before every question was answered" in short.err
    assert short.err.count("\n") == 1 and list(tmp_path.iterdir()) == []


def test_a_bad_config_file(tmp_path: Path) -> None:
    (tmp_path / "cc.yaml").write_text("default_context:\n  cluster_name: 12\n")
    proc = run_gen("init", "new", "--no-input", "--config-file", "cc.yaml", cwd=tmp_path)
    assert proc.code == 2
    assert proc.err == "gen: error: cc.yaml:2:17: default_context.cluster_name: must be a string, not int\n"
    missing = run_gen("init", "new", "--no-input", "--config-file", "nope.yaml", cwd=tmp_path)
    assert missing.code == 2 and missing.err.startswith("gen: error: nope.yaml: cannot open it")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cc.yaml"]


def test_a_non_empty_directory_is_refused_without_force(tmp_path: Path) -> None:
    target = tmp_path / "repo"
    target.mkdir()
    (target / "notes.txt").write_text("mine\n")
    before = snapshot(tmp_path)
    proc = run_gen("init", "repo", "--no-input", cwd=tmp_path)
    assert proc.code == 2
    assert proc.err == ("gen: error: repo: not empty (notes.txt); gen init writes into a new or empty directory, "
                           "or pass --force to write the template's files over the same paths there (nothing else "
                           "is changed or deleted)\n")
    (tmp_path / "afile").write_text("x\n")
    not_dir = run_gen("init", "afile", "--no-input", cwd=tmp_path)
    assert not_dir.code == 2 and "afile: not a directory" in not_dir.err
    assert snapshot(tmp_path) == {**before, "afile": b"x\n"}
    # in the current directory, as `git init` does: not empty either
    assert run_gen("init", "--no-input", cwd=target).code == 2


@pytest.mark.kustomize
def test_interactive_answers_on_stdin_choose_from_the_catalog(tmp_path: Path) -> None:
    sizes = list(catalog.load().vm_sizes)
    # mode: the default (the template's) is choice 1, then the other modes in the model's order
    proc = run_gen("init", "new", cwd=tmp_path,
               stdin=f"git@github.com:example/gitops.git\ngpu-1\n4\n{len(sizes)}\n\n")
    assert proc.code == 0, proc.err
    for choice in [*MODES, *sizes]:
        assert f" - {choice}\n" in proc.out
    spec = _spec(tmp_path / "new", "gpu-1")
    assert "name: gpu-1\n" in spec and f"vmSize: {sizes[-1]}\n" in spec
    assert "repoURL: git@github.com:example/gitops.git\n" in spec
    assert "mode: ipoib  # base | sriov | shared | ipoib\n" in spec
    assert f"version: {catalog.load().default_release}\n" in spec


@pytest.mark.kustomize
def test_a_config_file_answers_and_options_override_it(tmp_path: Path) -> None:
    (tmp_path / "cc.yaml").write_text("default_context:\n  full_name: Me\n  repo_url: ssh://git@example.com/g.git\n"
                                      "  cluster_name: eu-1\n  mode: base\n")
    proc = run_gen("init", "new", "--no-input", "--config-file", "cc.yaml", "--mode", "shared", cwd=tmp_path)
    assert proc.code == 0, proc.err
    assert "gen: warning: cc.yaml:2:14: default_context.full_name: not a question of gen init" in proc.err
    spec = _spec(tmp_path / "new", "eu-1")
    assert "mode: shared " in spec and "repoURL: ssh://git@example.com/g.git\n" in spec
    assert "gen init: new: a new GitOps repo for cluster eu-1 (shared on Standard_ND96asr_v4" in proc.out


@pytest.mark.kustomize
def test_force_replaces_the_template_files_only_and_bundles_every_cluster(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    assert run_gen("init", "repo", "--no-input", "--cluster", "eu-1", "--repo-url", URL, cwd=tmp_path).code == 0
    # the user's own files, and a README and spec of theirs at the template's paths
    (repo / "notes.txt").write_text("mine\n")
    (repo / "README.md").write_text("my readme\n")
    other = repo / "clusters" / "us-2.yaml"
    other.write_text(_spec(repo, "eu-1").replace("name: eu-1", "name: us-2")
                     + "  destination:\n    name: us-2\n")
    (repo / "overlays" / "us-2").mkdir(parents=True)
    (repo / "overlays" / "us-2" / "kustomization.yaml").write_text(COMPONENT)
    proc = run_gen("init", "repo", "--force", "--no-input", "--cluster", "eu-1", "--mode", "ipoib", "--repo-url", URL,
               cwd=tmp_path)
    assert proc.code == 0, proc.err
    assert "the template's 6 file(s) for cluster eu-1 (ipoib on" in proc.out and "(6 replaced)" in proc.out
    assert (repo / "notes.txt").read_text() == "mine\n"
    assert (repo / "README.md").read_text().startswith("# GitOps: RDMA over InfiniBand on AKS\n")
    assert "mode: ipoib " in _spec(repo, "eu-1") and other.exists()
    # gen bundle --all ran in the repo: both clusters are in output/ and the fleet file
    assert "output/us-2: " in proc.out
    assert "us-2" in (repo / "output" / "fleet" / "bootstrap.yaml").read_text()
    check = run_gen("check", cwd=repo)
    assert check.code == 0, check.out + check.err


def test_force_refuses_a_link_on_a_template_path_before_writing(tmp_path: Path) -> None:
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    repo.mkdir()
    outside.mkdir()
    (repo / "notes.txt").write_text("mine\n")
    (repo / "clusters").symlink_to(outside)
    before = snapshot(tmp_path)
    proc = run_gen("init", "repo", "--force", "--no-input", cwd=tmp_path)
    assert proc.code == 2
    assert proc.err.startswith("gen: error: repo/clusters: is a symbolic link; gen init --force writes only")
    assert snapshot(tmp_path) == before and list(outside.iterdir()) == []


@pytest.mark.kustomize
def test_force_refuses_a_spec_that_would_fight_over_the_cluster_before_writing(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    assert run_gen("init", "repo", "--no-input", "--cluster", "eu-1", cwd=tmp_path).code == 0
    before = snapshot(repo)
    # a second cluster with the default destination: the same cluster as eu-1
    proc = run_gen("init", "repo", "--force", "--no-input", "--cluster", "us-2", cwd=tmp_path)
    assert proc.code == 2
    assert "clusters/us-2.yaml" in proc.err and "field 'argocd.destination': clusters/eu-1.yaml and " \
        "clusters/us-2.yaml target the same cluster" in proc.err
    assert snapshot(repo) == before


@pytest.mark.kustomize
def test_force_refuses_when_an_overlay_of_the_repo_does_not_build_before_writing(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    assert run_gen("init", "repo", "--no-input", "--cluster", "eu-1", cwd=tmp_path).code == 0
    (repo / "overlays" / "eu-1").mkdir(parents=True)
    (repo / "overlays" / "eu-1" / "kustomization.yaml").write_text(COMPONENT + "patches:\n- path: missing.yaml\n")
    before = snapshot(repo)
    proc = run_gen("init", "repo", "--force", "--no-input", "--cluster", "eu-1", "--mode", "base", cwd=tmp_path)
    assert proc.code == 1 and "missing.yaml" in proc.err
    assert snapshot(repo) == before


@pytest.mark.kustomize
def test_force_says_when_output_could_not_follow(tmp_path: Path) -> None:
    """A file in output/ that gen does not own (its manifest lost) stops gen bundle --all in DIR: the template's files
    are written by then, and the message says so and what to run."""
    repo = tmp_path / "repo"
    assert run_gen("init", "repo", "--no-input", cwd=tmp_path).code == 0
    (repo / "output" / "prod" / ".gen-manifest.json").unlink()
    proc = run_gen("init", "repo", "--force", "--no-input", "--mode", "base", cwd=tmp_path)
    assert proc.code == 1
    assert "not owned by gen" in proc.err
    assert proc.err.endswith("gen: error: gen init: repo: the template's files are written, but output/ is not "
                                "up to date: mend what is said above, then run gen bundle --all there\n")
    assert "mode: base " in _spec(repo, "prod")


def test_dir_and_repo_are_one_directory(tmp_path: Path) -> None:
    proc = run_gen("init", "a", "--repo", "b", "--no-input", cwd=tmp_path)
    assert proc.code == 2 and "give the new repo's directory once" in proc.err


@pytest.mark.kustomize
@pytest.mark.slow  # a real process
def test_nothing_is_written_outside_dir_with_an_empty_home(tmp_path: Path) -> None:
    """No cookiecutter replay or cache in HOME (only gen's own cache key, which authenticates the cache gen used),
    no temporary file left, nothing beside DIR."""
    home, tmp, work = tmp_path / "home", tmp_path / "tmp", tmp_path / "work"
    for folder in (home, tmp, work):
        folder.mkdir()
    env = {"HOME": str(home), "TMPDIR": str(tmp), "XDG_CONFIG_HOME": str(home / ".config")}
    env.pop("COOKIECUTTER_CONFIG", None)
    proc = run_gen_process("init", "new", "--no-input", cwd=work, env=env)  # TMPDIR: a process
    assert proc.code == 0, proc.err
    assert [p for p in home.rglob("*") if not p.is_dir()] == [home / ".config" / "rdma-gitops" / "cache.key"]
    assert list(tmp.iterdir()) == [] and [p.name for p in work.iterdir()] == ["new"]
    written = sorted(p.relative_to(work / "new").as_posix() for p in (work / "new").rglob("*") if p.is_file())
    assert [f.format(name="prod") for f in TEMPLATE_FILES] == [f for f in written if not f.startswith("output/")]
    assert "output/fleet/bootstrap.yaml" in written and "output/.gen.lock" not in written
    shutil.rmtree(work / "new")
