"""GPU Operator steps of ``gen upgrade`` (``--gpu-to``), and what a network-operator step does to the GPUDirect pair.

A GPU Operator step moves ``gpu.operator.version`` to the next release gen can deploy. It says what changes in the
chart values the cluster sets (retired, new, defaults moved: the GPU Operator's chart facts), in the CRDs (the lock's
digests), and in the ClusterPolicy the operator deploys from, component by component: a new GPU driver, or a change of
the RDMA path or kernel module flavour, reinstalls the driver on every GPU node, which the operator does node by node,
evicting the node's GPU pods (and draining it where ``driver.upgradePolicy.drain.enable``). Pure: from the clusters
before and after, as the caller built them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generator.catalog.charts import lookup
from generator.catalog.gpu import GpuRelease, load_gpu
from generator.cluster.model import Cluster
from generator.core.finding import Finding
from generator.render.gpu import cluster_policy, facts_of, gpu_values, operator_of
from generator.sources.schema_store import GPU_OPERATOR, SchemaStore
from generator.upgrade.schema_changes import CrdChange
from generator.upgrade.values_changes import ValueChange, set_keys, value_changes

# ClusterPolicy fields whose change makes the operator reinstall the driver on every node
DRIVER_FIELDS = ("driver.version", "driver.repository", "driver.image", "driver.kernelModuleType",
                 "driver.rdma.enabled", "driver.rdma.useHostMofed", "driver.usePrecompiled",
                 "driver.manager.repository", "driver.manager.image", "driver.manager.version")


@dataclass(frozen=True)
class OperandChange:
    component: str  # ClusterPolicy spec path: driver, toolkit, devicePlugin, ...
    change: str
    effect: str


@dataclass(frozen=True)
class GpuStep:
    source: Cluster
    target: Cluster
    values: list[ValueChange]
    crds: list[CrdChange]
    operands: list[OperandChange]
    notes: list[str]  # known issues, Kubernetes, the GPUDirect pair
    errors: list[Finding]


def _release(cluster: Cluster) -> GpuRelease:
    operator = operator_of(cluster)
    assert operator is not None
    return operator.release


def _set_keys(cluster: Cluster) -> list[str]:
    operator = operator_of(cluster)
    assert operator is not None
    return set_keys(gpu_values(cluster), facts_of(operator).chart)


def _image(section: Any) -> str:
    if not isinstance(section, dict):
        return ""
    return f"{section.get('repository', '')}/{section.get('image', '')}:{section.get('version', '')}"


def driver_effect(policy: dict[str, Any]) -> str:
    """How the operator rolls a driver change over the GPU nodes, from the ClusterPolicy's driver.upgradePolicy."""
    upgrade = lookup(policy, "spec.driver.upgradePolicy") or {}
    if not upgrade.get("autoUpgrade"):
        return ("driver.upgradePolicy.autoUpgrade is off: the driver DaemonSet waits (OnDelete); drain each GPU node, "
                "then delete its nvidia-driver-daemonset pod")
    parallel = upgrade.get("maxParallelUpgrades", 1)
    at_a_time = "all nodes at once" if parallel == 0 else f"{parallel} node(s) at a time"
    drain = upgrade.get("drain") or {}
    how = ("each node is drained first" if drain.get("enable") else
           "each node's GPU pods are evicted (no full drain: driver.upgradePolicy.drain.enable is false)")
    return (f"the GPU driver is reinstalled on every GPU node, {at_a_time} (driver.upgradePolicy."
            f"maxParallelUpgrades: {parallel}); {how}, the modules reload, and GPU workloads there restart: plan it "
            "as a drain of the GPU pool")


def operand_changes(old: Cluster, new: Cluster) -> list[OperandChange]:
    before, after = cluster_policy(old), cluster_policy(new)
    out: list[OperandChange] = []
    driver = [f for f in DRIVER_FIELDS if lookup(before, f"spec.{f}") != lookup(after, f"spec.{f}")]
    if driver:
        detail = "; ".join(f"{f} {lookup(before, 'spec.' + f)} -> {lookup(after, 'spec.' + f)}" for f in driver)
        out.append(OperandChange("driver", detail, driver_effect(after)))
    # the operands the new ClusterPolicy turns on (those the driver's rollout restarts anyway aside)
    on = {o.component for o in facts_of(_operator(new)).operands
          if not o.enabled_by or lookup(after, f"spec.{o.enabled_by}") is True}
    components = sorted(on - {"driver", "driver.manager"})
    for component in components:
        was, now = _image(lookup(before, f"spec.{component}")), _image(lookup(after, f"spec.{component}"))
        if was and now and was != now:
            out.append(OperandChange(component, f"image {was} -> {now}",
                                     "its pods restart on every GPU node (a rolling update); no driver reload"))
    return out


def _operator(cluster: Cluster) -> Any:
    operator = operator_of(cluster)
    assert operator is not None
    return operator


def gpu_crd_changes(store: SchemaStore, old_tag: str, new_tag: str) -> list[CrdChange]:
    out = []
    before = {f.path.rsplit("/", 1)[1]: f.sha256 for f in store.lock.release(GPU_OPERATOR, old_tag, "crds")}
    after = {f.path.rsplit("/", 1)[1]: f.sha256 for f in store.lock.release(GPU_OPERATOR, new_tag, "crds")}
    for name in sorted(set(before) | set(after)):
        change = "removed" if name not in after else "added" if name not in before else \
            "changed" if before[name] != after[name] else ""
        if change:
            out.append(CrdChange(name, change, "the chart"))
    return out


def pair_note(cluster: Cluster) -> str:
    """Whether NVIDIA validated the cluster's GPU Operator with its Network Operator release ("" when it did)."""
    operator = operator_of(cluster)
    if operator is None or operator.release.validated_with(cluster.release.tag):
        return ""
    return (f"GPU Operator {operator.release.tag} is not validated by NVIDIA for GPUDirect RDMA with network-operator "
            f"{cluster.release.tag} (validated: Network Operator {operator.release.validated_text()})")


def gpu_notes(cluster: Cluster) -> list[str]:
    assert cluster.gpu is not None
    release = _release(cluster)
    gpu = load_gpu()
    notes = [f"known issue of {release.tag}: {i.summary}; {i.fix}" for i in gpu.issues(release, cluster.gpu.peermem)]
    if not release.supports_kubernetes(cluster.kubernetes.version):
        notes.append(f"{release.tag} supports Kubernetes {release.kubernetes_range}, not {cluster.kubernetes.version}")
    pair = pair_note(cluster)
    return [*notes, pair] if pair else notes


def gpu_step(old: Cluster, new: Cluster, errors: list[Finding], store: SchemaStore) -> GpuStep:
    keys = sorted(set(_set_keys(old)) | set(_set_keys(new)))
    old_facts, new_facts = facts_of(_operator(old)).chart, facts_of(_operator(new)).chart
    return GpuStep(old, new, value_changes(keys, old_facts, new_facts),
                   gpu_crd_changes(store, _release(old).tag, _release(new).tag), operand_changes(old, new),
                   gpu_notes(new), errors)


def network_step_note(old: Cluster, new: Cluster) -> str:
    """For a network-operator step of a GPU Operator cluster: a warning when the step leaves NVIDIA's validated
    GPUDirect pairs ("" otherwise)."""
    operator = operator_of(new)
    if operator is None:
        return ""
    was, now = operator.release.validated_with(old.release.tag), operator.release.validated_with(new.release.tag)
    if now:
        return ""
    validating = [r.tag for r in load_gpu().validating(new.release.tag)]
    also = (f"; GPU Operator {', '.join(validating)} {'is' if len(validating) == 1 else 'are'} validated with it"
            if validating else "; NVIDIA names no GPU Operator release for that line")
    leaves = "leaves NVIDIA's validated GPUDirect RDMA pairs" if was else "stays outside NVIDIA's validated pairs"
    return (f"this step {leaves}: GPU Operator {operator.release.tag} is validated with Network Operator "
            f"{operator.release.validated_text()}, not {new.release.tag}{also}")


@dataclass
class GpuPlan:
    cluster: str
    spec_file: str
    steps: list[GpuStep]

    @property
    def errors(self) -> int:
        return sum(len(step.errors) for step in self.steps)

    @property
    def refused(self) -> list[ValueChange]:
        """Retired values with nothing in their place: a human decides (as for the network-operator chart)."""
        return [v for step in self.steps for v in step.values if v.change == "retired"]
