"""A hostile git checkout: whatever its configuration names (an fsmonitor, filters, an external diff) never runs
when gen compares with a commit, and a huge committed blob is never read; each case ends in one message with the
documented exit code, no traceback, output/ byte-equal."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_lint_against import NCP
from tests.conftest import commit_all, git, snapshot, write_spec, write_user_overlay
from tests.helpers import run_gen

pytestmark = [pytest.mark.kustomize, pytest.mark.slow]  # whole-tool runs: not in make test-fast

FIRMWARE = NCP  # a field with an update rule (self == oldSelf): gen check and gen lint --against read the commit


@pytest.fixture
def committed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A GitOps repo with prod's output generated and committed on main."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    repo = tmp_path / "repo"
    (repo / "clusters").mkdir(parents=True)
    write_spec(repo)
    write_user_overlay(repo, {"firmware.yaml": FIRMWARE})
    run_gen("bundle", "--all", repo=repo, check=True)
    commit_all(repo, "prod")
    return repo


def test_programs_the_checkout_configures_never_run(committed: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    script = tmp_path / "program"
    script.write_text(f"#!/bin/sh\necho \"$0 $*\" >> {marker}\ncat\n")
    script.chmod(0o755)
    for key in ("core.fsmonitor", "filter.x.clean", "filter.x.smudge", "diff.external", "diff.x.textconv",
                "core.pager"):
        git(committed, "config", key, str(script))
    (committed / ".gitattributes").write_text("* filter=x diff=x\n")
    commit_all(committed, "attributes")
    marker.unlink(missing_ok=True)
    spec = committed / "clusters" / "prod.yaml"
    spec.write_text(spec.read_text().replace("mode: sriov", "mode: shared"))
    run_gen("bundle", "--all", repo=committed, check=True)  # output/ now differs from the commit
    before = snapshot(committed / "output")
    for args, where in ((("check",), {"repo": committed}), (("diff", "--all"), {"repo": committed}),
                        (("lint", "--against", "HEAD", "--", "output/prod"), {"cwd": committed})):
        result = run_gen(*args, **where)
        assert result.code == 0 and "Traceback" not in result.err, (args, result.err)
    assert not marker.exists(), marker.read_text()
    assert snapshot(committed / "output") == before


@pytest.mark.parametrize("command", ["diff", "lint", "check"])
def test_a_committed_blob_larger_than_a_bundle_file_is_never_read(committed: Path, command: str) -> None:
    big = committed / "output" / "prod" / "overlays" / "sriov" / "big.yaml"
    with open(big, "wb") as handle:  # 17 MiB of nothing: git keeps it in a few kilobytes
        handle.truncate(17 * 1024 * 1024)
    commit_all(committed, "a huge file")
    big.unlink()
    before = snapshot(committed / "output")
    args = {"diff": ("diff", "--all", "--against", "HEAD"), "check": ("check", "--against", "HEAD"),
            "lint": ("lint", "--against", "HEAD", "--", "output/prod")}[command]
    where = {"cwd": committed} if command == "lint" else {"repo": committed}
    result = run_gen(*args, **where)
    assert result.code == 2 and "Traceback" not in result.err
    assert result.err.splitlines()[-1].startswith("gen: error: output/prod/overlays/sriov/big.yaml in ")
    assert result.err.splitlines()[-1].endswith(": 17,825,792 bytes, more than the 16,777,216 a file of a GitOps "
                                                "bundle may hold; not read")
    assert snapshot(committed / "output") == before
