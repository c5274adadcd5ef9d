"""The published pre-commit hooks work on a GitOps repo made from the example, and block a bad edit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tests.helpers import example_repo

pytestmark = [pytest.mark.kustomize, pytest.mark.slow]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"})


def test_hooks_file_exposes_gen_lint_and_gen_check():
    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"gen-lint", "gen-check"}
    assert hooks["gen-lint"]["entry"] == "gen lint --against --" and hooks["gen-lint"]["types"] == ["yaml"]
    assert hooks["gen-check"]["pass_filenames"] is False
    own = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())
    assert {"gen-lint", "gen-check"} <= {h["id"] for r in own["repos"] for h in r["hooks"]}


def test_pre_commit_run_all_files_passes_then_fails_on_a_bad_edit(tmp_path: Path):
    pre_commit = Path(sys.executable).parent / "pre-commit"
    if shutil.which("git") is None or not pre_commit.exists():
        pytest.skip("git or pre-commit missing")
    repo = example_repo(tmp_path / "gitops")  # the example alone, whatever else the working tree holds
    # the published hooks, run from this venv (language: system) so the test needs no network
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    for hook in hooks:
        hook["language"] = "system"
        hook["entry"] = str(Path(sys.executable).parent / hook["entry"])
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump({"repos": [{"repo": "local", "hooks": hooks}]}))
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache")}

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(pre_commit), "run", "--all-files"], cwd=repo, env=env, capture_output=True,
                              text=True, timeout=240)

    first = run()
    assert first.returncode == 0, first.stdout + first.stderr
    assert next(line for line in first.stdout.splitlines() if line.startswith("gen lint")).endswith("Passed")
    policy = repo / "output" / "prod" / "base" / "nicclusterpolicy.yaml"
    policy.write_text(policy.read_text().replace("forcePrecompiled: false", "forcePrecompiled: flase"))
    _git(repo, "add", "-A")
    second = run()
    assert second.returncode == 1
    assert "base/nicclusterpolicy.yaml" in second.stdout and "schema" in second.stdout
    assert "gen check" in second.stdout
