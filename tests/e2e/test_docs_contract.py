"""Docs contract: every command the README shows (``$ ...`` lines in console blocks) is run here, in a copy
of the repo, and must succeed; so the README cannot drift from the tool."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, SHARED, run_gen_process

pytestmark = pytest.mark.slow  # whole-tool runs: not in make test-fast

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
    """This checkout's files, with its set-up venv linked in (setup.sh never modifies a linked venv), and
    ``../shared`` beside it, as on a fresh clone."""
    top = tmp_path_factory.mktemp("readme")
    root = top / "repo"
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, check=True).stdout
    for rel in filter(None, files.decode().split("\0")):
        if (REPO / rel).is_file():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, root / rel)
    (root / ".venv").symlink_to(REPO / ".venv")
    (top / "shared").symlink_to(SHARED)
    return root


def offline_user_env(home: Path) -> dict[str, str]:
    """A new user's shell: an empty home and cache, no schema mirror in the environment, gen not on PATH, and
    no network (every proxy points at a closed port, so any download fails at once)."""
    keep = ("PATH", "LANG", "LC_ALL", "TERM", "TMPDIR", "SYSTEMROOT")
    env = {k: v for k, v in os.environ.items() if k in keep}
    venv_bin = str(REPO / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    dead = "http://127.0.0.1:9"
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), http_proxy=dead, https_proxy=dead,
               HTTP_PROXY=dead, HTTPS_PROXY=dead, no_proxy="", NO_PROXY="", PIP_NO_INDEX="1")
    return env


@pytest.mark.kustomize
def test_readme_commands_run_as_written_offline(repo_copy: Path, tmp_path: Path) -> None:
    """Every command of the README, in order, in one shell as a new user types them: after the quick start,
    with no network, an empty home, and nothing on PATH but what the README says to do."""
    commands = [c for c in readme_commands() if c not in RUN_ELSEWHERE]
    assert "source .venv/bin/activate" in commands
    script = ["set -u"]
    for i, command in enumerate(commands):
        script += [f"echo '>>> {i}' >&2", f"{command} || {{ echo '!!! failed: {i}' >&2; exit 1; }}"]
    proc = subprocess.run(["bash", "-c", "\n".join(script)], cwd=repo_copy, env=offline_user_env(tmp_path / "home"),
                          capture_output=True, text=True, timeout=900)
    failed = re.search(r"!!! failed: (\d+)", proc.stderr)
    where = f"$ {commands[int(failed.group(1))]}" if failed else ""
    assert proc.returncode == 0, f"{where}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr
    assert str(REPO) in (REPO / ".venv" / "bin" / "gen").read_text().splitlines()[0]  # the venv is untouched


def test_readme_example_spec_is_the_committed_one() -> None:
    text = README.read_text()
    example = re.search(r"This is the whole committed example:\n\n```yaml\n(.*?)```", text, flags=re.S)
    assert example is not None
    assert example.group(1) == (REPO / "clusters" / "prod.yaml").read_text()


def test_readme_error_message_is_what_gen_prints(tmp_path: Path) -> None:
    text = README.read_text()
    shown = re.search(r"nothing is written \(here `mode: sriovv`\):\n\n```text\n(.*?)```", text, flags=re.S)
    assert shown is not None
    (tmp_path / "clusters").mkdir()
    spec = (REPO / "clusters" / "prod.yaml").read_text()
    (tmp_path / "clusters" / "prod.yaml").write_text(spec.replace("mode: sriov ", "mode: sriovv", 1))
    proc = run_gen_process("bundle", "--cluster", "prod", cwd=tmp_path)  # as the reader runs it
    assert proc.code == 2 and proc.err == shown.group(1)


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
