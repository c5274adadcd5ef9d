"""Hostile files in a GitOps repo, through the real CLI: a manifest nested past Python's recursion limit, and
directories given to ``gen lint`` that hold FIFOs, devices and link loops. Each case ends in one message with the
documented exit code, never a traceback or a hang, and output/ stays byte-equal."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import run_gen_process, snapshot, write_spec
from tests.helpers import run_gen

pytestmark = pytest.mark.slow  # whole-tool runs: not in make test-fast

def _output(repo: Path) -> dict[str, bytes]:
    """output/ as git sees it (the run lock is gitignored: it holds the last holder's pid)."""
    return {k: v for k, v in snapshot(repo / "output").items() if k != ".gen.lock"}


CONFIG_MAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\ndata:\n  a: b\n"


@pytest.mark.kustomize
def test_a_manifest_of_100000_nested_brackets_is_one_error(gitops_repo: Path) -> None:
    write_spec(gitops_repo)
    run_gen("bundle", "--all", repo=gitops_repo, check=True)
    (gitops_repo / "output" / "prod" / ".gen-manifest.json").write_text("[" * 100_000)
    before = _output(gitops_repo)
    bundled = run_gen_process("bundle", "--all", cwd=gitops_repo)
    assert bundled.code == 2 and "Traceback" not in bundled.err and "RecursionError" not in bundled.err
    assert bundled.err.splitlines()[-1] == (
        "gen: error: output/prod/.gen-manifest.json is not a gen manifest (nested too deeply); delete "
        "output/prod/.gen-manifest.json and rerun gen with --force to re-adopt the generated files")
    checked = run_gen_process("check", cwd=gitops_repo)
    assert checked.code == 1 and "Traceback" not in checked.err
    assert checked.err.splitlines()[-1] == "gen check: 1 file(s) out of date; run: gen bundle --all"
    assert _output(gitops_repo) == before


def _hostile_entries(folder: Path) -> None:
    os.mkfifo(folder / "pipe.yaml")
    (folder / "zero.yaml").symlink_to("/dev/zero")
    (folder / "loop.yaml").symlink_to("loop.yaml")
    (folder / "gone.yaml").symlink_to("nowhere.yaml")


def test_lint_names_every_skipped_path_and_checks_the_rest(tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    _hostile_entries(folder)
    (folder / "settings.yaml").write_text(CONFIG_MAP)
    proc = run_gen_process("lint", "manifests", cwd=tmp_path)
    assert proc.code == 0 and "Traceback" not in proc.err
    assert proc.err.splitlines() == [
        "gen lint: warning: manifests/gone.yaml: skipped: a link to nothing, not a regular file",
        "gen lint: warning: manifests/loop.yaml: skipped: a symbolic link loop, not a regular file",
        "gen lint: warning: manifests/pipe.yaml: skipped: a FIFO (named pipe), not a regular file",
        "gen lint: warning: manifests/zero.yaml: skipped: a device, not a regular file"]
    assert proc.out.splitlines()[-1].startswith("gen lint: ok: nothing found; checked 1 file(s), 1 object(s)")


def test_lint_says_when_nothing_was_checked_at_all(tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    _hostile_entries(folder)
    (folder / "README.md").write_text("not a manifest\n")
    proc = run_gen_process("lint", "manifests", cwd=tmp_path)
    assert proc.code == 2 and "Traceback" not in proc.err and proc.out == ""
    assert len(proc.err.splitlines()) == 5 and proc.err.splitlines()[-1] == (
        "gen: error: nothing to lint: no YAML file or kustomization in manifests (4 skipped, not regular files); give "
        "the files or directories that hold the manifests")
    (tmp_path / "empty").mkdir()
    proc = run_gen_process("lint", "empty", cwd=tmp_path)
    assert proc.code == 2 and proc.err == ("gen: error: nothing to lint: no YAML file or kustomization in empty; give "
                                           "the files or directories that hold the manifests\n")
