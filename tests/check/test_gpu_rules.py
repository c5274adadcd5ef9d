"""The GPUDirect rules (generator.check.gpu) on objects, as gen lint and gen bundle find them: each with a failing and a
passing case (gen lint's manifests: tests/check/cases; gen bundle's: tests/cli/test_gpu_operator.py)."""

from __future__ import annotations

from typing import Any

import pytest

from generator.check.gpu import check_gpu
from generator.core.finding import Finding


def app(chart: str, version: str, values: dict[str, Any] | None = None, name: str = "") -> dict[str, Any]:
    source: dict[str, Any] = {"repoURL": "https://helm.ngc.nvidia.com/nvidia", "chart": chart,
                              "targetRevision": version}
    if values is not None:
        source["helm"] = {"valuesObject": values}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": name or chart},
            "spec": {"sources": [source]}}


def release(chart: str, version: str, values: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "metadata": {"name": chart},
            "spec": {"chart": {"spec": {"chart": chart, "version": version}}, "values": values}}


NCP = {"apiVersion": "mellanox.com/v1alpha1", "kind": "NicClusterPolicy", "metadata": {"name": "nic-cluster-policy"},
       "spec": {"ofedDriver": {"repository": "nvcr.io/nvidia/mellanox", "image": "doca-driver", "version": "x"},
                "tolerations": [{"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]}}
GOOD = {"nfd": {"enabled": False}, "driver": {"rdma": {"enabled": False}},
        "daemonsets": {"tolerations": [{"key": "sku", "operator": "Exists", "effect": "NoSchedule"}]}}
RELOADER = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "peermem", "namespace": "gpu"},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox",
                                                           "command": ["sh", "-c", "modprobe nvidia-peermem"]}]}}}}


def run(*objs: dict[str, Any], **kwargs: Any) -> list[Finding]:
    members = list(enumerate(objs))
    return check_gpu(members, members, **kwargs)


def rules(found: list[Finding]) -> list[tuple[str, str, str]]:
    return sorted((f.rule, f.severity, ".".join(map(str, f.path))) for f in found)


def test_a_validated_clean_pair_passes() -> None:
    assert run(app("gpu-operator", "v26.3.3", GOOD), app("network-operator", "26.1.2"), NCP) == []
    assert run(release("gpu-operator", "v26.7.0", GOOD), release("network-operator", "26.1.2", {}), NCP) == []


def test_two_nfd_instances() -> None:
    found = rules(run(app("gpu-operator", "v26.3.3", {"driver": {"rdma": {"enabled": False}}}),
                      app("network-operator", "26.1.2")))
    assert ("gpu-nfd-twice", "error", "spec.sources.0") in found  # the chart's default nfd.enabled: true
    off = app("network-operator", "26.1.2", {"nfd": {"enabled": False}})
    assert not [f for f in run(app("gpu-operator", "v26.3.3", {}), off) if f.rule == "gpu-nfd-twice"]
    # a NicClusterPolicy alone: the network operator's chart is not in view (a warning)
    assert ("gpu-nfd-twice", "warning", "spec.sources.0") in rules(run(app("gpu-operator", "v26.3.3", {}), NCP))


def test_host_mofed_with_the_containerized_doca_driver() -> None:
    values = {**GOOD, "driver": {"rdma": {"enabled": True, "useHostMofed": True}}}
    found = rules(run(release("gpu-operator", "v26.3.3", values), NCP))
    assert ("gpu-host-mofed", "error", "spec.values.driver.rdma.useHostMofed") in found
    inert = {**GOOD, "driver": {"rdma": {"enabled": False, "useHostMofed": True}}}
    assert ("gpu-host-mofed", "warning", "spec.values.driver.rdma.useHostMofed") in rules(
        run(release("gpu-operator", "v26.3.3", inert)))
    without = {**GOOD, "driver": {"rdma": {"enabled": True, "useHostMofed": False}}}
    assert not [f for f in run(release("gpu-operator", "v26.3.3", without), NCP) if f.rule == "gpu-host-mofed"]


@pytest.mark.parametrize(("version", "peermem", "expected"), [
    ("v26.3.1", False, [("gpu-release-defect", "error")]),
    ("26.3.2", True, [("gpu-release-defect", "error"), ("gpu-release-defect", "warning")]),
    ("v26.3.3", True, [("gpu-release-defect", "warning")]),
    ("v26.3.3", False, []),
    ("v25.10.1", True, []),
])
def test_releases_with_a_known_defect(version: str, peermem: bool, expected: list[tuple[str, str]]) -> None:
    values = {**GOOD, "driver": {"rdma": {"enabled": peermem}}}
    found = [f for f in run(app("gpu-operator", version, values)) if f.rule == "gpu-release-defect"]
    assert sorted((f.rule, f.severity) for f in found) == expected
    assert all(f.path == ("spec", "sources", 0, "targetRevision") for f in found)
    if expected and expected[0][1] == "error":
        assert "use v26.3.3 or later" in found[0].message


def test_a_pair_nvidia_has_not_validated_is_a_warning_naming_the_validated_ones() -> None:
    [found] = [f for f in run(app("gpu-operator", "v26.3.3", GOOD), app("network-operator", "26.4.1"), NCP)
               if f.rule == "gpu-network-pair"]
    assert found.severity == "warning" and "26.1.0, 25.10.0, 25.7.0" in found.message and "v26.4.1" in found.message
    # gen bundle names the cluster's release where no chart source does (rendered delivery)
    assert [f.rule for f in run(app("gpu-operator", "v26.3.3", GOOD), NCP, network_release="v26.4.1")] == \
        ["gpu-network-pair"]
    assert run(app("gpu-operator", "v26.3.3", GOOD), NCP, network_release="v25.10.0") == []


def test_both_drivers_on_one_pool() -> None:
    found = rules(run(RELOADER, app("gpu-operator", "v26.3.3", GOOD)))
    assert ("gpu-driver-owner", "error", "metadata.name") in found
    aks_driver = {**GOOD, "driver": {"enabled": False, "rdma": {"enabled": False}}, "toolkit": {"enabled": False}}
    assert run(RELOADER, app("gpu-operator", "v26.3.3", aks_driver)) == []  # NVIDIA's AKS setup: no driver, no toolkit
    half = {**GOOD, "driver": {"enabled": False}}
    assert ("gpu-driver-owner", "error", "spec.sources.0.helm.valuesObject.driver.enabled") in rules(
        run(app("gpu-operator", "v26.3.3", half)))
    no_toolkit = {**GOOD, "toolkit": {"enabled": False}}
    assert ("gpu-driver-owner", "error", "spec.sources.0.helm.valuesObject.toolkit.enabled") in rules(
        run(app("gpu-operator", "v26.3.3", no_toolkit)))


def test_a_pool_taint_the_operands_do_not_tolerate() -> None:
    default = {"nfd": {"enabled": False}}  # daemonsets.tolerations: the chart's nvidia.com/gpu only
    taint = ({"key": "sku", "value": "gpu", "effect": "NoSchedule"},)
    found = rules(run(app("gpu-operator", "v26.3.3", default), taints=taint, spec_file="clusters/prod.yaml"))
    assert ("gpu-pool-taints", "error", "spec.sources.0") in found
    assert run(app("gpu-operator", "v26.3.3", GOOD), taints=taint) == []
    # gen lint: the NicClusterPolicy's tolerations stand for the pool's taints (a warning)
    assert ("gpu-pool-taints", "warning", "spec.sources.0") in rules(run(app("gpu-operator", "v26.3.3", default), NCP))
    policy = {"apiVersion": "nvidia.com/v1", "kind": "ClusterPolicy", "metadata": {"name": "cluster-policy"},
              "spec": {"daemonsets": {"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}]}}}
    assert ("gpu-pool-taints", "warning", "spec.daemonsets.tolerations") in rules(run(policy, NCP))


def test_helm_values_text_is_read_bounded() -> None:
    """An Application's ``helm.values`` text is hostile input: an alias bomb is not expanded, and reads as no values."""
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(9)) + "nfd: {enabled: false}\n"
    source = app("gpu-operator", "v26.3.3")
    source["spec"]["sources"][0]["helm"] = {"values": bomb}
    found = run(source, app("network-operator", "26.1.2"))
    assert [f.rule for f in found] == ["gpu-nfd-twice"]  # the values were refused: the chart's default nfd.enabled
    plain = app("gpu-operator", "v26.3.3")
    plain["spec"]["sources"][0]["helm"] = {"values": "nfd:\n  enabled: false\n"}
    assert run(plain, app("network-operator", "26.1.2")) == []


@pytest.mark.parametrize("tag", ["v25.3.4", "v25.10.1", "v26.3.3", "v26.7.0"])
def test_the_aks_render_s_operands_miss_a_tainted_pool_and_gen_s_values_do_not(tag: str) -> None:
    """chart-rendered-aks.yaml (Azure's values) renders no DaemonSet of its own (NFD off) and a ClusterPolicy whose
    operand DaemonSets tolerate only nvidia.com/gpu: on a pool tainted sku=gpu (AKS's usual GPU taint) they would never
    run. The ClusterPolicy of gen's values (the chart facts, which give the AKS render exactly) tolerates it."""
    import yaml

    from generator.check.chart_objects import check_taints
    from generator.render.gpu import cluster_policy
    from tests.conftest import UPSTREAM
    from tests.helpers import make_cluster

    taint = ({"key": "sku", "value": "gpu", "effect": "NoSchedule"},)
    text = (UPSTREAM / "gpu-operator" / tag / "chart-rendered-aks.yaml").read_text()
    rendered = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
    assert not [o for o in rendered if o["kind"] == "DaemonSet"]
    members = list(enumerate(rendered))
    assert check_taints(members, taint, "clusters/prod.yaml") == []  # nothing of the chart itself on the pool
    [found] = check_gpu(members, members, taints=taint, spec_file="clusters/prod.yaml")
    assert (found.rule, found.severity, found.path) == ("gpu-pool-taints", "error", ("spec", "daemonsets",
                                                                                    "tolerations"))
    cluster = make_cluster(version="v26.1.2", vm_size="Standard_ND96isr_H100_v5", extra=(
        "tolerations:\n- {key: sku, operator: Equal, value: gpu, effect: NoSchedule}\n"
        f"gpu: {{driver: operator, operator: {{version: {tag}}}}}\n"))
    ours = [(0, cluster_policy(cluster))]
    assert check_gpu(ours, ours, taints=taint) == []
