"""Node pools (issue 23) with everything a real fleet turns on beside them, gen in this process: three clusters with
pools at v26.4.1 (Argo CD with rendered delivery, the admission webhook on, private mirrors and pinned digests, a pool
on another node OS and the GPU Operator; Flux with IPoIB, the webhook on and AKS's driver with the nvidia-peermem
reloader; Flux with the GPU Operator) bundle and check clean, strictly validated and through every webhook rule, with
the pools' objects where each delivery path applies them; what cannot compose is refused at the spec's field."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from generator.render.flux import kustomization_name
from generator.yamlio.load import load_documents
from tests.conftest import FIXTURE_CHARTS, UPSTREAM, _helm
from tests.helpers import run_gen

DIGESTS = {"nvcr.io/nvidia/cloud-native/network-operator": "2" * 64,
           "nvcr.io/nvidia/mellanox/sriov-network-device-plugin": "1" * 64,
           "nvcr.io/nvidia/mellanox/k8s-rdma-shared-dev-plugin": "3" * 64}
CUDA_PERFTEST = "example.azurecr.io/perftest-cuda@sha256:" + "c" * 64
WEBHOOK = "  values:\n    operator:\n      admissionController:\n        enabled: true\n"
TAINTED = ("  taints: [{key: sku, value: gpu, effect: NoSchedule}]\n"
           "  tolerations: [{key: sku, operator: Equal, value: gpu, effect: NoSchedule}]\n")
TOLERATION = {"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}
FLUX = "gitops: flux\nflux:\n  repoURL: https://github.com/example/{repo}.git\n  ref: {{branch: main}}\n"
ARGOCD = ("argocd:\n  repoURL: https://github.com/example/aks-gitops.git\n  targetRevision: main\n"
          "  delivery: rendered\n  destination:\n    name: {name}\n")

# Argo CD, rendered delivery: an A100 pool on SR-IOV (Ubuntu 22.04 on 1.34) and a tainted H100 pool on the shared
# plugin running Ubuntu 24.04; webhook on; mirrored, three images pinned (two of them only the pools' policies pull);
# the GPU Operator over DMA-BUF; the verify Jobs with a CUDA perftest
RENDERED = ("name: rendered\nmode: sriov\nvmSize: Standard_ND96asr_v4\nkubernetes:\n  version: \"1.34\"\n"
            "networkOperator:\n  version: v26.4.1\n" + WEBHOOK + ARGOCD.format(name="rendered")
            + "imageRegistry:\n  nvcr.io/nvidia: myacr.azurecr.io/nvidia\nimageDigests:\n"
            + "".join(f"  {name}: sha256:{digest}\n" for name, digest in DIGESTS.items())
            + "gpu:\n  driver: operator\n  rdma: dmabuf\n"
            + f"verify:\n  enabled: true\n  image: {CUDA_PERFTEST}\n"
            + "pools:\n- name: a100\n  devicePlugin: sriov\n- name: h100\n  vmSize: Standard_ND96isr_H100_v5\n"
              "  devicePlugin: shared\n  node: {osSku: Ubuntu2404}\n" + TAINTED)
# Flux, IPoIB (a shared pool attaching the network, an SR-IOV pool beside it), webhook on, mirrored, AKS's driver with
# nvidia-peermem
PEERMEM = ("name: peermem\nmode: ipoib\nvmSize: Standard_ND96isr_H100_v5\nnetworkOperator:\n  version: v26.4.1\n"
           + WEBHOOK + FLUX.format(repo="gitops-peermem")
           + "imageRegistry:\n  nvcr.io/nvidia: myacr.azurecr.io/nvidia\ngpu:\n  driver: aks\n  rdma: peermem\n"
           + f"verify:\n  enabled: true\n  image: {CUDA_PERFTEST}\n"
           + "pools:\n- name: h100\n- name: h100b\n  devicePlugin: sriov\n" + TAINTED)
# Flux, shared, the GPU Operator with nvidia-peermem on an H100 and an H200 pool
OPERATOR = ("name: operator\nmode: shared\nvmSize: Standard_ND96isr_H100_v5\nnetworkOperator:\n  version: v26.4.1\n"
            + FLUX.format(repo="gitops-operator") + "gpu:\n  driver: operator\n  rdma: peermem\n"
            + "pools:\n- name: h100\n- name: h200\n  vmSize: Standard_ND96isr_H200_v5\n")
SPECS = {"rendered": RENDERED, "peermem": PEERMEM, "operator": OPERATOR}


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """../shared/upstream (linked), and the fixture chart packaged as network-operator 26.4.1 with that release's CRDs
    (NicNodePolicy among them) and its operator repository: what rendered delivery renders at v26.4.1."""
    root = tmp_path_factory.mktemp("mirror-26.4.1")
    for item in UPSTREAM.iterdir():
        if item.name != "network-operator":
            (root / item.name).symlink_to(item.resolve())
    for release in sorted((UPSTREAM / "network-operator").iterdir()):
        (root / "network-operator" / release.name).mkdir(parents=True)
        for item in release.iterdir():
            (root / "network-operator" / release.name / item.name).symlink_to(item.resolve())
    work = tmp_path_factory.mktemp("chart-26.4.1") / "network-operator"
    shutil.copytree(FIXTURE_CHARTS / "network-operator", work)
    meta = (work / "Chart.yaml").read_text()
    (work / "Chart.yaml").write_text(meta.replace("version: 25.4.0", "version: 26.4.1")
                                     .replace("appVersion: v25.4.0", "appVersion: v26.4.1"))
    values = (work / "values.yaml").read_text()
    (work / "values.yaml").write_text(values.replace("repository: nvcr.io/nvstaging/mellanox",
                                                     "repository: nvcr.io/nvidia/cloud-native"))
    for crd in (work / "crds").iterdir():
        crd.unlink()
    for crd in (UPSTREAM / "network-operator/v26.4.1/crds").glob("mellanox.com_*.yaml"):
        shutil.copy(crd, work / "crds")
    target = root / "network-operator/v26.4.1/chart"
    target.mkdir()
    home = tmp_path_factory.mktemp("helm-home")
    subprocess.run([*_helm(), "package", str(work), "-d", str(target)], check=True, capture_output=True,
                   env={"PATH": "/usr/bin:/bin", "HOME": str(home), "XDG_CACHE_HOME": str(home / "c"),
                        "XDG_CONFIG_HOME": str(home / "f"), "XDG_DATA_HOME": str(home / "d")})
    return root


@pytest.fixture(scope="module")
def fleet(mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three clusters, bundled once (each test reads the output; none changes it)."""
    repo = tmp_path_factory.mktemp("pools-fleet")
    (repo / "clusters").mkdir()
    for name, text in SPECS.items():
        (repo / "clusters" / f"{name}.yaml").write_text(text)
    proc = run_gen("bundle", "--all", repo=repo, env={"GEN_SCHEMA_MIRROR": str(mirror)})
    assert proc.code == 0, proc.out + proc.err
    # warnings only, and only NVIDIA's GPU Operator / Network Operator pairing and its nvidia-peermem known issue
    rules = {line.split(": warning ")[1].split(":")[0] for line in proc.err.splitlines() if ": warning " in line}
    assert rules <= {"gpu-network-pair", "gpu-release-defect"}, proc.err
    assert ": error " not in proc.err
    return repo


def docs(path: Path) -> list[Any]:
    return [d.value for d in load_documents(path.read_bytes(), str(path))]


def by_name(objs: list[Any]) -> dict[str, Any]:
    return {o["metadata"]["name"]: o for o in objs}


@pytest.mark.kustomize
@pytest.mark.slow
def test_the_fleet_checks_clean_strictly_and_through_the_webhook(fleet: Path, mirror: Path) -> None:
    proc = run_gen("check", repo=fleet, env={"GEN_SCHEMA_MIRROR": str(mirror)})
    assert proc.code == 0, proc.out + proc.err
    assert "up to date with 3 cluster spec(s)" in proc.out + proc.err
    assert ": error " not in proc.out + proc.err


@pytest.mark.kustomize
@pytest.mark.slow
def test_rendered_delivery_with_pools_webhook_mirrors_digests_and_the_gpu_operator(fleet: Path) -> None:
    out = fleet / "output/rendered"
    [ncp] = docs(out / "base/nicclusterpolicy.yaml")
    assert not {"ofedDriver", "sriovDevicePlugin", "rdmaSharedDevicePlugin"} & set(ncp["spec"])
    assert ncp["spec"]["tolerations"] == [TOLERATION]  # the cluster-wide parts run on the tainted pool too
    policies = by_name(docs(out / "base/nicnodepolicies.yaml"))
    assert sorted(policies) == ["rdma-a100", "rdma-h100"]
    a100, h100 = policies["rdma-a100"]["spec"], policies["rdma-h100"]["spec"]
    # the webhook is on: the SR-IOV prefix is an FQDN it accepts; every image moved to the mirror, the pins kept
    sriov = a100["sriovDevicePlugin"]
    assert sriov["repository"].startswith("myacr.azurecr.io/nvidia/")
    assert sriov["version"].endswith("@sha256:" + "1" * 64)
    assert "rdma/" not in sriov["config"] and '"resourcePrefix":"nvidia.com"' in sriov["config"].replace(" ", "")
    shared = h100["rdmaSharedDevicePlugin"]
    assert shared["repository"].startswith("myacr.azurecr.io/nvidia/")
    assert shared["version"].endswith("@sha256:" + "3" * 64)
    for spec in (a100, h100):
        assert spec["ofedDriver"]["repository"].startswith("myacr.azurecr.io/nvidia/")
    assert h100["tolerations"] == [TOLERATION]
    # the chart rendered into the bundle, its CRDs (NicNodePolicy's among them) committed once for the release
    assert (out / "chart/deployment.yaml").is_file()
    assert "../chart" in docs(out / "base/kustomization.yaml")[0]["resources"]
    crds = (fleet / "output/network-operator-v26.4.1").rglob("*.yaml")
    assert any("nicnodepolicies.mellanox.com" in p.read_text() for p in crds)
    # Argo CD: the AppProject admits NicNodePolicy, the argocd-cm patch has its health check and the GPU Operator's
    [project] = docs(out / "argocd/project.yaml")
    assert {"group": "mellanox.com", "kind": "NicNodePolicy"} in project["spec"]["clusterResourceWhitelist"]
    health = docs(out / "argocd/argocd-cm-health.yaml")[0]["data"]
    assert {"resource.customizations.health.mellanox.com_NicNodePolicy",
            "resource.customizations.health.nvidia.com_ClusterPolicy"} <= set(health)
    # a pool takes the cluster's GPU settings: the operator's DaemonSets tolerate every pool, the note names both
    [app] = docs(out / "argocd/gpu-operator-application.yaml")
    values = app["spec"]["sources"][0]["helm"]["valuesObject"]
    assert TOLERATION in values["daemonsets"]["tolerations"]
    assert "every GPU pool (a100, h100) must be created" in (out / "argocd/gpu-operator-application.yaml").read_text()
    # per pool: the example pod and the verify Job of its size and plugin, both measuring GPU memory over DMA-BUF
    pods = by_name(docs(out / "examples/pod.yaml"))
    assert pods["ib-pod-a100"]["spec"]["containers"][0]["resources"]["limits"] == \
        {"nvidia.com/gpu": 8, "nvidia.com/ib": 8}
    assert pods["ib-pod-h100"]["spec"]["containers"][0]["resources"]["limits"] == \
        {"nvidia.com/gpu": 8, "rdma/shared_ib": 1}
    jobs = {o["metadata"]["name"]: o for o in docs(out / "overlays/sriov/verify.yaml") if o["kind"] == "Job"}
    assert sorted(jobs) == ["rdma-verify-a100", "rdma-verify-h100"]
    for job in jobs.values():
        env = {e["name"]: e.get("value") for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["GPU_MEMORY"] == "dmabuf"


@pytest.mark.kustomize
@pytest.mark.slow
def test_the_sync_plan_runs_the_pools_after_the_cluster_policy(fleet: Path, mirror: Path) -> None:
    plan = run_gen("plan", "--cluster", "rendered", repo=fleet, env={"GEN_SCHEMA_MIRROR": str(mirror)})
    assert plan.code == 0, plan.err
    lines = plan.out.splitlines()

    def wave(kind: str) -> int:
        return int(next(line.split()[1] for line in lines if f" {kind} " in f" {line} " and "Sync" in line))

    assert wave("NicClusterPolicy") < wave("NicNodePolicy")


@pytest.mark.kustomize
@pytest.mark.slow
def test_flux_runs_the_pools_step_before_the_gpu_steps(fleet: Path) -> None:
    for name, gpu_step in (("peermem", "peermem"), ("operator", "gpu-operator")):
        chain = docs(fleet / f"output/{name}/flux/kustomizations.yaml")
        steps = [k["metadata"]["name"] for k in chain]
        waits = {k["metadata"]["name"]: [d["name"] for d in k["spec"].get("dependsOn", [])] for k in chain}
        pools, gpu = kustomization_name("pools"), kustomization_name(gpu_step)
        assert waits[pools] == [kustomization_name("policy")]
        assert steps.index(pools) < steps.index(gpu)
        # the GPU step waits (through the network step, when there is one) on the pools' step
        before = waits[gpu][0]
        assert before == pools or waits[before] == [pools], waits
        [pools_step] = [k for k in chain if k["metadata"]["name"] == pools]
        assert [(e["apiVersion"], e["kind"]) for e in pools_step["spec"]["healthCheckExprs"]] == \
            [("mellanox.com/v1alpha1", "NicNodePolicy")]
        applied = by_name(docs(fleet / f"output/{name}/flux/pools/nicnodepolicies.yaml"))
        assert applied == by_name(docs(fleet / f"output/{name}/base/nicnodepolicies.yaml"))
    # AKS's driver with nvidia-peermem: the reloader after the pools' drivers, in Argo CD's waves as in Flux's chain
    [_, reloader] = docs(fleet / "output/peermem/base/nvidia-peermem-reloader.yaml")
    assert reloader["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "4"
    [ncp] = docs(fleet / "output/peermem/flux/policy/nicclusterpolicy.yaml")
    assert "ofedDriver" not in ncp["spec"] and "ipoib" in ncp["spec"]["secondaryNetwork"]  # IPoIB: cluster-wide


@pytest.mark.parametrize(("edit", "field", "words"), [
    # a GPU driver pinned by digest is one OS's image: pools on two OSes cannot share it
    (lambda t: t.replace("imageDigests:\n", "imageDigests:\n  nvcr.io/nvidia/driver: sha256:" + "4" * 64 + "\n"),
     "imageDigests.nvcr.io/nvidia/driver", "per node OS"),
    # every pool takes the cluster's gpu: another vendor's GPUs cannot
    (lambda t: t.replace("vmSize: Standard_ND96isr_H100_v5\n  devicePlugin: shared",
                         "vmSize: Standard_ND96isr_MI300X_v5\n  devicePlugin: shared"),
     "pools[1].vmSize", "every pool takes the cluster's gpu"),
    # the rdma-infiniband chart carries no NicNodePolicies
    (lambda t: t.replace("  delivery: rendered\n", "  source: chart\n"), "argocd.source", "NicNodePolicies"),
])
def test_what_cannot_compose_with_pools_is_refused_at_the_field(gitops_repo: Path, edit: Any, field: str,
                                                                words: str) -> None:
    (gitops_repo / "clusters/rendered.yaml").write_text(edit(RENDERED))
    proc = run_gen("bundle", "--all", repo=gitops_repo)
    assert proc.code == 2, proc.out + proc.err
    assert "clusters/rendered.yaml:" in proc.err and f"field '{field}'" in proc.err and words in proc.err, proc.err
    assert "Traceback" not in proc.err
    assert not (gitops_repo / "output").exists()


def test_a_pool_without_gpus_takes_nothing_of_gpu(gitops_repo: Path) -> None:
    """A CPU InfiniBand pool beside a GPU pool: its checks use host memory; its example pod asks for no GPU."""
    (gitops_repo / "clusters/rendered.yaml").write_text(
        RENDERED.replace("vmSize: Standard_ND96isr_H100_v5\n  devicePlugin: shared\n  node: {osSku: Ubuntu2404}\n",
                         "vmSize: Standard_HB176rs_v4\n  devicePlugin: shared\n")
        .replace("  delivery: rendered\n", ""))
    proc = run_gen("bundle", "--all", repo=gitops_repo)
    assert proc.code == 0, proc.err
    out = gitops_repo / "output/rendered"
    pods = by_name(docs(out / "examples/pod.yaml"))
    assert "nvidia.com/gpu" not in pods["ib-pod-h100"]["spec"]["containers"][0]["resources"]["limits"]
    jobs = {o["metadata"]["name"]: o for o in docs(out / "overlays/sriov/verify.yaml") if o["kind"] == "Job"}
    env = {e["name"]: e.get("value") for e in jobs["rdma-verify-h100"]["spec"]["template"]["spec"]["containers"][0]
           ["env"]}
    assert env["GPU_MEMORY"] == "host"
    assert "every GPU pool (a100) must be created" in (out / "argocd/gpu-operator-application.yaml").read_text()
