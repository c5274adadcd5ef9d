"""`gen lint --against [REF]` and `gen check`: objects checked as updates of their version at a git commit (the CRDs'
CEL rules with oldSelf), in real git repositories; the checkout is never touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import GIT_ENV, Result, commit_all, git, write_spec, write_user_overlay
from tests.helpers import run_gen

STORAGE_RULE = ("availableStorageSize is immutable once set. nicFirmwareStorage should be deleted and created again "
                "with a new value.")
REFUSED = "(the API server refuses this update: rule 'self == oldSelf' fails against the previous version)"

NCP = """\
apiVersion: mellanox.com/v1alpha1
kind: NicClusterPolicy
metadata:
  name: nic-cluster-policy
spec:
  nicConfigurationOperator:
    operator:
      image: nic-configuration-operator
      repository: nvcr.io/nvidia/mellanox
      version: network-operator-v25.4.0
    configurationDaemon:
      image: nic-configuration-operator-daemon
      repository: nvcr.io/nvidia/mellanox
      version: network-operator-v25.4.0
    nicFirmwareStorage:
      create: true
      pvcName: nic-fw-storage-pvc
      storageClassName: standard
      availableStorageSize: 1Gi
"""
SIZE_LINE = NCP.splitlines().index("      availableStorageSize: 1Gi") + 1

IPPOOL = """\
apiVersion: nv-ipam.nvidia.com/v1alpha1
kind: IPPool
metadata:
  name: pool-a
  namespace: nvidia-network-operator
spec:
  subnet: 192.168.0.0/16
  perNodeBlockSize: 100
  gateway: 192.168.0.1
  perNodeExclusions:
  - startIndex: 30
    endIndex: 20
"""


def env(repo: Path) -> dict[str, str]:
    return {**GIT_ENV, "GIT_CEILING_DIRECTORIES": str(repo.parent)}


def lint(repo: Path, *args: str, release: str = "v25.4.0") -> Result:
    return run_gen("lint", "--release", release, *args, cwd=repo, env=env(repo))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with the policy committed on main."""
    root = tmp_path / "repo"
    root.mkdir()
    (root / "ncp.yaml").write_text(NCP)
    commit_all(root, "policy")
    return root


def test_against_head_refuses_a_change_to_an_immutable_field(repo: Path) -> None:
    assert lint(repo, "--against", "HEAD", "ncp.yaml").code == 0
    status = git(repo, "status", "--porcelain")
    edit(repo / "ncp.yaml", "availableStorageSize: 1Gi", "availableStorageSize: 2Gi")
    proc = lint(repo, "--against", "HEAD", "ncp.yaml")
    assert proc.code == 1, proc.out + proc.err
    assert (f"ncp.yaml:{SIZE_LINE}:29: error cel: {STORAGE_RULE} {REFUSED} "
            "(spec.nicConfigurationOperator.nicFirmwareStorage.availableStorageSize)") in proc.out
    assert "gen lint: note: compared with HEAD (" in proc.err
    assert lint(repo, "ncp.yaml").code == 0  # without --against: a create, which the rule allows
    assert status == "" and git(repo, "status", "--porcelain") == " M ncp.yaml\n"  # the checkout is left as it was


def test_default_ref_as_the_pre_commit_hook_runs_it(repo: Path) -> None:
    edit(repo / "ncp.yaml", "storageClassName: standard", "storageClassName: premium")
    proc = lint(repo, "--against", "--", "ncp.yaml")
    assert proc.code == 1
    assert "error cel: storageClassName is immutable once set." in proc.out
    assert "compared with HEAD (" in proc.err  # on main itself: HEAD
    git(repo, "checkout", "-q", "-b", "feature")
    commit_all(repo, "premium")  # committed on a branch: the merge base with main still has standard
    proc = lint(repo, "ncp.yaml", "--against")
    assert proc.code == 1 and "storageClassName is immutable" in proc.out
    assert "compared with the merge base of HEAD and main (" in proc.err
    assert lint(repo, "--against", "HEAD", "ncp.yaml").code == 0


def test_new_and_unchanged_objects_pass(repo: Path) -> None:
    other = NCP.replace("name: nic-cluster-policy", "name: second").replace("1Gi", "5Gi")
    (repo / "new.yaml").write_text(other)  # not at HEAD: a create
    proc = lint(repo, "--against", "HEAD", "ncp.yaml", "new.yaml")
    assert proc.code == 0, proc.out
    assert "1 of 2 object(s) with update rules (oldSelf) or failing CEL rules were there" in proc.err
    (repo / "new.yaml").unlink()
    (repo / "moved.yaml").write_text(NCP)  # the same object in another linted file: still an update
    (repo / "ncp.yaml").unlink()
    edit(repo / "moved.yaml", "1Gi", "3Gi")
    proc = lint(repo, "--against", "HEAD", ".")
    assert proc.code == 1 and f"moved.yaml:{SIZE_LINE}:29: error cel: {STORAGE_RULE}" in proc.out


def test_kustomize_build_is_compared_with_the_build_at_ref(repo: Path) -> None:
    base, overlay = repo / "base", repo / "overlay"
    base.mkdir()
    overlay.mkdir()
    (repo / "ncp.yaml").rename(base / "ncp.yaml")
    (base / "kustomization.yaml").write_text("resources:\n- ncp.yaml\n")
    (overlay / "kustomization.yaml").write_text("resources:\n- ../base\npatches:\n- path: size.yaml\n")
    patch = ("apiVersion: mellanox.com/v1alpha1\nkind: NicClusterPolicy\nmetadata:\n  name: nic-cluster-policy\n"
             "spec:\n  nicConfigurationOperator:\n    nicFirmwareStorage:\n      availableStorageSize: 4Gi\n")
    (overlay / "size.yaml").write_text(patch)
    commit_all(repo, "overlay")
    assert lint(repo, "--against", "HEAD", "overlay").code == 0
    edit(overlay / "size.yaml", "4Gi", "8Gi")  # the patch changes what the build applies
    proc = lint(repo, "--against", "HEAD", "overlay")
    assert proc.code == 1, proc.out + proc.err
    assert f"overlay/size.yaml:8:29: error cel: {STORAGE_RULE}" in proc.out


def test_unchanged_failing_value_is_a_warning_changed_one_an_error(tmp_path: Path) -> None:
    """Ratcheting: the API server lets an update through when the failing value did not change."""
    (tmp_path / "pool.yaml").write_text(IPPOOL)
    commit_all(tmp_path, "pool")
    assert "error cel: endIndex must be greater" in lint(tmp_path, "pool.yaml", release="v26.4.1").out
    edit(tmp_path / "pool.yaml", "perNodeBlockSize: 100", "perNodeBlockSize: 50")
    proc = lint(tmp_path, "--against", "HEAD", "pool.yaml", release="v26.4.1")
    assert proc.code == 0
    assert "warning cel: endIndex must be greater than or equal to startIndex (unchanged from the previous" \
           in proc.out
    edit(tmp_path / "pool.yaml", "startIndex: 30", "startIndex: 40")
    proc = lint(tmp_path, "--against", "HEAD", "pool.yaml", release="v26.4.1")
    assert proc.code == 1 and "error cel: endIndex must be greater" in proc.out


def test_unknown_ref_or_no_git_is_exit_2_when_explicit_a_note_by_default(repo: Path, tmp_path: Path) -> None:
    proc = lint(repo, "--against", "no-such-branch", "ncp.yaml")
    assert proc.code == 2
    assert "gen: error: --against 'no-such-branch': not a commit in" in proc.err
    loose = tmp_path / "loose"
    loose.mkdir()
    (loose / "ncp.yaml").write_text(NCP)
    proc = lint(loose, "--against", "HEAD", "ncp.yaml")
    assert proc.code == 2 and "not a git checkout" in proc.err and "Traceback" not in proc.err
    proc = lint(loose, "--against", "--", "ncp.yaml")
    assert proc.code == 0
    assert "gen lint: note: update rules (oldSelf) not checked:" in proc.err and "not a git checkout" in proc.err
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    git(fresh, "init", "-q", "-b", "main")
    (fresh / "ncp.yaml").write_text(NCP)
    proc = lint(fresh, "ncp.yaml", "--against")  # before the first commit, as pre-commit runs it
    assert proc.code == 0 and "no commit yet" in proc.err


@pytest.mark.kustomize
def test_gen_check_refuses_an_immutable_change_in_a_user_overlay(tmp_path: Path) -> None:
    repo = tmp_path / "gitops"
    (repo / "clusters").mkdir(parents=True)
    write_spec(repo)
    overlay = write_user_overlay(repo, {"firmware.yaml": NCP})
    run_gen("bundle", "--all", repo=repo, env=env(repo), check=True)
    proc = run_gen("check", repo=repo, env=env(repo))
    assert proc.code == 0 and "gen check: note: update rules (oldSelf) not checked:" in proc.err
    commit_all(repo, "firmware storage")
    proc = run_gen("check", repo=repo, env=env(repo))
    assert proc.code == 0, proc.err
    assert "gen check: note: compared with the output at HEAD (" in proc.err
    edit(overlay / "firmware.yaml", "availableStorageSize: 1Gi", "availableStorageSize: 2Gi")
    run_gen("bundle", "--all", repo=repo, env=env(repo), check=True)  # gen bundle writes it: a create is fine
    proc = run_gen("check", repo=repo, env=env(repo))
    assert proc.code == 1
    assert f"overlays/prod/firmware.yaml:{SIZE_LINE}:29: error cel: {STORAGE_RULE} {REFUSED}" in proc.err
    proc = run_gen("check", "--against", "nope", repo=repo, env=env(repo))
    assert proc.code == 2 and "--against 'nope': not a commit" in proc.err
