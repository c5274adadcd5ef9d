"""gen lint end to end: odd inputs never crash, output formats, exit codes, kustomize directories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.pipeline.clusters import load_cluster
from tests.conftest import REFERENCE, write_spec
from tests.helpers import example_repo, run_gen


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "binary.yaml").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "latin1.yaml").write_bytes("name: caf\xe9\n".encode("latin-1"))
    (tmp_path / "empty.yaml").write_text("")
    (tmp_path / "only-separators.yaml").write_text("---\n---\n...\n---\n")
    (tmp_path / "dup.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nkind: Secret\nmetadata: {name: a}\n")
    (tmp_path / "scalar.yaml").write_text("just a string\n")
    (tmp_path / "deep.yaml").write_text("a: " + "[" * 500 + "]" * 500 + "\n")
    (tmp_path / "bomb.yaml").write_text("a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8)))
    big = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  blob: " + "x" * (10 * 1024 * 1024) + "\n"
    (tmp_path / "ten-mb.yaml").write_text(big)
    (tmp_path / "huge.yaml").write_text("a: " + "y" * (17 * 1024 * 1024) + "\n")
    (tmp_path / "date.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\n"
                                        "data:\n  when: 2024-01-01\n")
    return tmp_path


def test_no_traceback_for_any_input(files: Path):
    proc = run_gen("lint", "--release", "v26.4.1", "--format", "json", str(files), cwd=files)
    assert "Traceback" not in proc.err and "Traceback" not in proc.out
    assert proc.code == 1, proc.err
    report = json.loads(proc.out)
    by_file = {}
    for f in report["findings"]:
        by_file.setdefault(f["file"], set()).add(f["rule"])
    assert by_file["binary.yaml"] == {"yaml-syntax"}
    assert by_file["latin1.yaml"] == {"yaml-syntax"}
    assert by_file["dup.yaml"] == {"yaml-duplicate-key"}
    assert by_file["huge.yaml"] == {"yaml-too-large"}
    assert by_file["bomb.yaml"] == {"yaml-too-large"}
    assert "deep.yaml" in by_file
    for quiet in ("empty.yaml", "only-separators.yaml", "scalar.yaml", "ten-mb.yaml", "date.yaml"):
        assert quiet not in by_file, by_file.get(quiet)


def test_text_output_is_grouped_with_summary_and_github_annotations(tmp_path: Path):
    bad = tmp_path / "ns.yaml"
    bad.write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: network-operator\n  labels:\n"
                   "    pod-security.kubernetes.io/enforce: baseline\n")
    proc = run_gen("lint", "--release", "v26.4.1", "ns.yaml", cwd=tmp_path)
    assert proc.code == 1
    first = proc.out.splitlines()[0]
    assert first.startswith("ns.yaml:6:41: error psa-privileged: ")
    assert first.endswith("(metadata.labels.pod-security.kubernetes.io/enforce)")
    assert proc.out.splitlines()[-1].startswith("gen lint: failed: 1 error(s), 0 warning(s) in 1 file(s)")
    gh = run_gen("lint", "--release", "v26.4.1", "--format", "github", "ns.yaml", cwd=tmp_path)
    assert gh.out.startswith("::error file=ns.yaml,line=6,col=41,title=gen-lint psa-privileged::")
    bad.write_text("# gen-lint: disable=psa-privileged\n" + bad.read_text())
    assert run_gen("lint", "--release", "v26.4.1", "ns.yaml", cwd=tmp_path).code == 0


def test_usage_errors_exit_2(tmp_path: Path):
    assert run_gen("lint", "missing.yaml", cwd=tmp_path).code == 2
    assert run_gen("lint", cwd=tmp_path).code == 2
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    proc = run_gen("lint", "--release", "v9.9.9", "a.yaml", cwd=tmp_path)
    assert proc.code == 2 and "unknown release" in proc.err
    assert run_gen("lint", "--format", "xml", "a.yaml", cwd=tmp_path).code == 2
    assert run_gen("lint", "--release", "v26.4.1", "a.yaml", cwd=tmp_path).code == 0


def test_list_rules_documents_every_rule():
    from generator.core.rules import all_rules

    RULES = all_rules()
    proc = run_gen("lint", "--list-rules")
    assert proc.code == 0
    assert len(proc.out.splitlines()) == len(RULES)
    assert all(line.split()[0] in RULES for line in proc.out.splitlines())


@pytest.mark.kustomize
def test_kustomize_directories_are_built_and_mapped_to_their_inputs(tmp_path: Path):
    repo = example_repo(tmp_path / "repo")  # the example alone, whatever else the working tree holds
    policy = repo / "output" / "prod" / "base" / "nicclusterpolicy.yaml"
    policy.write_text(policy.read_text().replace("forcePrecompiled: false", "forcePrecompiled: false\n    bogus: 1"))
    release = load_cluster(repo, "prod").release.tag
    proc = run_gen("lint", "--release", release, "--format", "json", "output/prod", cwd=repo)
    assert proc.code == 1, proc.err
    report = json.loads(proc.out)
    assert report["summary"]["builds"] >= 5
    bogus = [f for f in report["findings"] if f["path"] == "spec.ofedDriver.bogus"]
    assert len(bogus) == 1 and bogus[0]["file"] == "output/prod/base/nicclusterpolicy.yaml" and bogus[0]["line"] > 1
    kz = repo / "output" / "prod" / "overlays" / "sriov" / "kustomization.yaml"
    kz.write_text(kz.read_text().replace("../../base", "../../nowhere"))
    proc = run_gen("lint", "--release", release, "output/prod", cwd=repo)
    assert "kustomize-build" in proc.out


GUIDE_IPOIB = REFERENCE / "configs" / "nicclusterpolicy" / "ipoib"


@pytest.mark.kustomize
def test_the_guides_ipoib_layout_deploys_no_ipam(tmp_path: Path):
    """The guide's own IPoIB config: whereabouts in the IPoIBNetwork, v25.10 images in the NicClusterPolicy. No
    --release: the release is the one its image versions name, and v25.10.0 deploys no whereabouts."""
    proc = run_gen("lint", "--format", "json", str(GUIDE_IPOIB), cwd=tmp_path)
    assert proc.code == 1, proc.out + proc.err
    errors = [f for f in json.loads(proc.out)["findings"] if f["severity"] == "error"]
    [hit] = errors
    assert hit["rule"] == "ipam-not-deployed" and hit["file"].endswith("ipoib/ipoib-network.yaml")
    assert hit["path"] == "spec.ipam" and hit["line"] > 1
    assert "network-operator v25.10.0 does not deploy whereabouts" in hit["message"]
    assert "IPoIBNetwork 'aks-infiniband' get no IP address" in hit["message"] and "nv-ipam" in hit["message"]
    text = run_gen("lint", str(GUIDE_IPOIB), cwd=tmp_path).out
    assert text.splitlines()[-1].endswith("against network-operator v25.10.0 (from the image versions of "
                                          "NicClusterPolicy 'nic-cluster-policy'; --release to choose)")
    # the same layout for a release that still has whereabouts: the policy does not deploy it
    old = run_gen("lint", "--release", "v25.7.0", "--format", "json", str(GUIDE_IPOIB), cwd=tmp_path)
    [hit] = [f for f in json.loads(old.out)["findings"] if f["rule"] == "ipam-not-deployed"]
    assert "sets no spec.secondaryNetwork.ipamPlugin" in hit["message"]


@pytest.mark.kustomize
def test_each_clusters_output_is_linted_against_its_own_release(gitops_repo: Path):
    """gen lint output/ (the CI workflow's) on a fleet of two releases: each cluster's files with its spec's release
    (the v26.4.1 DOCA driver would be refused by v25.4.0's webhook)."""
    write_spec(gitops_repo, "prod", mode="ipoib")
    write_spec(gitops_repo, "newer", mode="ipoib", version="v26.4.1")
    run_gen("bundle", "--all", repo=gitops_repo, check=True)
    proc = run_gen("lint", "output/", cwd=gitops_repo)
    assert proc.code == 0, proc.out + proc.err
    assert proc.out.splitlines()[-1].startswith("gen lint: ok: nothing found")
    proc = run_gen("lint", "--release", "v25.4.0", "--format", "json", "output/newer", cwd=gitops_repo)
    assert {f["rule"] for f in json.loads(proc.out)["findings"] if f["severity"] == "error"} >= {
        "webhook-driver-version"}
