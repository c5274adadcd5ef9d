"""A cluster's pools rendered: from v26.4.0 a NicClusterPolicy with the cluster-wide parts only and a NicNodePolicy per
pool (its agent pool, driver, device plugin, tolerations); an example pod and a verify Job per pool, each made for the
pool's VM size and device plugin; Flux's pools step; before v26.4.0 the one NicClusterPolicy the pools share."""

from __future__ import annotations

from typing import Any

import pytest

from generator import catalog
from generator.catalog.webhook_facts import webhook_facts
from generator.cluster.model import Cluster
from generator.pipeline.clusters import checked_cluster
from generator.render import bundle_objects as objects
from generator.render import flux
from generator.render.cluster_bundle import NODE_POLICIES_FILE, render_bundle
from generator.render.verify import nccl_objects, verify_objects
from tests.conftest import spec_text
from tests.helpers import make_cluster
from tests.render.test_golden import flux_spec

CAT = catalog.load()
AGENT_POOL = "kubernetes.azure.com/agentpool"
GPU_TAINT = {"key": "sku", "value": "gpu", "effect": "NoSchedule"}
GPU_TOLERATION = {"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}
POOLS = ("pools:\n- name: a100\n  devicePlugin: sriov\n"
         "- name: h100\n  vmSize: Standard_ND96isr_H100_v5\n  devicePlugin: shared\n"
         "  taints: [{key: sku, value: gpu, effect: NoSchedule}]\n"
         "  tolerations: [{key: sku, operator: Equal, value: gpu, effect: NoSchedule}]\n")
VERIFY = "verify:\n  enabled: true\n"


def cluster(extra: str = "", version: str = "v26.4.1", mode: str = "sriov") -> Cluster:
    return make_cluster(version=version, mode=mode, extra=extra + POOLS)


def by_name(objs: list[Any]) -> dict[str, Any]:
    return {o["metadata"]["name"]: o for o in objs}


def test_the_cluster_policy_keeps_only_the_cluster_wide_parts() -> None:
    policy = objects.nic_cluster_policy(cluster())
    assert set(policy["spec"]) == {"nodeAffinity", "tolerations", "docaTelemetryService"}
    assert policy["spec"]["tolerations"] == [GPU_TOLERATION]  # it runs on every pool


def test_one_node_policy_per_pool_on_its_agent_pool() -> None:
    c = cluster()
    policies = by_name(objects.nic_node_policies(c))
    assert list(policies) == ["rdma-a100", "rdma-h100"]
    a100, h100 = policies["rdma-a100"]["spec"], policies["rdma-h100"]["spec"]
    assert a100["nodeSelector"] == {AGENT_POOL: "a100"} and h100["nodeSelector"] == {AGENT_POOL: "h100"}
    assert set(a100) == {"nodeSelector", "ofedDriver", "sriovDevicePlugin"}
    assert set(h100) == {"nodeSelector", "tolerations", "ofedDriver", "rdmaSharedDevicePlugin"}
    assert h100["tolerations"] == [GPU_TOLERATION]
    for spec in (a100, h100):
        assert spec["ofedDriver"]["version"] == CAT.release("v26.4.1").doca_driver
        assert spec["ofedDriver"]["upgradePolicy"]["autoUpgrade"] is True
    # every name within the webhook's limit and the operator's derived ones (26 with sriovDevicePlugin)
    facts = webhook_facts("v26.4.1").node_policy
    assert facts is not None
    assert all(len(name) <= min([facts.name_max, *(d.name_max for d in facts.derived_names)]) for name in policies)


def test_a_pools_driver_and_upgrade_policy() -> None:
    c = make_cluster(version="v26.4.1", extra="pools:\n- name: a\n- name: canary\n  driver:\n"
                                              "    version: doca3.5.0-26.07-0.5.0.0-0\n"
                                              "    upgradePolicy: {maxParallelUpgrades: 2, drain: {force: false}}\n")
    a, canary = objects.nic_node_policies(c)
    assert a["spec"]["ofedDriver"]["version"] == CAT.release("v26.4.1").doca_driver
    driver = canary["spec"]["ofedDriver"]
    assert driver["version"] == "doca3.5.0-26.07-0.5.0.0-0"
    assert driver["upgradePolicy"] == {"autoUpgrade": True, "drain": {"deleteEmptyDir": True, "enable": True,
                                                                      "force": False, "timeoutSeconds": 300},
                                       "maxParallelUpgrades": 2}


def test_example_pods_per_pool_ask_for_the_pools_resources() -> None:
    pods = by_name(objects.example_pods(cluster()))
    a100, h100 = pods["ib-pod-a100"]["spec"], pods["ib-pod-h100"]["spec"]
    assert a100["nodeSelector"] == {AGENT_POOL: "a100"} and "tolerations" not in a100
    assert a100["containers"][0]["resources"]["limits"] == {"nvidia.com/gpu": 8, "rdma/ib": 8}
    assert h100["nodeSelector"] == {AGENT_POOL: "h100"} and h100["tolerations"] == [GPU_TOLERATION]
    assert h100["containers"][0]["resources"]["limits"] == {"nvidia.com/gpu": 8, "rdma/shared_ib": 1}


def test_in_ipoib_mode_the_shared_pools_attach_the_network() -> None:
    c = make_cluster(version="v26.4.1", mode="ipoib", extra="pools:\n- name: a\n- name: b\n  devicePlugin: sriov\n")
    pods = by_name(objects.example_pods(c))
    assert pods["ib-pod-a"]["metadata"]["annotations"] == {"k8s.v1.cni.cncf.io/networks": "aks-infiniband"}
    assert "annotations" not in pods["ib-pod-b"]["metadata"]
    policy = flux.mode_policy(c)
    assert {"secondaryNetwork", "nvIpam"} <= set(policy["spec"])
    assert not {"ofedDriver", "rdmaSharedDevicePlugin", "sriovDevicePlugin"} & set(policy["spec"])


def _env(job: dict[str, Any]) -> dict[str, str]:
    container = job["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", "") for e in container["env"]}


def test_a_verify_job_per_pool_for_its_size_and_plugin() -> None:
    jobs = {o["metadata"]["name"]: o for o in verify_objects(cluster(VERIFY)) if o["kind"] == "Job"}
    assert list(jobs) == ["rdma-verify-a100", "rdma-verify-h100"]
    a100, h100 = _env(jobs["rdma-verify-a100"]), _env(jobs["rdma-verify-h100"])
    assert (a100["VM_SIZE"], a100["HCAS"], a100["MODE"]) == ("Standard_ND96asr_v4", "8", "sriov")
    assert (h100["VM_SIZE"], h100["HCAS"], h100["MODE"]) == ("Standard_ND96isr_H100_v5", "8", "shared")
    assert a100["SERVER"] == "rdma-verify-a100-0.rdma-verify-a100.network-operator.svc"
    assert int(a100["FLOOR_GBPS"]) < int(h100["FLOOR_GBPS"])  # HDR against NDR
    spec = jobs["rdma-verify-h100"]["spec"]["template"]["spec"]
    [term] = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert {"key": AGENT_POOL, "operator": "In", "values": ["h100"]} in term["matchExpressions"]
    assert spec["tolerations"] == [GPU_TOLERATION]
    limits = spec["containers"][0]["resources"]["limits"]
    assert limits == {"rdma/shared_ib": "1"}
    assert jobs["rdma-verify-a100"]["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] == \
        {"rdma/ib": "8"}


def test_nccl_per_pool_of_a_size_with_nccl_settings() -> None:
    nccl = (VERIFY + "  image: ghcr.io/azure/aks-rdma-infiniband/ibtools@sha256:" + "a" * 64 + "\n"
            "  nccl:\n    enabled: true\n    image: ghcr.io/azure/aks-rdma-infiniband/nccl-tests@sha256:"
            + "b" * 64 + "\n")
    c = make_cluster(version="v26.4.1", extra=nccl + "pools:\n- name: a100\n- name: amd\n"
                                                     "  vmSize: Standard_ND96isr_MI300X_v5\n")
    names = [o["metadata"]["name"] for o in nccl_objects(c) if o["kind"] == "Job"]
    assert names == ["rdma-nccl-a100"]  # no NCCL on AMD GPUs


def test_the_bundle_layout_with_node_policies() -> None:
    bundle = render_bundle(cluster(VERIFY))
    assert NODE_POLICIES_FILE in bundle.files and "nicnodepolicies.yaml" in \
        bundle.objects["base/kustomization.yaml"][0]["resources"]
    # the device plugins are the pools': no mode overlay patches the NicClusterPolicy with one
    assert "overlays/sriov/sriov-device-plugin.yaml" not in bundle.files
    assert "overlays/shared/rdma-shared-device-plugin.yaml" not in bundle.files
    assert bundle.objects["overlays/sriov/kustomization.yaml"][0]["resources"] == ["../../base", "verify.yaml"]
    assert "helm/rdma-infiniband-values.yaml" not in bundle.files  # the chart carries no NicNodePolicy
    # the guide's SR-IOV prefix note goes with the SR-IOV config, in the policies' file now
    assert b"gen-lint: disable=webhook-resource-prefix" in bundle.files[NODE_POLICIES_FILE]
    waves = {o["kind"]: o["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]
             for o in [objects.nic_cluster_policy(cluster()), *objects.nic_node_policies(cluster())]}
    assert waves == {"NicClusterPolicy": "2", "NicNodePolicy": "3"}


def test_the_project_admits_node_policies_and_argocd_checks_their_health() -> None:
    bundle = render_bundle(cluster())
    project = bundle.objects["argocd/project.yaml"][0]
    assert {"group": "mellanox.com", "kind": "NicNodePolicy"} in project["spec"]["clusterResourceWhitelist"]
    health = bundle.objects["argocd/argocd-cm-health.yaml"][0]["data"]
    assert "resource.customizations.health.mellanox.com_NicNodePolicy" in health
    plain = render_bundle(make_cluster(version="v26.4.1"))
    assert {"group": "mellanox.com", "kind": "NicNodePolicy"} not in \
        plain.objects["argocd/project.yaml"][0]["spec"]["clusterResourceWhitelist"]


def flux_cluster(extra: str) -> Cluster:
    text = flux_spec(spec_text(version="v26.4.1", extra=extra))
    return checked_cluster(text.encode(), "clusters/prod.yaml", expected_name="prod")


def test_flux_applies_the_node_policies_after_the_cluster_policy() -> None:
    c = flux_cluster(VERIFY + POOLS)
    links = {link.step.name: link for link in flux.chain(c)}
    assert list(links) == ["operator", "policy", "pools", "verify"]
    assert links["pools"].depends_on == ("policy",) and links["verify"].depends_on == ("pools",)
    step = links["pools"].step
    assert [o["metadata"]["name"] for o in step.files["nicnodepolicies.yaml"]] == ["rdma-a100", "rdma-h100"]
    assert step.health == ("mellanox.com/v1alpha1/NicNodePolicy",)
    assert "sriovDevicePlugin" not in links["policy"].step.files["nicclusterpolicy.yaml"][0]["spec"]


def test_without_node_policies_there_is_no_pools_step() -> None:
    assert "pools" not in [link.step.name for link in flux.chain(flux_cluster(""))]


@pytest.mark.parametrize("version", ["v25.10.0", "v26.1.2"])
def test_before_v26_4_0_the_pools_share_the_cluster_policy(version: str) -> None:
    shared = POOLS.replace("  devicePlugin: sriov\n", "").replace("  devicePlugin: shared\n", "")
    c = make_cluster(version=version, extra=VERIFY + shared)
    assert not c.node_policies and objects.nic_node_policies(c) == []
    policy = flux.mode_policy(c)
    assert {"ofedDriver", "sriovDevicePlugin"} <= set(policy["spec"])
    assert policy["spec"]["tolerations"] == [GPU_TOLERATION]
    bundle = render_bundle(c)
    assert NODE_POLICIES_FILE not in bundle.files
    pods = by_name(bundle.objects["examples/pod.yaml"])
    assert pods["ib-pod-h100"]["spec"]["containers"][0]["resources"]["limits"]["rdma/ib"] == 8
    jobs = [o["metadata"]["name"] for o in bundle.objects["overlays/sriov/verify.yaml"] if o["kind"] == "Job"]
    assert jobs == ["rdma-verify-a100", "rdma-verify-h100"]


def test_the_schemas_pools_example_bundles_into_node_policies() -> None:
    """The example editors show for pools, put into a v26.4.1 spec, bundles into a NicNodePolicy per pool."""
    import json

    from generator.cluster.spec_schema import cluster_schema

    [example] = cluster_schema()["properties"]["pools"]["examples"]
    bundle = render_bundle(make_cluster(version="v26.4.1", extra="pools: " + json.dumps(example) + "\n"))
    policies = [o for o in bundle.objects[NODE_POLICIES_FILE] if o["kind"] == "NicNodePolicy"]
    assert len(policies) >= 2
    assert [p["spec"]["nodeSelector"][AGENT_POOL] for p in policies] == [pool["name"] for pool in example]


def test_a_pool_takes_the_clusters_gpu_settings() -> None:
    """GPUDirect RDMA (the cluster's gpu) reaches each pool's checks: the GPU-memory floor, the pool's GPUs."""
    from tests.render.test_verify import CUDA_PERFTEST

    c = cluster(VERIFY + f"  image: {CUDA_PERFTEST}\ngpu:\n  driver: aks\n  rdma: dmabuf\n")
    assert c.gpu is not None
    assert all(c.pool_view(pool).gpu == c.gpu for pool in c.pools)
    jobs = {o["metadata"]["name"]: o for o in verify_objects(c) if o["kind"] == "Job"}
    env = _env(jobs["rdma-verify-h100"])
    assert (env["GPU_MEMORY"], env["GPUS"]) == ("dmabuf", "8")
