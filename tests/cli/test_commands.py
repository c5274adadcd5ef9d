"""The CLI end to end, as a user runs it: exit codes, byte-stable output, nothing lost on bad input.

In-process (tests.helpers.run_gen) but for the hash seed and time zone, which a new interpreter reads as it starts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import run_gen_process, snapshot, write_spec, write_user_overlay
from tests.helpers import run_gen

pytestmark = pytest.mark.kustomize


def output(repo: Path) -> dict[str, bytes]:
    """Everything under output/ but the run lock (gitignored; it holds the last run's pid)."""
    return {k: v for k, v in snapshot(repo / "output").items() if k != ".gen.lock"}


def test_bundle_twice_is_byte_identical_and_rewrites_nothing(gitops_repo: Path) -> None:
    write_spec(gitops_repo)
    first = run_gen("bundle", "--cluster", "prod", repo=gitops_repo, check=True)
    assert "written" in first.out
    before = output(gitops_repo)
    old = 1_000_000_000
    for path in (gitops_repo / "output").rglob("*"):
        if path.is_file():
            os.utime(path, (old, old))
    second = run_gen("bundle", "--cluster", "prod", repo=gitops_repo, check=True)
    assert " 0 written" in second.out
    assert output(gitops_repo) == before
    assert all(p.stat().st_mtime == old for p in (gitops_repo / "output").rglob("*")
               if p.is_file() and p.name != ".gen.lock")


@pytest.mark.slow  # three real processes
def test_hash_seed_time_zone_and_cwd_do_not_change_a_byte(gitops_repo: Path,
                                                          tmp_path_factory: pytest.TempPathFactory) -> None:
    """Real processes: PYTHONHASHSEED and TZ are read as the interpreter starts."""
    write_spec(gitops_repo, mode="ipoib", version="v26.4.1")
    run_gen_process("bundle", "--all", cwd=gitops_repo, check=True,
                    env={"PYTHONHASHSEED": "1", "TZ": "UTC"})
    reference = output(gitops_repo)
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    for seed, tz in (("2", "Asia/Kolkata"), ("12345", "America/Los_Angeles")):
        run_gen_process("--repo", str(gitops_repo), "bundle", "--all", "--force", cwd=elsewhere, check=True,
                        env={"PYTHONHASHSEED": seed, "TZ": tz, "LC_ALL": "C"})
        assert output(gitops_repo) == reference


def test_check_passes_fresh_and_fails_on_edit_delete_and_stray(gitops_repo: Path) -> None:
    write_spec(gitops_repo)
    run_gen("bundle", "--all", repo=gitops_repo, check=True)
    assert run_gen("check", repo=gitops_repo).code == 0
    policy = gitops_repo / "output/prod/base/nicclusterpolicy.yaml"
    original = policy.read_bytes()
    policy.write_bytes(original.replace(b"maxParallelUpgrades: 1", b"maxParallelUpgrades: 4"))
    edited = run_gen("check", repo=gitops_repo)
    assert edited.code == 1
    assert "output/prod/base/nicclusterpolicy.yaml: changed" in edited.out
    assert "-      maxParallelUpgrades: 4\n+      maxParallelUpgrades: 1" in edited.out  # on disk -> generated
    policy.write_bytes(original)
    (gitops_repo / "output/prod/helm/values.yaml").unlink()
    deleted = run_gen("check", repo=gitops_repo)
    assert deleted.code == 1 and "output/prod/helm/values.yaml: missing" in deleted.out
    run_gen("bundle", "--all", repo=gitops_repo, check=True)
    (gitops_repo / "output/prod/base/extra.yaml").write_text("kind: ConfigMap\n")
    stray = run_gen("check", repo=gitops_repo)
    assert stray.code == 1 and "output/prod/base/extra.yaml: stray" in stray.out


def test_invalid_spec_after_success_exits_2_and_leaves_output_untouched(gitops_repo: Path) -> None:
    write_spec(gitops_repo)
    write_spec(gitops_repo, name="staging", mode="shared")
    run_gen("bundle", "--all", repo=gitops_repo, check=True)
    before = output(gitops_repo)
    spec = gitops_repo / "clusters/staging.yaml"
    spec.write_text(spec.read_text().replace("mode: shared", "mode: rdma"))
    proc = run_gen("bundle", "--all", repo=gitops_repo)
    assert proc.code == 2
    assert "clusters/staging.yaml:2:7: field 'mode'" in proc.err
    assert "Traceback" not in proc.err
    assert output(gitops_repo) == before


@pytest.mark.parametrize(("args", "words"), [
    (("bundle", "--cluster", "nope"), "clusters/nope.yaml: no such cluster spec"),
    (("bundle",), "one of the arguments --cluster --all is required"),
    (("bundle", "--cluster", "prod", "--prune"), "--prune needs --all"),
    (("frobnicate",), "invalid choice"),
])
def test_usage_errors_exit_2(gitops_repo: Path, args: tuple[str, ...], words: str) -> None:
    write_spec(gitops_repo)
    proc = run_gen(*args, repo=gitops_repo)
    assert proc.code == 2, proc.err
    assert words in proc.err
    assert "Traceback" not in proc.err
    assert not (gitops_repo / "output").exists()


def test_not_a_gitops_repo_exits_2(tmp_path: Path) -> None:
    proc = run_gen("bundle", "--all", repo=tmp_path)
    assert proc.code == 2 and "no clusters/ directory" in proc.err


TOLERATIONS = """\
apiVersion: mellanox.com/v1alpha1
kind: NicClusterPolicy
metadata:
  name: nic-cluster-policy
spec:
  tolerations:
  - key: sku
    operator: Equal
    value: gpu
    effect: NoSchedule
"""


def user_overlay(repo: Path, patch: str, kind: str = "Component") -> Path:
    directory = repo / "overlays" / "prod"
    directory.mkdir(parents=True)
    api = "v1alpha1" if kind == "Component" else "v1beta1"
    (directory / "kustomization.yaml").write_text(
        f"apiVersion: kustomize.config.k8s.io/{api}\nkind: {kind}\npatches:\n- path: tolerations.yaml\n")
    (directory / "tolerations.yaml").write_text(patch)
    return directory


def test_user_overlay_is_included_validated_and_never_written(gitops_repo: Path) -> None:
    write_spec(gitops_repo)
    directory = user_overlay(gitops_repo, TOLERATIONS)
    mine = snapshot(directory)
    run_gen("bundle", "--all", repo=gitops_repo, check=True)
    kustomization = (gitops_repo / "output/prod/overlays/sriov/kustomization.yaml").read_text()
    assert "components:\n- ../../../../overlays/prod\n" in kustomization
    assert "components" not in (gitops_repo / "output/prod/overlays/shared/kustomization.yaml").read_text()
    assert snapshot(directory) == mine
    # survives regeneration, and a broken customization is caught before anything is written
    before = output(gitops_repo)
    (directory / "tolerations.yaml").write_text(TOLERATIONS.replace("operator: Equal", "operater: Equal"))
    proc = run_gen("bundle", "--all", repo=gitops_repo)
    assert proc.code == 1, proc.err
    assert "tolerations[0].operater" in proc.err and "unknown field" in proc.err
    assert output(gitops_repo) == before


def test_user_overlay_must_be_a_component(gitops_repo: Path) -> None:
    write_spec(gitops_repo)
    user_overlay(gitops_repo, TOLERATIONS, kind="Kustomization")
    proc = run_gen("bundle", "--all", repo=gitops_repo)
    assert proc.code == 2
    assert "overlays/prod/kustomization.yaml:2: field 'kind'" in proc.err and "Component" in proc.err


def test_validation_failure_exits_1_and_writes_nothing(gitops_repo: Path) -> None:
    write_spec(gitops_repo)
    write_user_overlay(gitops_repo, {"bad.yaml": (
        "apiVersion: mellanox.com/v1alpha1\nkind: NicClusterPolicy\nmetadata:\n"
        "  name: nic-cluster-policy\nspec:\n  ofedDriver:\n    forcePrecompield: true\n")})
    proc = run_gen("bundle", "--all", repo=gitops_repo)
    assert proc.code == 1
    assert "spec.ofedDriver.forcePrecompield" in proc.err
    assert not (gitops_repo / "output").exists() or not any((gitops_repo / "output").rglob("*.yaml"))
