"""`gen upgrade` as a user runs it: the IPoIB cluster of the guide from v25.4.0 to v25.10.0, refusals that leave
everything as it was, and the spec edited with only the changed lines different."""

from __future__ import annotations

import difflib
import subprocess
from pathlib import Path

import pytest

from tests.conftest import snapshot, write_spec
from tests.helpers import run_gen

SPEC = """\
# The guide's IPoIB cluster
name: prod
mode: ipoib                        # base | sriov | shared | ipoib
vmSize: "Standard_ND96asr_v4"
networkOperator:
  version: 'v25.4.0'               # pinned
  values:
    node-feature-discovery:
      worker:
        healthPort: 8082   # NFD 0.17's
argocd:
  repoURL: https://github.com/example/aks-gitops.git
  targetRevision: main
ipoib:
  ipam: whereabouts  # as the guide
  range: 192.168.0.0/16
"""


@pytest.fixture
def ipoib_repo(gitops_repo: Path) -> Path:
    (gitops_repo / "clusters/prod.yaml").write_text(SPEC)
    run_gen("bundle", "--cluster", "prod", repo=gitops_repo, check=True)
    return gitops_repo


def _changed(before: str, after: str) -> list[str]:
    return [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:2] in ("- ", "+ ")]


@pytest.mark.kustomize
def test_ipoib_v25_4_to_v25_10_migrates_to_nv_ipam(ipoib_repo: Path) -> None:
    proc = run_gen("upgrade", "--cluster", "prod", "--to", "v25.10.0", repo=ipoib_repo)
    assert proc.code == 0, proc.err
    plan = proc.out
    assert "2 step(s): v25.4.0 -> v25.7.0 -> v25.10.0" in plan
    assert "removed                  spec.secondaryNetwork.ipamPlugin (the API server would prune or refuse it)" in plan
    assert "applied: IPoIB addresses move from whereabouts to NVIDIA IPAM (nv-ipam)" in plan
    assert "Order that avoids an outage:" in plan and "nodes and pods" in plan.lower()
    assert "networkOperator.values.node-feature-discovery.worker.healthPort -> " \
           "networkOperator.values.node-feature-discovery.worker.port" in plan
    assert "nothing would be refused: the bundle validates for v25.10.0" in plan
    spec = (ipoib_repo / "clusters/prod.yaml").read_text()
    assert _changed(SPEC, spec) == [
        "-   version: 'v25.4.0'               # pinned", "+   version: 'v25.10.0'              # pinned",
        # a renamed key keeps its comment, at its column
        "-         healthPort: 8082   # NFD 0.17's", "+         port: 8082         # NFD 0.17's",
        "-   ipam: whereabouts  # as the guide", "+   ipam: nv-ipam      # as the guide",
    ]
    policy = (ipoib_repo / "output/prod/overlays/ipoib/ipoib.yaml").read_text()
    assert "nvIpam:" in policy and "ipamPlugin" not in policy
    assert "kind: IPPool" in (ipoib_repo / "output/prod/overlays/ipoib/ipoib-network.yaml").read_text() or \
        any("kind: IPPool" in p.read_text() for p in (ipoib_repo / "output/prod/overlays/ipoib").iterdir())
    assert run_gen("check", repo=ipoib_repo).code == 0
    assert run_gen("lint", "output/prod", cwd=ipoib_repo).code == 0


def test_dry_run_writes_nothing(ipoib_repo: Path) -> None:
    before = snapshot(ipoib_repo)
    proc = run_gen("upgrade", "--cluster", "prod", "--to", "v25.7.0", "--dry-run", repo=ipoib_repo)
    assert proc.code == 0 and "dry run: clusters/prod.yaml would change (2 line(s)); nothing written" in \
        proc.out
    assert {k: v for k, v in snapshot(ipoib_repo).items() if k != "output/.gen.lock"} == \
        {k: v for k, v in before.items() if k != "output/.gen.lock"}


def test_a_retired_value_without_replacement_needs_a_human(gitops_repo: Path) -> None:
    write_spec(gitops_repo, mode="sriov", version="v25.7.0")
    spec = gitops_repo / "clusters/prod.yaml"
    spec.write_text(spec.read_text().replace(
        "networkOperator:\n  version: v25.7.0\n",
        "networkOperator:\n  version: v25.7.0\n  values:\n    node-feature-discovery:\n      master:\n"
        "        featureRulesController: true\n"))
    run_gen("bundle", "--cluster", "prod", repo=gitops_repo, check=True)
    before = snapshot(gitops_repo)
    proc = run_gen("upgrade", "--cluster", "prod", "--to", "v25.10.0", repo=gitops_repo)
    assert proc.code == 1, proc.err
    assert "REFUSED, needs a human: a chart value the cluster sets is retired with no replacement" in proc.out
    assert "networkOperator.values.node-feature-discovery.master.featureRulesController" in proc.out
    assert "refused: 1 migration(s) need a human; nothing written" in proc.err
    assert {k: v for k, v in snapshot(gitops_repo).items() if k != "output/.gen.lock"} == \
        {k: v for k, v in before.items() if k != "output/.gen.lock"}
    proc = run_gen("upgrade", "--cluster", "prod", "--to", "v25.10.0", "--accept-breaking", repo=gitops_repo)
    assert proc.code == 0, proc.err
    assert "dropped with --accept-breaking" in proc.out
    assert "featureRulesController" not in spec.read_text() and "values:" not in spec.read_text()
    assert run_gen("check", repo=gitops_repo).code == 0


def test_an_overlay_that_no_longer_fits_is_refused(ipoib_repo: Path) -> None:
    overlay = ipoib_repo / "overlays/prod"
    overlay.mkdir(parents=True)
    (overlay / "kustomization.yaml").write_text("apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
                                                "patches:\n- path: ipam.yaml\n")
    (overlay / "ipam.yaml").write_text("apiVersion: mellanox.com/v1alpha1\nkind: NicClusterPolicy\nmetadata:\n"
                                       "  name: nic-cluster-policy\nspec:\n  secondaryNetwork:\n    ipamPlugin:\n"
                                       "      imagePullSecrets: [mirror]\n")
    run_gen("bundle", "--cluster", "prod", repo=ipoib_repo, check=True)
    before = snapshot(ipoib_repo)
    proc = run_gen("upgrade", "--cluster", "prod", "--to", "v25.10.0", repo=ipoib_repo)
    assert proc.code == 1
    assert "REFUSED, needs a human: the cluster's own overlay does not fit the new release" in proc.out
    assert "overlays/prod/ipam.yaml:" in proc.out and "ipamPlugin" in proc.out
    assert {k: v for k, v in snapshot(ipoib_repo).items() if k != "output/.gen.lock"} == \
        {k: v for k, v in before.items() if k != "output/.gen.lock"}


@pytest.mark.parametrize(("to", "code", "words"), [
    ("v25.4.0", 0, "already on v25.4.0"),
    ("v25.1.0", 2, "never downgrades"),
    ("v99.1.0", 2, "not a release gen knows"),
])
def test_targets_that_are_not_upgrades(ipoib_repo: Path, to: str, code: int, words: str) -> None:
    proc = run_gen("upgrade", "--cluster", "prod", "--to", to, repo=ipoib_repo)
    assert proc.code == code and words in proc.out + proc.err and "Traceback" not in proc.err


def test_a_linked_spec_is_not_edited(ipoib_repo: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "prod.yaml"
    elsewhere.write_text(SPEC)
    (ipoib_repo / "clusters/prod.yaml").unlink()
    (ipoib_repo / "clusters/prod.yaml").symlink_to(elsewhere)
    proc = run_gen("upgrade", "--cluster", "prod", "--to", "v25.7.0", repo=ipoib_repo)
    assert proc.code == 2 and "symbolic link" in proc.err and elsewhere.read_text() == SPEC


def test_a_layout_ruamel_cannot_keep_is_refused_not_reformatted(gitops_repo: Path) -> None:
    write_spec(gitops_repo)
    spec = gitops_repo / "clusters/prod.yaml"
    spec.write_text(spec.read_text().replace("mode: sriov", "mode:    sriov"))
    proc = run_gen("upgrade", "--cluster", "prod", "--to", "v25.7.0", "--dry-run", repo=gitops_repo)
    assert proc.code == 2 and "without reformatting" in proc.err


def test_git_sees_only_the_changed_lines(ipoib_repo: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=ipoib_repo, check=True)
    subprocess.run(["git", "add", "clusters"], cwd=ipoib_repo, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "spec"], cwd=ipoib_repo,
                   check=True)
    run_gen("upgrade", "--cluster", "prod", "--to", "v25.7.0", repo=ipoib_repo, check=True)
    stat = subprocess.run(["git", "diff", "--numstat", "clusters/prod.yaml"], cwd=ipoib_repo, capture_output=True,
                          text=True, check=True).stdout
    assert stat.split()[:2] == ["2", "2"]  # version, and healthPort -> port (retired in v25.7.0)


def test_a_digest_pinned_for_the_old_image_needs_a_human(gitops_repo: Path) -> None:
    write_spec(gitops_repo, mode="ipoib", version="v25.7.0",
               extra="imageDigests:\n  nvcr.io/nvidia/mellanox/multus-cni: sha256:" + "1" * 64 + "\n")
    run_gen("bundle", "--cluster", "prod", repo=gitops_repo, check=True)
    proc = run_gen("upgrade", "--cluster", "prod", "--to", "v25.10.0", repo=gitops_repo)
    assert proc.code == 1
    assert "REFUSED, needs a human: a pinned image digest belongs to the old release's image" in proc.out
    assert "imageDigests.nvcr.io/nvidia/mellanox/multus-cni: pins nvcr.io/nvidia/mellanox/multus-cni:network-" \
           "operator-v25.7.0; v25.10.0 uses nvcr.io/nvidia/mellanox/multus-cni:network-operator-v25.10.0" in proc.out
    proc = run_gen("upgrade", "--cluster", "prod", "--to", "v25.10.0", "--accept-breaking", repo=gitops_repo)
    assert proc.code == 0, proc.err
    assert "imageDigests" not in (gitops_repo / "clusters/prod.yaml").read_text()
    assert run_gen("check", repo=gitops_repo).code == 0


@pytest.mark.kustomize
def test_a_step_that_needs_a_kubernetes_upgrade_first_is_refused(gitops_repo: Path) -> None:
    write_spec(gitops_repo, mode="sriov", version="v25.10.0", extra='kubernetes:\n  version: "1.30"  # AKS\n')
    run_gen("bundle", "--cluster", "prod", repo=gitops_repo, check=True)
    before = snapshot(gitops_repo)
    proc = run_gen("upgrade", "--cluster", "prod", "--to", "v26.1.2", repo=gitops_repo)
    assert proc.code == 1, proc.err
    assert "REFUSED, needs a human: the cluster's Kubernetes is older than the new release supports" in proc.out
    assert "v26.1.2 supports Kubernetes 1.31 to 1.35; the cluster runs 1.30: upgrade it to 1.31 or later first" \
        in proc.out
    assert "  kubernetes.version: 1.30 -> 1.31" in proc.out  # the step as planned after the Kubernetes upgrade
    assert "refused: 1 migration(s) need a human; nothing written" in proc.err
    assert run_gen("upgrade", "--cluster", "prod", "--to", "v26.1.2", "--accept-breaking",
                   repo=gitops_repo).code == 1  # not a change gen can make
    assert snapshot(gitops_repo) == before


@pytest.mark.kustomize
def test_a_kubernetes_version_in_range_is_checked_and_kept(gitops_repo: Path) -> None:
    write_spec(gitops_repo, mode="sriov", version="v25.10.0", extra='kubernetes:\n  version: "1.33"\n')
    run_gen("bundle", "--cluster", "prod", repo=gitops_repo, check=True)
    proc = run_gen("upgrade", "--cluster", "prod", "--to", "v26.1.2", repo=gitops_repo)
    assert proc.code == 0, proc.err
    assert "the cluster runs 1.33 (kubernetes.version): in range" in proc.out
    assert "changes platform" not in proc.out  # the nodes' platform follows the cluster's own version
    spec = (gitops_repo / "clusters/prod.yaml").read_text()
    assert 'version: "1.33"' in spec and "version: v26.1.2" in spec


@pytest.mark.kustomize
def test_a_clusters_directory_linked_out_of_the_repository_is_not_edited(ipoib_repo: Path, tmp_path: Path) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-elsewhere"  # not under the repository (tmp_path is its root)
    (ipoib_repo / "clusters").rename(outside)
    (ipoib_repo / "clusters").symlink_to(outside)
    before = snapshot(ipoib_repo / "output")
    proc = run_gen("upgrade", "--cluster", "prod", "--to", "v25.7.0", repo=ipoib_repo)
    assert proc.code == 2 and "Traceback" not in proc.err
    assert proc.err == (f"gen: error: clusters/: reached through a link to {outside}, outside the repository; gen "
                        "edits specs only inside it: replace the link with the directory itself, or run gen in the "
                        "repository it points into\n")
    assert (outside / "prod.yaml").read_text() == SPEC and snapshot(ipoib_repo / "output") == before


@pytest.mark.kustomize
def test_a_clusters_directory_linked_inside_the_repository_is_edited_in_place(ipoib_repo: Path) -> None:
    (ipoib_repo / "fleet").mkdir()
    (ipoib_repo / "clusters").rename(ipoib_repo / "fleet" / "clusters")
    (ipoib_repo / "clusters").symlink_to("fleet/clusters")
    proc = run_gen("upgrade", "--cluster", "prod", "--to", "v25.7.0", repo=ipoib_repo)
    assert proc.code == 0, proc.err
    assert "version: 'v25.7.0'" in (ipoib_repo / "fleet" / "clusters" / "prod.yaml").read_text()
    assert (ipoib_repo / "clusters").is_symlink()


@pytest.mark.kustomize
def test_what_a_killed_upgrade_left_is_reported_and_the_next_upgrade_removes_it(ipoib_repo: Path) -> None:
    leftover = ipoib_repo / "clusters" / ".prod.yaml.gen-tmp-0123456789abcdef"
    leftover.write_text(SPEC[:40])  # killed between writing the new spec and renaming it over the old one
    said = ("gen: warning: clusters/.prod.yaml.gen-tmp-0123456789abcdef: a temporary file left by an interrupted gen "
            "upgrade (the spec is as it was before); the next gen upgrade removes it, or delete it\n")
    for args in (("check",), ("bundle", "--all"), ("upgrade", "--cluster", "prod", "--to", "v25.7.0", "--dry-run")):
        proc = run_gen(*args, repo=ipoib_repo)
        assert proc.code == 0 and proc.err.count(said) == 1, (args, proc.err)
    assert leftover.exists()
    proc = run_gen("upgrade", "--cluster", "prod", "--to", "v25.7.0", repo=ipoib_repo)
    assert proc.code == 0 and not leftover.exists()
    assert "gen upgrade: removed clusters/.prod.yaml.gen-tmp-0123456789abcdef, left by an interrupted gen upgrade" \
        in proc.err and said not in proc.err
    assert run_gen("check", repo=ipoib_repo).code == 0
