"""`gen init` as a new team uses it (issue 12): a new repo, non-interactively, then `gen bundle --all`, `gen check`,
the CI workflow's gen steps and `pre-commit run --all-files` in it (a fresh git repo), all passing offline with an
empty HOME; a repo of every mode bundles and checks; and the wheel ships the template."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from generator import project_source, project_version
from generator.yamlio.load import load_single
from tests.conftest import GIT_ENV, REPO

pytestmark = [pytest.mark.kustomize, pytest.mark.slow]

VENV_BIN = Path(sys.executable).parent
DEAD = "http://127.0.0.1:9"  # every proxy points at a closed port: any download fails at once


def _env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {**os.environ, "HOME": str(home), "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
            "PRE_COMMIT_HOME": str(tmp_path / "pre-commit"), "http_proxy": DEAD, "https_proxy": DEAD,
            "HTTP_PROXY": DEAD, "HTTPS_PROXY": DEAD, "no_proxy": "", "NO_PROXY": "",
            "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_NOSYSTEM": "1"}


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def _ok(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    proc = _run(args, cwd, env)
    assert proc.returncode == 0, f"{' '.join(args)}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_a_new_repo_bundles_checks_and_passes_its_hooks_and_ci(tmp_path: Path) -> None:
    env = _env(tmp_path)
    out = _ok(["gen", "init", "gitops", "--no-input", "--repo-url", "https://github.com/example/gitops.git",
               "--cluster", "gpu-1"], tmp_path, env)
    assert "gen init: gitops: a new GitOps repo for cluster gpu-1" in out
    repo = tmp_path / "gitops"
    assert list((tmp_path / "home").iterdir()) == []  # no cookiecutter replay, cache or config
    bootstrap = (repo / "output" / "fleet" / "bootstrap.yaml").read_text()
    assert "kind: ApplicationSet" in bootstrap and "repoURL: https://github.com/example/gitops.git" in bootstrap

    _ok(["git", "init", "-q"], repo, env)
    _ok(["git", "add", "-A"], repo, env)
    assert "output/gpu-1: 0 written" in _ok(["gen", "bundle", "--all"], repo, env)
    _ok(["gen", "check"], repo, env)
    hooks = _ok([str(VENV_BIN / "pre-commit"), "run", "--all-files"], repo, env)
    passed = [line for line in hooks.splitlines() if line.endswith("Passed")]
    assert [line.split(".")[0] for line in passed] == ["gen lint (Network Operator manifests)",
                                                       "gen check (output/ up to date with clusters/)"]

    # the CI workflow's gen steps, as written (the mirror of the test session stands in for the network)
    workflow = load_single((repo / ".github/workflows/gen.yaml").read_bytes(), "gen.yaml").value
    steps = [step["run"] for step in workflow["jobs"]["gen"]["steps"] if step.get("run", "").startswith("gen ")]
    assert steps == ["gen schemas pull", "gen check", "gen lint --format github output/"]
    for step in steps:
        _ok(["bash", "-c", step], repo, env)

    # the hooks block a spec edit committed without its output
    spec = repo / "clusters" / "gpu-1.yaml"
    spec.write_text(spec.read_text().replace("mode: sriov ", "mode: shared "))
    _ok(["git", "add", "-A"], repo, env)
    blocked = _run([str(VENV_BIN / "pre-commit"), "run", "--all-files"], repo, env)
    assert blocked.returncode == 1
    assert any(line.startswith("gen check") and line.endswith("Failed") for line in blocked.stdout.splitlines())


@pytest.mark.parametrize(("mode", "vm_size"), [
    ("base", "Standard_HB120rs_v3"),
    ("sriov", "Standard_ND96isr_H100_v5"),
    ("shared", "Standard_ND96amsr_A100_v4"),
    ("ipoib", "Standard_HX176rs"),
    ("ipoib", "Standard_ND96isr_MI300X_v5"),
])
def test_every_mode_and_several_vm_sizes_make_a_repo_that_bundles_and_checks(tmp_path: Path, mode: str,
                                                                           vm_size: str) -> None:
    env = _env(tmp_path)
    _ok(["gen", "init", "repo", "--no-input", "--mode", mode, "--vm-size", vm_size], tmp_path, env)
    repo = tmp_path / "repo"
    assert f"mode: {mode} " in (repo / "clusters" / "prod.yaml").read_text()
    assert (repo / "output" / "prod" / "overlays" / mode / "kustomization.yaml").is_file()
    _ok(["gen", "check"], repo, env)
    assert "0 written" in _ok(["gen", "bundle", "--all"], repo, env)


def test_the_wheel_ships_the_template_and_gen_init_runs_from_it(tmp_path: Path) -> None:
    env = _env(tmp_path)
    _ok([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w",
         str(tmp_path / "dist"), str(REPO)], tmp_path, env)
    [wheel] = (tmp_path / "dist").glob("*.whl")
    template = REPO / "generator" / "init" / "template"
    wanted = {p.relative_to(REPO).as_posix() for p in template.rglob("*") if p.is_file()}
    with zipfile.ZipFile(wheel) as archive:
        assert wanted <= set(archive.namelist())
        archive.extractall(tmp_path / "site")
    script = ("import sys, generator; assert generator.__file__.startswith(sys.argv[1]), generator.__file__\n"
              "from generator.cli.main import main; sys.exit(main(sys.argv[2:]))")
    _ok([sys.executable, "-c", script, str(tmp_path / "site"), "init", "from-wheel", "--no-input"], tmp_path,
        {**env, "PYTHONPATH": str(tmp_path / "site")})
    assert (tmp_path / "from-wheel" / "schemas" / "cluster.schema.json").read_bytes() == \
        (REPO / "schemas" / "cluster.schema.json").read_bytes()
    _ok(["gen", "check"], tmp_path / "from-wheel", env)


def _source_repository(root: Path) -> Path:
    """This checkout's files (tracked and new, never ignored ones) committed to a new git repository and tagged
    v<version>, as a release of rdma-gitops is: what gen init's default requirement names, at a file:// URL."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, check=True).stdout
    for rel in filter(None, listed.decode().split("\0")):
        if (REPO / rel).is_file():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes((REPO / rel).read_bytes())
    env = {**os.environ, **GIT_ENV}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "release"],
                 ["tag", f"v{project_version()}"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True, timeout=120)
    return root


def test_the_new_repo_s_ci_installs_gen_as_written_and_its_first_bundle_says_nothing(tmp_path: Path) -> None:
    """The first day: the workflow's install step, run as written (its GEN_PACKAGE in the same form, pointed at a
    local git repository of this source instead of its public URL) in a fresh venv with the package index reachable,
    installs a gen that runs; and the new repo's first gen bundle --all prints no warning."""
    env = _env(tmp_path)
    _ok(["gen", "init", "gitops", "--no-input"], tmp_path, env)
    repo = tmp_path / "gitops"
    proc = _run(["gen", "bundle", "--all"], repo, {**env, "GEN_NO_CHART_NOTE": "1"})
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr  # a supported release: no warning, no note
    workflow = load_single((repo / ".github/workflows/gen.yaml").read_bytes(), "gen.yaml").value
    requirement = workflow["env"]["GEN_PACKAGE"]
    assert requirement == f"git+{project_source()}@v{project_version()}"  # where gen comes from: no index has it
    readme = (repo / "README.md").read_text()
    assert f"python3 -m pip install '{requirement}'" in readme and "rdma-gitops==" not in readme
    [install] = [step["run"] for step in workflow["jobs"]["gen"]["steps"] if step.get("name") == "Install gen"]
    assert install == 'python -m pip install "$GEN_PACKAGE"'

    source = _source_repository(tmp_path / "rdma-gitops")
    local = requirement.replace(project_source(), f"file://{source}", 1)
    assert local == f"git+file://{source}@v{project_version()}"
    venv = tmp_path / "venv"
    _ok([sys.executable, "-m", "venv", str(venv)], tmp_path, env)
    # a new machine: gen's venv only on PATH, an empty HOME, and the network of the package index (no dead proxies)
    fresh = {key: value for key, value in env.items() if "proxy" not in key.lower()}
    fresh.update(PATH=f"{venv / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin", GEN_PACKAGE=local)
    proc = _run(["bash", "-c", install], tmp_path, fresh)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert _ok([str(venv / "bin" / "gen"), "--version"], tmp_path, fresh).startswith(f"gen {project_version()} ")
    kustomize = {"GEN_KUSTOMIZE": f"{VENV_BIN / 'kubectl'} kustomize", "GEN_HELM": str(VENV_BIN / "helm")}
    _ok([str(venv / "bin" / "gen"), "check"], repo, {**fresh, **kustomize})
