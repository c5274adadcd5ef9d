"""Docs contract: every command the README shows (``$ ...`` lines in console blocks) is run here, in a copy
of the repo, and must succeed; so the README cannot drift from the tool."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

README = REPO / "README.md"
# `make test` is the command that runs this very test: it is checked to be what CI runs, not run again.
RUN_ELSEWHERE = {"make test": "the README's test command, run by .ci/run"}


def readme_commands() -> list[str]:
    blocks = re.findall(r"```console\n(.*?)```", README.read_text(), flags=re.S)
    return [line[2:].strip() for block in blocks for line in block.splitlines() if line.startswith("$ ")]


def test_readme_has_the_two_quick_start_commands() -> None:
    commands = readme_commands()
    assert commands[:2] == ["make bundle", "make test"]
    assert "make test" in (REPO / ".ci" / "run").read_text()


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout's files, with its set-up venv linked in (setup.sh never modifies a linked venv)."""
    root = tmp_path_factory.mktemp("readme") / "repo"
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, check=True).stdout
    for rel in filter(None, files.decode().split("\0")):
        if (REPO / rel).is_file():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, root / rel)
    (root / ".venv").symlink_to(REPO / ".venv")
    return root


@pytest.mark.kustomize
@pytest.mark.parametrize("command", [c for c in readme_commands() if c not in RUN_ELSEWHERE])
def test_readme_command_runs(repo_copy: Path, command: str) -> None:
    env = {**os.environ, "PATH": f"{repo_copy / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(command, shell=True, cwd=repo_copy, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"$ {command}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    assert str(REPO) in (REPO / ".venv" / "bin" / "gen").read_text().splitlines()[0]  # the venv is untouched


ARGO_CM = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
  namespace: argocd
data:
  url: https://argo.example
"""


@pytest.mark.kustomize
def test_readme_cluster_commands_work_offline(tmp_path: Path) -> None:
    """The README's kubectl commands need a cluster; their offline forms must succeed on the committed output."""
    from generator.build.kustomize import kustomize_command

    text = README.read_text()
    patch = ("kubectl -n argocd patch configmap argocd-cm --type merge "
             "--patch-file output/prod/argocd/argocd-cm-health.yaml")
    assert patch in text and "kubectl apply -k output/<name>/argocd" in text
    assert "kubectl apply -f output/fleet/bootstrap.yaml" in text
    kubectl = kustomize_command()[0]
    cm = tmp_path / "argocd-cm.yaml"
    cm.write_text(ARGO_CM)
    patched = subprocess.run([kubectl, "patch", "--local", "-f", str(cm), "--type", "merge", "--patch-file",
                              "output/prod/argocd/argocd-cm-health.yaml", "-o", "yaml"], cwd=REPO,
                             capture_output=True, text=True, timeout=60)
    assert patched.returncode == 0, patched.stderr
    assert "resource.customizations.health.mellanox.com_NicClusterPolicy" in patched.stdout
    assert "url: https://argo.example" in patched.stdout
    built = subprocess.run([*kustomize_command(), "output/prod/argocd"], cwd=REPO, capture_output=True, text=True,
                           timeout=60)
    assert built.returncode == 0, built.stderr
    assert "kind: AppProject" in built.stdout and "kind: Application" in built.stdout
    assert "kind: ApplicationSet" in (REPO / "output" / "fleet" / "bootstrap.yaml").read_text()
