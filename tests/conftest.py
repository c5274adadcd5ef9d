"""Shared fixtures: the repo root, ../shared, and throw-away GitOps repos."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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
def _schema_mirror() -> None:
    """Tests read CRDs from ../shared/upstream (offline), never from the network."""
    if not UPSTREAM.is_dir():
        pytest.exit(f"{UPSTREAM} is missing: tests need ../shared beside the repo", returncode=2)
    os.environ["GEN_SCHEMA_MIRROR"] = str(UPSTREAM)


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
