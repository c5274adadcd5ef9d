"""What Argo CD applies is what gen checked: the chart rendered by real helm in the loop (a chart of our own, served
from a mirror or a loopback Helm repository), delivery as rendered manifests, values checked against the chart."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from generator.programs.kustomize import kustomize_command
from generator.yamlio.load import load_documents
from tests.conftest import serve, snapshot, write_spec
from tests.helpers import run_gen

TOLERATION = "{key: sku, operator: Equal, value: gpu, effect: NoSchedule}"
POOL = f"tolerations:\n- {TOLERATION}\ntaints:\n- {{key: sku, value: gpu, effect: NoSchedule}}\n"


def _objects(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [d.value for d in load_documents(path.read_bytes(), str(path))]


def _build(directory: Path) -> list[dict]:  # type: ignore[type-arg]
    out = subprocess.run([*kustomize_command(), str(directory)], capture_output=True, check=True, timeout=120)
    return [d.value for d in load_documents(out.stdout, str(directory))]


def _spec(repo: Path, delivery: str = "helm", extra: str = POOL, version: str = "v25.4.0") -> None:
    write_spec(repo, mode="sriov", version=version, extra=extra)
    spec = repo / "clusters" / "prod.yaml"
    text = spec.read_text().replace("  targetRevision: main\n", f"  targetRevision: main\n  delivery: {delivery}\n")
    spec.write_text(text)


@pytest.mark.kustomize
def test_rendered_delivery_commits_what_was_checked(gitops_repo: Path, chart_mirror: Path) -> None:
    _spec(gitops_repo, "rendered")
    proc = run_gen("bundle", "--cluster", "prod", "--from", str(chart_mirror), repo=gitops_repo)
    assert proc.code == 0, proc.err
    assert "not in the cache or mirror" not in proc.err  # the chart was at hand
    [app] = _objects(gitops_repo / "output/prod/argocd/application.yaml")
    assert "sources" not in app["spec"] and app["spec"]["source"]["path"] == "output/prod/overlays/sriov"
    [project] = _objects(gitops_repo / "output/prod/argocd/project.yaml")
    assert project["spec"]["sourceRepos"] == ["https://github.com/example/aks-gitops.git"]
    built = _build(gitops_repo / "output/prod/overlays/sriov")
    kinds = {o["kind"] for o in built}
    assert {"CustomResourceDefinition", "Deployment", "DaemonSet", "NicClusterPolicy"} <= kinds
    assert not [o for o in built if "helm.sh/hook" in (o["metadata"].get("annotations") or {})]
    crds = [o for o in built if o["kind"] == "CustomResourceDefinition"]
    assert all(o["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "-2" for o in crds)
    assert (gitops_repo / "output/network-operator-v25.4.0/crds.yaml").is_file()  # shared by the release
    worker = next(o for o in built if o["kind"] == "DaemonSet")
    assert {"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"} in \
        worker["spec"]["template"]["spec"]["tolerations"]
    policy = next(o for o in built if o["kind"] == "NicClusterPolicy")
    assert policy["spec"]["tolerations"] == [{"key": "sku", "operator": "Equal", "value": "gpu",
                                             "effect": "NoSchedule"}]
    # gen check catches an edit in the committed chart
    assert run_gen("check", "--cluster", "prod", "--from", str(chart_mirror), repo=gitops_repo).code == 0
    deployment = gitops_repo / "output/prod/chart/deployment.yaml"
    deployment.write_text(deployment.read_text().replace("replicas: 1", "replicas: 2"))
    proc = run_gen("check", "--cluster", "prod", "--from", str(chart_mirror), repo=gitops_repo)
    assert proc.code == 1 and "output/prod/chart/deployment.yaml: changed" in proc.out


def test_rendered_delivery_needs_the_chart(gitops_repo: Path) -> None:
    _spec(gitops_repo, "rendered")
    proc = run_gen("bundle", "--cluster", "prod", repo=gitops_repo)
    assert proc.code == 2
    assert "argocd.delivery is 'rendered', but the network-operator chart 25.4.0 is not at hand" in proc.err
    assert not (gitops_repo / "output").exists()


@pytest.mark.kustomize
def test_helm_delivery_checks_the_real_render(gitops_repo: Path, chart_mirror: Path) -> None:
    _spec(gitops_repo)
    assert run_gen("bundle", "--cluster", "prod", "--from", str(chart_mirror), repo=gitops_repo).code == 0
    # a value that brings the chart's staging default back: refused with the spec, before anything is rendered
    # (a chart that renders a staging image itself: tests/cli/test_hostile_chart.py)
    spec = gitops_repo / "clusters/prod.yaml"
    staging = "  values:\n    operator:\n      repository: nvcr.io/nvstaging/mellanox\n"
    spec.write_text(spec.read_text().replace("  version: v25.4.0\n", "  version: v25.4.0\n" + staging))
    before = snapshot(gitops_repo / "output")
    proc = run_gen("bundle", "--cluster", "prod", "--from", str(chart_mirror), repo=gitops_repo)
    assert proc.code == 2
    assert "field 'networkOperator.values.operator.repository': 'nvcr.io/nvstaging/mellanox/network-operator:" \
           "v25.4.0' is from the staging registry, which nodes cannot pull from" in proc.err
    assert snapshot(gitops_repo / "output") == before


@pytest.mark.kustomize
def test_pool_taints_are_checked_on_the_chart_and_the_bundle(gitops_repo: Path, chart_mirror: Path) -> None:
    _spec(gitops_repo, extra="taints:\n- {key: sku, value: gpu, effect: NoSchedule}\n")
    proc = run_gen("bundle", "--cluster", "prod", "--from", str(chart_mirror), repo=gitops_repo)
    assert proc.code == 1
    assert "(helm template): error pool-taints: does not tolerate the pool's taint sku=gpu:NoSchedule" in proc.err
    assert "output/prod/examples/pod.yaml" in proc.err and "error pool-taints" in proc.err
    proc = run_gen("bundle", "--cluster", "prod", repo=gitops_repo)  # no chart at hand: from the values
    assert proc.code == 1
    assert "output/prod/helm/values.yaml: error pool-taints: the NFD worker does not tolerate" in proc.err


@pytest.mark.parametrize(("extra", "field", "words"), [
    ("  values:\n    nfd:\n      enabeld: true\n", "networkOperator.values.nfd.enabeld", "did you mean 'nfd.enabled'"),
    ("  values:\n    deployCR: true\n", "networkOperator.values.deployCR", "ignores it: 'deployCR' was removed"),
    ("  values:\n    operator:\n      tolerations: [{key: a, opertor: Exists}]\n",
     "networkOperator.values.operator.tolerations[0].opertor", "unknown field 'opertor'"),
])
def test_values_are_checked_against_the_chart(gitops_repo: Path, extra: str, field: str, words: str) -> None:
    write_spec(gitops_repo)
    assert run_gen("bundle", "--cluster", "prod", repo=gitops_repo).code == 0
    before = snapshot(gitops_repo / "output")
    spec = gitops_repo / "clusters/prod.yaml"
    spec.write_text(spec.read_text().replace("  version: v25.4.0\n", "  version: v25.4.0\n" + extra))
    proc = run_gen("bundle", "--cluster", "prod", repo=gitops_repo)
    assert proc.code == 2, proc.err
    assert "clusters/prod.yaml:" in proc.err and f"field '{field}'" in proc.err and words in proc.err
    assert snapshot(gitops_repo / "output") == before


@pytest.mark.parametrize(("extra", "field"), [
    ("ipoib:\n  perNodeBlockSize: 1\n", "ipoib.perNodeBlockSize"),
    ("ipoib:\n  range: 10.0.0.0/26\n", "ipoib.range"),
])
def test_nv_ipam_blocks(gitops_repo: Path, extra: str, field: str) -> None:
    write_spec(gitops_repo, mode="ipoib", version="v25.10.0", extra=extra)
    proc = run_gen("bundle", "--cluster", "prod", repo=gitops_repo)
    assert proc.code == 2 and f"field '{field}'" in proc.err, proc.err
    assert not (gitops_repo / "output").exists()


def test_schemas_pull_fetches_charts_from_a_helm_repository(chart_repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert run_gen("schemas", "pull", env={"GEN_SCHEMA_CACHE": str(cache)}).code == 0  # CRDs, from the mirror
    with serve(chart_repo) as url:  # then, without a mirror, the charts from the Helm repository
        proc = run_gen("schemas", "pull", env={"GEN_CHART_REPOSITORY": url, "GEN_SCHEMA_CACHE": str(cache),
                                               "GEN_SCHEMA_MIRROR": ""})
    assert proc.code == 0, proc.err
    assert "charts of 2 of 6 release(s)" in proc.out
    assert "v26.4.1:" in proc.err and "has no network-operator 26.4.1" in proc.err
    assert (cache / "network-operator/v25.10.0/chart/network-operator-25.10.0.tgz").is_file()


@pytest.mark.kustomize
def test_a_failing_chart_render_is_a_finding(gitops_repo: Path, chart_mirror: Path) -> None:
    """A value of the right Kubernetes type that the chart's own values schema refuses: helm's message, exit 1."""
    _spec(gitops_repo, extra="")
    spec = gitops_repo / "clusters/prod.yaml"
    spec.write_text(spec.read_text().replace("  version: v25.4.0\n", (
        "  version: v25.4.0\n  values:\n    node-feature-discovery:\n      worker:\n"
        "        tolerations: [{key: a, operator: Exists, effect: Sometimes}]\n")))
    proc = run_gen("bundle", "--cluster", "prod", "--from", str(chart_mirror), repo=gitops_repo)
    assert proc.code == 1
    assert "output/prod/helm/values.yaml: error chart-render: helm template of network-operator 25.4.0 failed" \
        in proc.err and "effect" in proc.err
