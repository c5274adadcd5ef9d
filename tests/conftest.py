"""Shared fixtures: the repo root, ../shared (found here and only here), an isolated cache, and throw-away GitOps
repos. Without ../shared the run stops with an error: the tests never skip what they cannot check."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from generator import catalog
from generator.check.schemas.kinds import Schemas, schemas_for
from generator.check.schemas.store import open_store
from generator.cluster.load import parse_cluster
from generator.cluster.model import MODES, Cluster

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
    cache (gen's caches go to a directory of this session; subprocesses inherit it)."""
    if not UPSTREAM.is_dir():
        pytest.exit(f"{UPSTREAM} is missing: tests need ../shared beside the repo (or GEN_SHARED_DIR)", returncode=2)
    os.environ["GEN_SCHEMA_MIRROR"] = str(UPSTREAM)
    os.environ["GEN_CACHE_DIR"] = str(tmp_path_factory.mktemp("gen-cache"))
    os.environ.pop("GEN_SCHEMA_CACHE", None)


@pytest.fixture
def gitops_repo(tmp_path: Path) -> Path:
    """An empty GitOps repo with a clusters/ folder."""
    (tmp_path / "clusters").mkdir()
    return tmp_path


def write_spec(repo: Path, name: str = "prod", **kwargs: str) -> Path:
    path = repo / "clusters" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(spec_text(name=name, **kwargs))
    return path


def run_gen(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess (as a user would)."""
    gen = shutil.which("gen", path=str(Path(sys.executable).parent)) or "gen"
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run([gen, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"gen {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def mode_specs() -> dict[str, Cluster]:
    """A cluster of every mode (release v25.4.0)."""
    return {mode: parse_cluster(spec_text(name=f"c-{mode}", mode=mode).encode(), f"clusters/c-{mode}.yaml")
            for mode in MODES}


@pytest.fixture(scope="session")
def validators() -> dict[str, Schemas]:
    """Strict schemas of v25.4.0 for every pinned Argo CD release."""
    store = open_store(UPSTREAM)
    return {version: schemas_for("v25.4.0", version, store) for version in catalog.load().argocd_versions}
