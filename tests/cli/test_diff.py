"""`gen diff` end to end, in real git repositories: what changes in what Argo CD applies, object by object and field
by field, between the working tree and a commit; the checkout is never touched."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GIT_ENV, commit_all, git, write_spec, write_user_overlay
from tests.helpers import run_gen

pytestmark = pytest.mark.kustomize

HCA = "spec.rdmaSharedDevicePlugin.config → configList[0].rdmaHcaMax"


@pytest.fixture
def repo(gitops_repo: Path) -> Path:
    """prod in shared mode, bundled and committed on main."""
    write_spec(gitops_repo, mode="shared")
    bundle(gitops_repo)
    commit_all(gitops_repo, "prod")
    return gitops_repo


def env(repo: Path) -> dict[str, str]:
    return {**GIT_ENV, "GIT_CEILING_DIRECTORIES": str(repo.parent)}


def bundle(repo: Path, *args: str) -> None:
    run_gen("bundle", *(args or ("--all",)), repo=repo, check=True, env=env(repo))


def diff(repo: Path, *args: str, fmt: str = "text") -> str:
    proc = run_gen("diff", *(args or ("--cluster", "prod")), "--format", fmt, repo=repo, env=env(repo))
    assert proc.code == 0, proc.err
    return proc.out


def as_json(repo: Path, *args: str) -> dict[str, Any]:
    return json.loads(diff(repo, *args, fmt="json"))  # type: ignore[no-any-return]


def fields(report: dict[str, Any], cluster: str = "prod") -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(kind, name) -> the changed fields, of the changed objects of a cluster."""
    [found] = [c for c in report["clusters"] if c["name"] == cluster]
    return {(o["kind"], o["name"]): o["fields"] for o in found["objects"] if o["change"] == "changed"}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def set_hca_max(repo: Path, value: int, name: str = "prod") -> None:
    spec = repo / "clusters" / f"{name}.yaml"
    text = spec.read_text()
    if "shared:\n" in text:
        text = text.split("shared:\n")[0]
    spec.write_text(text + f"shared:\n  rdmaHcaMax: {value}\n")


def test_rdma_hca_max_is_one_field_of_the_policy_in_every_format(repo: Path) -> None:
    assert "prod (shared): no changes" in diff(repo, "--cluster", "prod", "--against", "HEAD")
    status, index = git(repo, "status", "--porcelain"), (repo / ".git" / "index").stat().st_mtime_ns
    set_hca_max(repo, 32)
    text = diff(repo, "--cluster", "prod", "--against", "HEAD")
    assert "gen diff: the working tree against HEAD (" in text
    assert "prod (shared): 1 object(s) changed" in text
    assert "  ~ NicClusterPolicy.mellanox.com nic-cluster-policy\n" in text
    assert [line for line in text.splitlines() if line.startswith("      ")] == [f"      {HCA}: 63 → 32"]

    report = as_json(repo, "--cluster", "prod", "--against", "HEAD")
    assert report["changed"] is True and report["against"]["ref"] == "HEAD"
    [cluster] = report["clusters"]
    assert cluster["status"] == "changed" and cluster["counts"] == {"added": 0, "removed": 0, "changed": 1}
    assert fields(report) == {("NicClusterPolicy", "nic-cluster-policy"): [{"path": HCA, "old": 63, "new": 32}]}

    md = diff(repo, "--cluster", "prod", "--against", "HEAD", fmt="markdown")
    assert md.startswith("## gen diff: what Argo CD applies\n")
    assert "### `prod (shared)`: 1 object(s) changed" in md
    assert "**changed** `NicClusterPolicy.mellanox.com nic-cluster-policy`" in md
    assert [line for line in md.splitlines() if line.startswith("| `")] == [f"| `{HCA}` | `63` | `32` |"]

    # regenerated, not committed: the same one field; the checkout and its index were never touched
    assert git(repo, "status", "--porcelain") == status + " M clusters/prod.yaml\n"
    assert (repo / ".git" / "index").stat().st_mtime_ns == index
    bundle(repo)
    assert fields(as_json(repo, "--cluster", "prod", "--against", "HEAD")) == \
        {("NicClusterPolicy", "nic-cluster-policy"): [{"path": HCA, "old": 63, "new": 32}]}


def test_mode_change(repo: Path) -> None:
    edit(repo / "clusters/prod.yaml", "mode: shared", "mode: sriov")
    text = diff(repo)
    assert "prod (shared → sriov): 2 object(s) changed" in text
    changed = fields(as_json(repo))
    assert {"path": "spec.sources[1].path", "old": "output/prod/overlays/shared",
            "new": "output/prod/overlays/sriov"} in changed[("Application", "network-operator-prod")]
    policy = {f["path"]: f for f in changed[("NicClusterPolicy", "nic-cluster-policy")]}
    assert set(policy) == {"spec.sriovDevicePlugin", "spec.rdmaSharedDevicePlugin"}
    assert "old" not in policy["spec.sriovDevicePlugin"] and "new" not in policy["spec.rdmaSharedDevicePlugin"]


def test_version_change_shows_the_chart_and_every_image(repo: Path) -> None:
    edit(repo / "clusters/prod.yaml", "version: v25.4.0", "version: v26.4.1")
    changed = fields(as_json(repo))
    app = {f["path"]: (f.get("old"), f.get("new")) for f in changed[("Application", "network-operator-prod")]}
    assert app["spec.sources[0].targetRevision"] == ("25.4.0", "26.4.1")
    policy = {f["path"]: (f.get("old"), f.get("new")) for f in changed[("NicClusterPolicy", "nic-cluster-policy")]}
    assert policy["spec.rdmaSharedDevicePlugin.version"] == ("v1.5.3", "network-operator-v26.4.1")
    assert policy["spec.ofedDriver.version"][1].startswith("doca")
    images = [p for p in policy if p.endswith((".version", ".repository", ".image"))]
    assert len(images) == len(policy) == 4
    assert "spec.nvIpam" not in policy  # shared mode: no IPAM
    text = diff(repo)
    assert '      spec.sources[0].targetRevision: "25.4.0" → "26.4.1"' in text
    assert "note: chart network-operator 25.4.0 is not at hand" in text  # said, not skipped silently


def test_added_and_removed_clusters(repo: Path) -> None:
    write_spec(repo, "eu-1", mode="ipoib")
    (repo / "clusters/prod.yaml").unlink()
    report = as_json(repo, "--all")
    status = {c["name"]: c["status"] for c in report["clusters"]}
    assert status == {"eu-1": "added", "prod": "removed"}
    eu, prod = (next(c for c in report["clusters"] if c["name"] == n) for n in ("eu-1", "prod"))
    assert eu["before"] is None and prod["after"] is None
    assert {o["change"] for o in eu["objects"]} == {"added"} and {o["change"] for o in prod["objects"]} == {"removed"}
    assert {o["kind"] for o in eu["objects"]} >= {"Application", "AppProject", "Namespace", "NicClusterPolicy",
                                                 "NodeFeatureRule", "IPoIBNetwork"}
    text = diff(repo, "--all")
    assert "eu-1 (added: ipoib): 6 object(s) added" in text
    assert "prod (removed: was shared): 5 object(s) removed" in text
    assert "  + IPoIBNetwork.mellanox.com aks-infiniband\n" in text and "  - Namespace network-operator\n" in text
    assert "eu-1 (added: ipoib)" in diff(repo, "--cluster", "eu-1")
    md = diff(repo, "--all", fmt="markdown")
    assert "### `eu-1 (added: ipoib)`: 6 object(s) added" in md and "- `Namespace network-operator`" in md


def test_user_overlay_change_is_built_on_both_sides(repo: Path) -> None:
    overlay = write_user_overlay(repo, {"label.yaml": "apiVersion: mellanox.com/v1alpha1\nkind: NicClusterPolicy\n"
                                                     "metadata:\n  name: nic-cluster-policy\n  labels:\n    team: a\n"})
    added = fields(as_json(repo))[("NicClusterPolicy", "nic-cluster-policy")]
    assert added == [{"path": "metadata.labels", "new": {"team": "a"}}]
    bundle(repo)
    commit_all(repo, "overlay")
    edit(overlay / "label.yaml", "team: a", "team: b")
    assert fields(as_json(repo)) == {("NicClusterPolicy", "nic-cluster-policy"):
                                     [{"path": "metadata.labels.team", "old": "a", "new": "b"}]}


def test_default_ref_is_the_merge_base_with_main(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    git(repo, "checkout", "-q", "main")
    set_hca_max(repo, 40)
    bundle(repo)
    commit_all(repo, "main moves on")
    git(repo, "checkout", "-q", "feature")
    set_hca_max(repo, 32)
    report = as_json(repo)
    assert report["against"]["ref"] == "the merge base of HEAD and main"
    assert fields(report)[("NicClusterPolicy", "nic-cluster-policy")] == [{"path": HCA, "old": 63, "new": 32}]
    assert "against the merge base of HEAD and main (" in diff(repo)
    assert fields(as_json(repo, "--cluster", "prod", "--against", "main"))[
        ("NicClusterPolicy", "nic-cluster-policy")] == [{"path": HCA, "old": 40, "new": 32}]
    git(repo, "checkout", "-q", "--", "clusters")
    git(repo, "checkout", "-q", "main")  # on main itself: against HEAD
    set_hca_max(repo, 32)
    report = as_json(repo)
    assert report["against"] == {"ref": "HEAD", "commit": git(repo, "rev-parse", "HEAD").strip(),
                                 "why": "HEAD is on the default branch main"}
    assert fields(report)[("NicClusterPolicy", "nic-cluster-policy")] == [{"path": HCA, "old": 40, "new": 32}]


def test_errors_are_one_line_and_exit_2(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    plain = tmp_path_factory.mktemp("plain")
    write_spec(plain)
    cases = [
        (repo, ["--cluster", "prod", "--against", "nope"], "--against 'nope': not a commit in"),
        (repo, ["--cluster", "prod", "--against=-x"], "--against '-x': not a commit in"),
        (repo, ["--cluster", "nope"], "clusters/nope.yaml: no such cluster spec, and no output/nope/ at"),
        (plain, ["--cluster", "prod"], "not a git checkout"),
    ]
    for where, args, message in cases:
        proc = run_gen("diff", *args, repo=where, env={**env(where), "GIT_CEILING_DIRECTORIES": str(where.parent)})
        assert proc.code == 2, proc.err
        assert proc.err.startswith("gen: error: ") and message in proc.err, proc.err
        assert len(proc.err.splitlines()) == 1 and "Traceback" not in proc.err and proc.out == ""
    proc = run_gen("diff", "--cluster", "prod", repo=repo, env={**env(repo), "PATH": "/nonexistent"})
    assert proc.code == 2 and "git is not installed" in proc.err


def _chart_spec(repo: Path, delivery: str) -> None:
    write_spec(repo, mode="sriov")
    edit(repo / "clusters/prod.yaml", "  targetRevision: main\n", f"  targetRevision: main\n  delivery: {delivery}\n")


def test_helm_delivery_compares_the_chart_render_where_it_is_at_hand(gitops_repo: Path, chart_mirror: Path) -> None:
    _chart_spec(gitops_repo, "helm")
    bundle(gitops_repo, "--all", "--from", str(chart_mirror))
    commit_all(gitops_repo)
    edit(gitops_repo / "clusters/prod.yaml", "  version: v25.4.0\n",
         "  version: v25.4.0\n  values:\n    nfd:\n      enabled: false\n")
    report = as_json(gitops_repo, "--cluster", "prod", "--from", str(chart_mirror))
    [cluster] = report["clusters"]
    assert cluster["notes"] == [] and cluster["after"]["charts"] == [
        {"name": "network-operator", "version": "25.4.0", "rendered": True}]
    removed = {(o["kind"], o["name"]) for o in cluster["objects"] if o["change"] == "removed"}
    assert ("DaemonSet", "network-operator-nfd-worker") in removed
    assert fields(report)[("Application", "network-operator-prod")] == [
        {"path": "spec.sources[0].helm.valuesObject.nfd.enabled", "old": True, "new": False}]
    # without the chart at hand: the values still show, and a note says the chart's objects are left out
    report = as_json(gitops_repo, "--cluster", "prod")
    assert [o["kind"] for o in report["clusters"][0]["objects"]] == ["Application"]
    assert "the chart's objects are left out on both sides" in report["clusters"][0]["notes"][0]


def test_rendered_delivery_compares_the_committed_chart(gitops_repo: Path, chart_mirror: Path) -> None:
    _chart_spec(gitops_repo, "rendered")
    bundle(gitops_repo, "--all", "--from", str(chart_mirror))
    commit_all(gitops_repo)
    assert "prod (sriov): no changes" in diff(gitops_repo, "--cluster", "prod", "--from", str(chart_mirror))
    edit(gitops_repo / "clusters/prod.yaml", "  version: v25.4.0\n",
         "  version: v25.4.0\n  values:\n    operator:\n      resources: {limits: {cpu: \"2\"}}\n")
    changed = fields(as_json(gitops_repo, "--cluster", "prod", "--from", str(chart_mirror)))
    [found] = [v for k, v in changed.items() if k[0] == "Deployment"]
    assert found == [{"path": "spec.template.spec.containers[name=operator].resources.limits.cpu", "old": "200m",
                      "new": "2"}]
