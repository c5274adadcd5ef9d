"""What the gpu section renders: the nvidia-peermem reloader (AKS's driver with peermem), nothing with DMA-BUF, and the
GPU Operator's values, Application, project and Namespace, ordered after the network operator's policy."""

from __future__ import annotations

from typing import Any

from generator.catalog.gpu import load_gpu
from generator.core.kube import PSA_ENFORCE, WAVE
from generator.render.argocd import app_project, health_patch
from generator.render.bundle_objects import WAVE_POLICY, synced_objects
from generator.render.cluster_bundle import render_bundle
from generator.render.gpu import gpu_values, reloader_objects
from generator.render.gpu_argocd import gpu_application, gpu_project
from tests.helpers import make_cluster

H100 = "Standard_ND96isr_H100_v5"
POOL = ("tolerations:\n- {key: sku, operator: Equal, value: gpu, effect: NoSchedule}\n"
        "taints:\n- {key: sku, value: gpu, effect: NoSchedule}\n")
SKU = {"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}


def gpu_cluster(gpu: str, extra: str = POOL) -> Any:
    return make_cluster(version="v26.4.1", vm_size=H100, extra=extra + gpu)


def test_peermem_with_aks_s_driver_gets_the_reloader_after_the_policy() -> None:
    cluster = gpu_cluster("gpu: {driver: aks, rdma: peermem}\n")
    namespace, daemonset = reloader_objects(cluster)
    assert namespace["metadata"]["labels"][PSA_ENFORCE] == "privileged"
    assert int(daemonset["metadata"]["annotations"][WAVE]) > int(WAVE_POLICY)  # after the NicClusterPolicy
    pod = daemonset["spec"]["template"]["spec"]
    assert pod["tolerations"] == [SKU]
    term = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
    assert term["matchExpressions"] == [{"key": "kubernetes.azure.com/accelerator", "operator": "In",
                                         "values": ["nvidia"]}]
    [container] = pod["containers"]
    assert container["image"] == load_gpu().reloader.image and "@sha256:" in container["image"]
    assert container["livenessProbe"]["exec"]["command"] == ["chroot", "/host", "modprobe", "nvidia-peermem"]
    files = render_bundle(cluster).files
    assert "nvidia-peermem-reloader.yaml" in files["base/kustomization.yaml"].decode()
    assert "Azure/aks-rdma-infiniband#50" in files["base/nvidia-peermem-reloader.yaml"].decode()
    destinations = app_project(cluster)["spec"]["destinations"]
    assert {"server": "https://kubernetes.default.svc", "namespace": "nvidia-peermem-reloader"} in destinations
    assert daemonset in synced_objects(cluster)


def test_the_reloader_image_moves_to_the_mirror() -> None:
    cluster = gpu_cluster("gpu: {driver: aks, rdma: peermem}\n", POOL + "imageRegistry: {docker.io: acr.io/hub}\n")
    assert reloader_objects(cluster)[1]["spec"]["template"]["spec"]["containers"][0]["image"].startswith(
        "acr.io/hub/library/busybox:1.37.0@sha256:")


def test_dma_buf_with_aks_s_driver_deploys_nothing_and_says_what_the_nodes_need() -> None:
    plain = render_bundle(make_cluster(version="v26.4.1", vm_size=H100, extra=POOL)).files
    files = render_bundle(gpu_cluster("gpu: {driver: aks, rdma: dmabuf}\n")).files
    assert set(files) == set(plain)
    note = files["argocd/application.yaml"].decode()
    assert "Open" in note and "5.12" in note and "--gpu-driver none" in note


def test_operator_values_follow_the_spec() -> None:
    dmabuf = gpu_values(gpu_cluster("gpu: {driver: operator, rdma: dmabuf}\n"))
    assert dmabuf["nfd"] == {"enabled": False}
    assert dmabuf["driver"] == {"kernelModuleType": "open", "rdma": {"enabled": False, "useHostMofed": False}}
    assert dmabuf["operator"] == {"version": "v26.7.0", "upgradeCRD": False}
    assert dmabuf["validator"] == {"version": "v26.7.0"} and dmabuf["nodeStatusExporter"] == {"version": "v26.7.0"}
    # the chart's own toleration of the operands kept, the pool's added (Helm replaces lists)
    assert dmabuf["daemonsets"]["tolerations"] == [
        {"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Exists"}, SKU]
    peermem = gpu_values(gpu_cluster("gpu: {driver: operator, rdma: peermem}\n"))
    assert peermem["driver"] == {"kernelModuleType": "auto", "rdma": {"enabled": True, "useHostMofed": False}}


def test_mirrors_and_digests_reach_the_operator_and_every_operand() -> None:
    digest = "sha256:" + "a" * 64
    values = gpu_values(gpu_cluster("gpu: {driver: operator, operator: {version: v26.3.3}}\n", POOL + (
        "imageRegistry: {nvcr.io/nvidia: acr.io/nvidia}\n" f"imageDigests: {{nvcr.io/nvidia/driver: '{digest}'}}\n")))
    assert values["operator"]["repository"] == "acr.io/nvidia"
    assert values["driver"]["repository"] == "acr.io/nvidia" and values["driver"]["version"] == digest
    assert values["toolkit"]["repository"] == "acr.io/nvidia/k8s"
    assert values["driver"]["manager"]["repository"] == "acr.io/nvidia/cloud-native"


def test_the_gpu_operator_application_comes_after_the_network_operator_s() -> None:
    cluster = gpu_cluster("gpu: {driver: operator, rdma: dmabuf}\n")
    app = gpu_application(cluster)
    assert app["metadata"]["annotations"][WAVE] == "1"  # the network operator's Application: wave 0
    chart, git = app["spec"]["sources"]
    assert (chart["chart"], chart["targetRevision"], chart["repoURL"]) == (
        "gpu-operator", "v26.7.0", "https://helm.ngc.nvidia.com/nvidia")
    assert chart["helm"]["valuesObject"] == gpu_values(cluster) and git["path"] == "output/prod/gpu-operator"
    assert app["spec"]["destination"]["namespace"] == "gpu-operator"
    assert "CreateNamespace=false" in app["spec"]["syncPolicy"]["syncOptions"]
    data = health_patch(cluster)["data"]
    assert {"resource.customizations.health.nvidia.com_ClusterPolicy",
            "resource.customizations.health.argoproj.io_Application"} <= set(data)
    assert "resource.customizations.health.argoproj.io_Application" not in health_patch(
        make_cluster(version="v26.4.1"))["data"]


def test_the_project_is_computed_from_what_the_chart_renders() -> None:
    project = gpu_project(gpu_cluster("gpu: {driver: operator}\n"))
    kinds = {(k["group"], k["kind"]) for k in project["spec"]["clusterResourceWhitelist"]}
    assert kinds == {("", "Namespace"), ("apiextensions.k8s.io", "CustomResourceDefinition"),
                     ("nvidia.com", "ClusterPolicy"), ("rbac.authorization.k8s.io", "ClusterRole"),
                     ("rbac.authorization.k8s.io", "ClusterRoleBinding")}
    assert project["spec"]["destinations"] == [{"server": "https://kubernetes.default.svc",
                                                 "namespace": "gpu-operator"}]
    assert project["spec"]["sourceRepos"] == ["https://github.com/example/aks-gitops.git",
                                              "https://helm.ngc.nvidia.com/nvidia"]


def test_the_bundle_files_of_a_gpu_operator_cluster() -> None:
    files = render_bundle(gpu_cluster("gpu: {driver: operator}\n")).files
    assert {"argocd/gpu-operator-application.yaml", "argocd/gpu-operator-project.yaml", "gpu-operator/namespace.yaml",
            "gpu-operator/kustomization.yaml", "helm/gpu-operator-values.yaml"} <= set(files)
    kustomization = files["argocd/kustomization.yaml"].decode()
    assert kustomization.index("application.yaml") < kustomization.index("gpu-operator-application.yaml")
    assert "--gpu-driver none" in files["argocd/gpu-operator-application.yaml"].decode()
    assert "nvidia-peermem-reloader.yaml" not in files["base/kustomization.yaml"].decode()
