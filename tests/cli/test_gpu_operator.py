"""GPUDirect RDMA end to end, gen in this process: the acceptance specs bundle and check clean (the GPU Operator over
DMA-BUF on a tainted H100 pool; AKS's driver with the nvidia-peermem reloader; AKS's driver with DMA-BUF), each rule
fails gen bundle where the spec asks for it, and the real chart (a miniature of our own, from a mirror or a loopback
Helm repository) is rendered and checked when it is at hand. Also gen images, releases, catalog, upgrade --gpu-to."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.sources.chart_store import GPU_OPERATOR, ChartSourceError, fetch_chart, find_chart
from generator.yamlio.load import load_documents
from tests.conftest import commit_all, serve, write_spec
from tests.helpers import run_gen

POOL = ("tolerations:\n- {key: sku, operator: Equal, value: gpu, effect: NoSchedule}\n"
        "taints:\n- {key: sku, value: gpu, effect: NoSchedule}\n")
H100 = "Standard_ND96isr_H100_v5"


def spec(repo: Path, gpu: str, version: str = "v26.4.1", extra: str = POOL) -> None:
    write_spec(repo, mode="sriov", version=version, vm_size=H100, extra=extra + gpu)


def objects(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [d.value for d in load_documents(path.read_bytes(), str(path))]


def findings(err: str, rule: str) -> list[str]:
    return [line for line in err.splitlines() if f" {rule}: " in line]


@pytest.mark.kustomize
def test_the_acceptance_spec_bundles_and_checks_clean(gitops_repo: Path) -> None:
    spec(gitops_repo, "gpu: {driver: operator, rdma: dmabuf}\n")
    proc = run_gen("bundle", "--cluster", "prod", repo=gitops_repo)
    assert proc.code == 0, proc.err
    # the one thing said: NVIDIA has validated no GPU Operator with network-operator v26.4 (a warning, never an error)
    assert [line.split(": ")[1].split()[1] for line in proc.err.splitlines() if ": warning " in line] == \
        ["gpu-network-pair"]
    assert "gpu-operator chart v26.7.0: not in the cache or mirror" in proc.err  # the facts stand in
    out = gitops_repo / "output/prod"
    [app] = objects(out / "argocd/gpu-operator-application.yaml")
    values = app["spec"]["sources"][0]["helm"]["valuesObject"]
    assert values["nfd"] == {"enabled": False} and values["driver"]["kernelModuleType"] == "open"
    assert app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "1"
    assert [o["kind"] for o in objects(out / "gpu-operator/namespace.yaml")] == ["Namespace"]
    assert [o["kind"] for o in objects(out / "argocd/gpu-operator-project.yaml")] == ["AppProject"]
    assert "nvidia.com_ClusterPolicy" in (out / "argocd/argocd-cm-health.yaml").read_text()
    assert run_gen("check", repo=gitops_repo).code == 0


@pytest.mark.kustomize
def test_aks_s_driver_with_peermem_gets_the_reloader_and_dma_buf_nothing(gitops_repo: Path) -> None:
    spec(gitops_repo, "gpu: {driver: aks, rdma: peermem}\n")
    proc = run_gen("bundle", "--cluster", "prod", repo=gitops_repo)
    assert proc.code == 0 and ": error " not in proc.err, proc.err
    reloader = gitops_repo / "output/prod/base/nvidia-peermem-reloader.yaml"
    assert [o["kind"] for o in objects(reloader)] == ["Namespace", "DaemonSet"]
    plan = run_gen("plan", "--cluster", "prod", repo=gitops_repo)
    assert plan.code == 0
    lines = plan.out.splitlines()
    assert next(i for i, line in enumerate(lines) if "NicClusterPolicy" in line) < \
        next(i for i, line in enumerate(lines) if "nvidia-peermem-reloader" in line and "DaemonSet" in line)
    spec(gitops_repo, "gpu: {driver: aks, rdma: dmabuf}\n")
    assert run_gen("bundle", "--cluster", "prod", repo=gitops_repo).code == 0
    assert not reloader.exists()


@pytest.mark.kustomize
@pytest.mark.parametrize(("values", "rule", "where"), [
    ("daemonsets: {tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]}", "gpu-pool-taints",
     "output/prod/argocd/gpu-operator-application.yaml:"),
    ("driver: {kernelModuleType: opne}", "schema", "output/prod/helm/gpu-operator-values.yaml:"),
])
def test_bundle_fails_where_the_values_break_the_gpu_half(gitops_repo: Path, values: str, rule: str,
                                                          where: str) -> None:
    spec(gitops_repo, f"gpu:\n  driver: operator\n  operator:\n    values: {{{values}}}\n")
    proc = run_gen("bundle", "--cluster", "prod", repo=gitops_repo)
    assert proc.code == 1, proc.err
    [line] = findings(proc.err, rule)
    assert line.startswith(where) and ": error " in line, line
    assert not (gitops_repo / "output").exists()  # nothing written


@pytest.mark.kustomize
def test_the_chart_at_hand_is_rendered_and_checked(gitops_repo: Path, chart_mirror: Path) -> None:
    spec(gitops_repo, "gpu: {driver: operator, rdma: dmabuf, operator: {version: v26.3.3}}\n")
    proc = run_gen("bundle", "--cluster", "prod", "--from", str(chart_mirror), repo=gitops_repo)
    assert proc.code == 0, proc.err
    assert "gpu-operator chart" not in proc.err  # rendered, not stood in for
    # the values make the chart render operand DaemonSets that do not tolerate the pool: found in its render
    spec(gitops_repo, "gpu:\n  driver: operator\n  operator:\n    version: v26.3.3\n    values: {daemonsets: "
                      "{tolerations: [{key: nvidia.com/gpu, operator: Exists}]}, driver: {kernelModuleType: x}}\n")
    proc = run_gen("bundle", "--cluster", "prod", "--from", str(chart_mirror), repo=gitops_repo)
    assert proc.code == 1
    assert [line for line in findings(proc.err, "gpu-pool-taints") if "(helm template)" in line]
    schema = findings(proc.err, "schema")
    assert schema and all("gpu-operator chart v26.3.3 (helm template)" in line for line in schema), proc.err
    assert "kernelModuleType" in schema[0]


def test_the_gpu_chart_comes_through_a_helm_repository_digest_checked(chart_repo: Path, tmp_path: Path) -> None:
    with serve(chart_repo) as url:
        chart = fetch_chart("v26.3.3", tmp_path, url, product=GPU_OPERATOR)
        assert chart.path == tmp_path / "gpu-operator/v26.3.3/chart/gpu-operator-v26.3.3.tgz"
        assert find_chart("v26.3.3", [tmp_path], GPU_OPERATOR) == chart
        with pytest.raises(ChartSourceError, match=r"has no gpu-operator v26\.7\.0"):
            fetch_chart("v26.7.0", tmp_path, url, product=GPU_OPERATOR)
    folder = tmp_path / "gpu-operator/v26.7.0/chart"
    folder.mkdir(parents=True)
    (folder / "gpu-operator-v26.7.0.tgz").write_bytes(chart.path.read_bytes())
    with pytest.raises(ChartSourceError, match=r"is chart gpu-operator v26\.3\.3, not gpu-operator v26\.7\.0"):
        find_chart("v26.7.0", [tmp_path], GPU_OPERATOR)


def test_gen_images_lists_the_gpu_operator_s_and_moves_them(gitops_repo: Path) -> None:
    digest = "sha256:" + "1" * 64
    spec(gitops_repo, "gpu: {driver: operator, operator: {version: v26.3.3}}\n", extra=POOL + (
        "kubernetes: {version: '1.33'}\nimageRegistry: {nvcr.io/nvidia: myacr.azurecr.io/nvidia}\n"
        f"imageDigests: {{nvcr.io/nvidia/driver: '{digest}'}}\n"))
    proc = run_gen("images", "--cluster", "prod", repo=gitops_repo)
    assert proc.code == 0, proc.err
    lines = proc.out.splitlines()
    assert f"nvcr.io/nvidia/driver:580.126.20-ubuntu22.04@{digest} " \
           f"myacr.azurecr.io/nvidia/driver:580.126.20-ubuntu22.04@{digest}" in lines
    assert "nvcr.io/nvidia/gpu-operator:v26.3.3 myacr.azurecr.io/nvidia/gpu-operator:v26.3.3" in lines
    assert any(line.startswith("nvcr.io/nvidia/k8s/container-toolkit:v1.19.1 ") for line in lines)
    write_spec(gitops_repo, mode="sriov", version="v26.4.1", vm_size=H100, extra=POOL + "gpu: {rdma: peermem}\n")
    assert any(line.startswith("docker.io/library/busybox:1.37.0@sha256:")
               for line in run_gen("images", "--cluster", "prod", repo=gitops_repo).out.splitlines())


def test_releases_and_catalog_show_the_gpu_operator_releases() -> None:
    text = run_gen("releases").out
    assert "GPU Operator releases" in text and "ibverbs-injection (error)" in text
    catalog = run_gen("catalog", "gpu-operator").out
    assert "v26.7.0" in catalog and "(default)" in catalog and "known only" in catalog
    import json

    data = json.loads(run_gen("releases", "--format", "json").out)["gpuOperator"]
    v2633 = next(r for r in data["releases"] if r["tag"] == "v26.3.3")
    assert v2633["deployable"] and v2633["validatedWith"] == ["v25.7.0", "v25.10.0", "v26.1.2"]


@pytest.mark.kustomize
def test_upgrade_plans_gpu_operator_steps_and_writes_the_spec(gitops_repo: Path) -> None:
    spec(gitops_repo, "gpu: {driver: operator, rdma: peermem, operator: {version: v25.10.1}}\n", version="v26.1.2")
    proc = run_gen("upgrade", "--cluster", "prod", "--gpu-to", "v26.7.0", "--dry-run", repo=gitops_repo)
    assert proc.code == 0, proc.err
    assert "v25.10.1 -> v26.3.3 -> v26.7.0" in proc.out
    assert "driver.version 580.105.08 -> 580.126.20" in proc.out and "plan it as a drain of the GPU pool" in proc.out
    assert "added    nvidia.com_gpuclusters.yaml" in proc.out
    assert "known issue of v26.7.0" in proc.out  # the peermem restart issue (peermem here)
    proc = run_gen("upgrade", "--cluster", "prod", "--gpu-to", "v26.3.3", repo=gitops_repo)
    assert proc.code == 0, proc.err
    assert "version: v26.3.3" in (gitops_repo / "clusters/prod.yaml").read_text()
    [app] = objects(gitops_repo / "output/prod/argocd/gpu-operator-application.yaml")
    assert app["spec"]["sources"][0]["targetRevision"] == "v26.3.3"
    # a network-operator step that leaves NVIDIA's validated pairs says so
    proc = run_gen("upgrade", "--cluster", "prod", "--to", "v26.4.1", "--dry-run", repo=gitops_repo)
    assert "leaves NVIDIA's validated GPUDirect RDMA pairs" in " ".join(proc.out.split()), proc.out
    refused = run_gen("upgrade", "--cluster", "prod", "--gpu-to", "v26.3.1", repo=gitops_repo)
    assert refused.code == 2 and "not a GPU Operator release gen can deploy" in refused.err


@pytest.mark.kustomize
def test_diff_shows_the_gpu_operator_s_objects(gitops_repo: Path) -> None:
    spec(gitops_repo, "gpu: {driver: operator, rdma: peermem}\n")
    run_gen("bundle", "--cluster", "prod", repo=gitops_repo, check=True)
    commit_all(gitops_repo)
    spec(gitops_repo, "gpu: {driver: operator, rdma: dmabuf}\n")
    proc = run_gen("diff", "--cluster", "prod", repo=gitops_repo)
    assert proc.code == 0, proc.err
    assert "Application.argoproj.io argocd/gpu-operator-prod" in proc.out
    assert 'driver.kernelModuleType: "auto" → "open"' in proc.out
