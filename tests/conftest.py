"""Shared fixtures: the repo root, ../shared (found here and only here), an isolated cache, and throw-away GitOps
repos. Without ../shared the run stops with an error: the tests never skip what they cannot check."""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from generator import catalog
from generator.check.validators.kinds import Schemas, schemas_for
from generator.cluster.model import MODES, Cluster
from generator.pipeline.clusters import checked_cluster
from generator.sources.schema_store import open_store

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GEN_SHARED_DIR", REPO.parent / "shared")).resolve()
UPSTREAM = SHARED / "upstream"
REFERENCE = SHARED / "reference" / "aks-rdma-infiniband"

PROD_SPEC = """\
name: {name}
mode: {mode}                      # base | sriov | shared | ipoib
vmSize: {vm_size}
networkOperator:
  version: {version}
argocd:
  repoURL: https://github.com/example/aks-gitops.git
  targetRevision: main
"""


def spec_text(name: str = "prod", mode: str = "sriov", vm_size: str = "Standard_ND96asr_v4",
              version: str = "v25.4.0", extra: str = "") -> str:
    return PROD_SPEC.format(name=name, mode=mode, vm_size=vm_size, version=version) + extra


@pytest.fixture(autouse=True, scope="session")
def _offline_and_isolated(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests read CRDs from ../shared/upstream (offline), never from the network, and never touch the user's
    cache or its key (gen's caches and the cache key go to directories of this session; subprocesses inherit
    them)."""
    if not UPSTREAM.is_dir():
        pytest.exit(f"{UPSTREAM} is missing: tests need ../shared beside the repo (or GEN_SHARED_DIR)", returncode=2)
    os.environ["GEN_SCHEMA_MIRROR"] = str(UPSTREAM)
    os.environ["GEN_CACHE_DIR"] = str(tmp_path_factory.mktemp("gen-cache"))
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("config"))
    os.environ.pop("GEN_SCHEMA_CACHE", None)


@pytest.fixture
def gitops_repo(tmp_path: Path) -> Path:
    """An empty GitOps repo with a clusters/ folder."""
    (tmp_path / "clusters").mkdir()
    return tmp_path


def write_spec(repo: Path, name: str = "prod", **kwargs: str) -> Path:
    """A spec in ``repo``; clusters other than prod get an Argo CD destination of their own (two specs may not
    target one cluster)."""
    path = repo / "clusters" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = spec_text(name=name, **kwargs)
    if name != "prod" and "destination:" not in text:
        own = f"  targetRevision: main\n  destination:\n    name: {name}\n"
        text = text.replace("  targetRevision: main\n", own, 1)
    path.write_text(text)
    return path


def write_user_overlay(repo: Path, patches: dict[str, str], name: str = "prod") -> Path:
    """``overlays/<name>/``: a kustomize Component that applies ``patches`` (file name -> text), in that order."""
    overlay = repo / "overlays" / name
    overlay.mkdir(parents=True)
    listed = "".join(f"- path: {file}\n" for file in patches)
    (overlay / "kustomization.yaml").write_text(
        f"apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n{listed}")
    for file, text in patches.items():
        (overlay / file).write_text(text)
    return overlay


@dataclass(frozen=True)
class Result:
    """What a gen run gave: its exit code, stdout and stderr."""

    code: int
    out: str
    err: str


def run_gen_process(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
                    check: bool = False) -> Result:
    """Run the real CLI in a subprocess (as a user would). Only for what needs a process of its own: the rest runs
    gen in-process (tests.helpers.run_gen)."""
    gen = shutil.which("gen", path=str(Path(sys.executable).parent)) or "gen"
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run([gen, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"gen {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return Result(proc.returncode, proc.stdout, proc.stderr)


GIT_ENV = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "t",
           "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
           "GIT_AUTHOR_DATE": "2025-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2025-01-01T00:00:00Z",
           "GIT_OPTIONAL_LOCKS": "0"}  # `git status` in a test never refreshes the index itself


def git(repo: Path, *args: str) -> str:
    """Run the real git in ``repo`` with no user or system configuration; its stdout."""
    proc = subprocess.run(["git", "-C", str(repo), *args], env={**os.environ, **GIT_ENV}, capture_output=True,
                          text=True, timeout=60, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
    return proc.stdout


def commit_all(repo: Path, message: str = "change") -> str:
    """``git add -A`` and commit (a git repo is made on first use, on branch main); the commit."""
    if not (repo / ".git").exists():
        git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def mode_specs() -> dict[str, Cluster]:
    """A cluster of every mode (release v25.4.0)."""
    return {mode: checked_cluster(spec_text(name=f"c-{mode}", mode=mode).encode(), f"clusters/c-{mode}.yaml")
            for mode in MODES}


@pytest.fixture(scope="session")
def validators() -> dict[str, Schemas]:
    """Strict schemas of v25.4.0 for every pinned Argo CD release."""
    store = open_store(UPSTREAM)
    return {version: schemas_for("v25.4.0", version, store) for version in catalog.load().argocd_versions}


# -- the fixture chart (tests/fixtures/charts): our own miniature network-operator chart, packaged by real helm

FIXTURE_CHARTS = REPO / "tests" / "fixtures" / "charts"
FIXTURE_VERSIONS = {"v25.4.0": "25.4.0", "v25.10.0": "25.10.0"}  # 25.10.0's NFD values schema $refs the web
FIXTURE_GPU_VERSIONS = ("v26.3.3",)  # the miniature gpu-operator chart, packaged as these releases


def _helm() -> list[str]:
    from generator.programs.helm import helm_command

    command = helm_command()
    if command is None:
        pytest.fail("helm is not installed: run scripts/setup.sh (it installs the pinned helm)")
    return command


@pytest.fixture(scope="session")
def chart_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture charts packaged as network-operator 25.4.0 and 25.10.0 and gpu-operator v26.3.3, and indexed as a
    Helm repository."""
    root = tmp_path_factory.mktemp("chart-repo")
    work = tmp_path_factory.mktemp("chart-src")
    home = tmp_path_factory.mktemp("helm-home")
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "XDG_CACHE_HOME": str(home / "c"),
           "XDG_CONFIG_HOME": str(home / "f"), "XDG_DATA_HOME": str(home / "d")}
    for version in FIXTURE_VERSIONS.values():
        chart = work / version / "network-operator"
        shutil.copytree(FIXTURE_CHARTS / "network-operator", chart)
        meta = (chart / "Chart.yaml").read_text()
        meta = meta.replace("version: 25.4.0", f"version: {version}").replace("appVersion: v25.4.0",
                                                                                f"appVersion: v{version}")
        (chart / "Chart.yaml").write_text(meta)
        variant = FIXTURE_CHARTS / "variants" / version / "values.schema.json"
        if variant.is_file():
            shutil.copy(variant, chart / "charts" / "node-feature-discovery" / "values.schema.json")
        subprocess.run([*_helm(), "package", str(chart), "-d", str(root)], env=env, check=True, capture_output=True)
    for tag in FIXTURE_GPU_VERSIONS:
        chart = work / tag / "gpu-operator"
        shutil.copytree(FIXTURE_CHARTS / "gpu-operator", chart)
        meta = (chart / "Chart.yaml").read_text()
        (chart / "Chart.yaml").write_text(meta.replace("version: v26.3.3", f"version: {tag}")
                                          .replace('appVersion: "v26.3.3"', f'appVersion: "{tag}"'))
        subprocess.run([*_helm(), "package", str(chart), "-d", str(root)], env=env, check=True, capture_output=True)
    subprocess.run([*_helm(), "repo", "index", str(root)], env=env, check=True, capture_output=True)
    return root


@pytest.fixture(scope="session")
def chart_mirror(chart_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A schema mirror (../shared/upstream, linked) that also holds the fixture charts (network-operator and
    gpu-operator), laid out as gen reads it."""
    root = tmp_path_factory.mktemp("mirror")
    (root / "argo-cd").symlink_to(UPSTREAM / "argo-cd")
    for release in sorted((UPSTREAM / "network-operator").iterdir()):
        target = root / "network-operator" / release.name
        target.mkdir(parents=True)
        for item in release.iterdir():
            (target / item.name).symlink_to(item)
        version = FIXTURE_VERSIONS.get(release.name)
        if version:
            (target / "chart").mkdir()
            shutil.copy(chart_repo / f"network-operator-{version}.tgz", target / "chart")
    for release in sorted((UPSTREAM / "gpu-operator").iterdir()):
        if not release.is_dir():
            continue
        target = root / "gpu-operator" / release.name
        target.mkdir(parents=True)
        (target / "crds").symlink_to(release / "crds")
        if release.name in FIXTURE_GPU_VERSIONS:
            (target / "chart").mkdir()
            shutil.copy(chart_repo / f"gpu-operator-{release.name}.tgz", target / "chart")
    return root


@contextlib.contextmanager
def serve(root: Path) -> Iterator[str]:
    """``root`` served over HTTP on 127.0.0.1 at a free port while the block runs; yields the base URL."""
    handler = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass
