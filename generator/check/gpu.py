"""GPUDirect RDMA rules: the GPU Operator (or the AKS-managed driver with the nvidia-peermem reloader) beside the
Network Operator, as ``gen lint`` finds them in manifests and ``gen bundle`` in what it generates.

A GPU Operator is found as an Argo CD Application Helm source or a Flux HelmRelease of the ``gpu-operator`` chart (its
values: Argo CD merges ``helm.values`` then ``helm.valuesObject``), or as a ClusterPolicy (``nvidia.com``); the Network
Operator as a NicClusterPolicy (a DOCA driver in a container: ``spec.ofedDriver``) and as a ``network-operator`` chart
source (which runs NFD unless ``nfd.enabled: false``). A value a source does not set is the chart's default (the GPU
Operator's chart facts of that release, else of the newest release gen knows).

The rules: two NFD instances; ``useHostMofed`` with the containerized DOCA driver; a release with a known GPUDirect
defect; a pair NVIDIA has not validated; the AKS-managed and the GPU Operator's drivers both on one pool (or the
operator's driver without its toolkit, and the reverse); a taint of the GPU pool the operator's DaemonSets do not
tolerate (``gen bundle``: the spec's ``taints``; ``gen lint``: what the NicClusterPolicy tolerates, the InfiniBand
pool's taints).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from generator import catalog
from generator.catalog.charts import lookup
from generator.catalog.gpu import GpuChartFacts, gpu_chart_facts, load_gpu
from generator.check.chart_objects import taint_text, untolerated
from generator.core.finding import Finding
from generator.core.objects import Path, as_dict, as_list, as_str, containers, group_kind, name_of, pod_templates
from generator.core.rules import define
from generator.yamlio.load import YamlInputError, load_documents

GPU_NFD_TWICE = define(
    "gpu-nfd-twice", "error",
    "the GPU Operator deploys NFD (nfd.enabled, its chart's default) while the Network Operator runs one: two NFD "
    "instances label the same nodes (set nfd.enabled: false in the GPU Operator's values)",
    "cross")
GPU_HOST_MOFED = define(
    "gpu-host-mofed", "error",
    "the GPU Operator's driver.rdma.useHostMofed is true while the Network Operator deploys the DOCA driver in a "
    "container (NicClusterPolicy ofedDriver); without driver.rdma.enabled it does nothing (a warning)",
    "cross")
GPU_RELEASE_DEFECT = define(
    "gpu-release-defect", "error",
    "a GPU Operator release with a known GPUDirect RDMA defect (26.3.0 to 26.3.2 inject every ibverbs device into GPU "
    "containers); a warning where a workaround exists (the nvidia-peermem restart issue from 26.3.0)",
    "cross")
GPU_NETWORK_PAIR = define(
    "gpu-network-pair", "warning",
    "a GPU Operator / Network Operator pair NVIDIA has not validated for GPUDirect RDMA (the message names the "
    "validated pairs)",
    "cross")
GPU_DRIVER_OWNER = define(
    "gpu-driver-owner", "error",
    "the AKS-managed GPU driver and the GPU Operator's driver are both asked for on one pool (the nvidia-peermem "
    "reloader beside a GPU Operator that installs the driver), or the GPU Operator's driver without its container "
    "toolkit, or its toolkit over the AKS-managed driver",
    "cross")
GPU_POOL_TAINTS = define(
    "gpu-pool-taints", "warning",
    "the GPU Operator's DaemonSets (ClusterPolicy daemonsets.tolerations) do not tolerate a taint the NicClusterPolicy "
    "tolerates (the InfiniBand pool's); an error in gen bundle, where the spec's taints name the pool's",
    "cross")

MAX_VALUES_BYTES = 1024 * 1024  # an Application's helm.values text
MAX_VALUES_NODES = 100_000
GPU_CHART = "gpu-operator"
NETWORK_CHART = "network-operator"
RELOADER_MODULE = "nvidia-peermem"


@dataclass
class Install:
    """A GPU Operator or Network Operator found in an object: its values (chart values form) and where they are."""

    index: int
    values: dict[str, Any]
    given: Path  # where the values are written (valuesObject / values / spec)
    anchor: Path  # what a finding about a default points at (the Helm source, the release)
    version: str  # as the object names it ("" when it does not)
    version_path: Path
    policy: bool = False  # a ClusterPolicy: its spec, not chart values

    def path(self, key: str) -> Path:
        """Where ``key`` is set, else the anchor."""
        return (*self.given, *key.split(".")) if lookup(self.values, key) is not None else self.anchor


def _helm_values(helm: dict[str, Any]) -> tuple[dict[str, Any], Path]:
    """Argo CD's merge of a Helm source's values: ``values`` (YAML text), then ``valuesObject``; and the field that
    holds them (valuesObject where it is a map)."""
    values: dict[str, Any] = {}
    text = helm.get("values")
    if isinstance(text, str) and text.strip():
        try:  # hostile input: bounded (size, aliases expanded, depth), as every YAML gen reads
            docs = load_documents(text.encode("utf-8"), "helm.values", max_bytes=MAX_VALUES_BYTES,
                                  max_nodes=MAX_VALUES_NODES, positions=False)
        except (YamlInputError, UnicodeEncodeError):
            docs = []
        values = docs[0].value if len(docs) == 1 and isinstance(docs[0].value, dict) else {}
    where: Path = ("helm", "values")
    obj = helm.get("valuesObject")
    if isinstance(obj, dict):
        values = _merge(values, obj)
        where = ("helm", "valuesObject")
    return values, where


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(out.get(key), dict) and isinstance(value, dict) else value
    return out


def _chart_installs(index: int, obj: dict[str, Any], chart: str) -> Iterator[Install]:
    group, kind = group_kind(obj)
    spec = as_dict(obj.get("spec"))
    if group == "argoproj.io" and kind == "Application":
        sources: list[tuple[Path, Any]] = [(("spec", "sources", i), s)
                                           for i, s in enumerate(as_list(spec.get("sources")))]
        if isinstance(spec.get("source"), dict):
            sources.append((("spec", "source"), spec["source"]))
        for base, source in sources:
            source = as_dict(source)
            if as_str(source.get("chart")) != chart:
                continue
            values, where = _helm_values(as_dict(source.get("helm")))
            yield Install(index, values, (*base, *where), base, as_str(source.get("targetRevision")),
                          (*base, "targetRevision"))
    elif group == "helm.toolkit.fluxcd.io" and kind == "HelmRelease":
        chart_spec = as_dict(as_dict(spec.get("chart")).get("spec"))
        if as_str(chart_spec.get("chart")) == chart:
            yield Install(index, as_dict(spec.get("values")), ("spec", "values"), ("spec", "chart"),
                          as_str(chart_spec.get("version")), ("spec", "chart", "spec", "version"))


def _is_cluster_policy(obj: dict[str, Any]) -> bool:
    return group_kind(obj) == ("nvidia.com", "ClusterPolicy")


def gpu_installs(members: list[tuple[int, dict[str, Any]]]) -> list[Install]:
    out: list[Install] = []
    for index, obj in members:
        out += _chart_installs(index, obj, GPU_CHART)
        if _is_cluster_policy(obj):
            out.append(Install(index, as_dict(obj.get("spec")), ("spec",), ("spec",), "", (), policy=True))
    return out


def _facts(version: str) -> GpuChartFacts:
    """The chart facts of the release a source names, else of the newest release gen knows."""
    gpu = load_gpu()
    release = gpu.release_of_chart(version) if version else None
    tag = release.tag if release is not None and release.charted else gpu.charted_tags[-1]
    return gpu_chart_facts(tag)


def _value(install: Install, key: str) -> Any:
    """A value the GPU Operator runs with: the install's, else its chart's (or the ClusterPolicy's) default."""
    found = lookup(install.values, key)
    if found is not None:
        return found
    facts = _facts(install.version)
    if install.policy:
        where = facts.policy_values.get(key)
        return lookup(facts.policy_spec, where.path) if where else None
    return facts.chart.values.get(key, lookup(facts.policy_spec, key))


@dataclass
class Network:
    """What the Network Operator side of the checked objects says."""

    policies: list[tuple[int, dict[str, Any]]]  # NicClusterPolicies
    charts: list[Install]  # network-operator chart sources
    reloaders: list[tuple[int, Path]]  # DaemonSets that modprobe nvidia-peermem (the AKS-managed driver's reloader)


def _network(context: list[tuple[int, dict[str, Any]]]) -> Network:
    net = Network([], [], [])
    for index, obj in context:
        if group_kind(obj) == ("mellanox.com", "NicClusterPolicy"):
            net.policies.append((index, obj))
        net.charts += _chart_installs(index, obj, NETWORK_CHART)
        if group_kind(obj) == ("apps", "DaemonSet") and _runs_reloader(obj):
            net.reloaders.append((index, ("metadata", "name")))
    return net


def _runs_reloader(obj: dict[str, Any]) -> bool:
    for _tpath, template in pod_templates(obj):
        for _cpath, container in containers(template):
            words = [*as_list(container.get("command")), *as_list(container.get("args"))]
            if any(isinstance(w, str) and "modprobe" in w and RELOADER_MODULE in w for w in words):
                return True
    return name_of(obj) == "nvidia-peermem-reloader"


def check_gpu(members: list[tuple[int, dict[str, Any]]], context: list[tuple[int, dict[str, Any]]],
              network_release: str = "", taints: tuple[dict[str, Any], ...] | None = None,
              spec_file: str = "") -> list[Finding]:
    """The GPUDirect rules on ``members`` (findings point at them), with what ``context`` holds beside them.
    ``network_release``: the Network Operator release where no chart source names one (``gen bundle``: the
    cluster's); ``taints``: the GPU pool's taints (``gen bundle``: the spec's; None: inferred from the
    NicClusterPolicy's tolerations)."""
    installs = gpu_installs(members)
    network = _network(context)
    mine = {index for index, _ in members}
    out: list[Finding] = []
    for install in installs:
        out += _nfd_twice(install, network)
        out += _host_mofed(install, network)
        out += _driver_owner(install, network, mine)
        out += _defect(install)
        out += _pair(install, network, network_release)
        out += _taints(install, network, taints, spec_file)
    return out


def _nfd_twice(install: Install, network: Network) -> list[Finding]:
    if install.policy or not _value(install, "nfd.enabled"):
        return []
    running = [n for n in network.charts if lookup(n.values, "nfd.enabled") is not False]
    if running:
        return [GPU_NFD_TWICE.at(install.path("nfd.enabled"), "the GPU Operator deploys its own NFD (nfd.enabled is "
                                 f"{'true' if lookup(install.values, 'nfd.enabled') else 'true by default'}) and the "
                                 "Network Operator runs one: two NFD instances label the same nodes "
                                 "(Mellanox/network-operator#1212); set nfd.enabled: false in the GPU Operator's "
                                 "values", install.index)]
    if network.policies:
        return [GPU_NFD_TWICE.at(install.path("nfd.enabled"), "the GPU Operator deploys its own NFD (nfd.enabled) "
                                 "beside a NicClusterPolicy, whose operator's chart runs NFD unless told not to: set "
                                 "nfd.enabled: false in the GPU Operator's values (Azure's guide does)", install.index,
                                 "warning")]
    return []


def _host_mofed(install: Install, network: Network) -> list[Finding]:
    if lookup(install.values, "driver.rdma.useHostMofed") is not True:
        return []
    path = install.path("driver.rdma.useHostMofed")
    if _value(install, "driver.rdma.enabled") is not True:
        return [GPU_HOST_MOFED.at(path, "driver.rdma.useHostMofed does nothing without driver.rdma.enabled: true (the "
                                  "operator reads it only with RDMA enabled, GPUDirectRDMASpec.IsHostMOFED); remove it",
                                  install.index, "warning")]
    containerized = [i for i, policy in network.policies if as_dict(as_dict(policy.get("spec")).get("ofedDriver"))]
    if not containerized:
        return []
    return [GPU_HOST_MOFED.at(path, "driver.rdma.useHostMofed: true tells the GPU driver the network driver is "
                              "installed on the host, but the NicClusterPolicy deploys the DOCA driver in a container "
                              "(ofedDriver): the driver pod then builds nvidia-peermem against the host's inbox "
                              "ib_core (modprobe nvidia-peermem: Invalid argument) instead of waiting for "
                              "/run/mellanox/drivers; set it to false (or remove it)", install.index)]


def _driver_owner(install: Install, network: Network, mine: set[int]) -> list[Finding]:
    out: list[Finding] = []
    driver, toolkit = _value(install, "driver.enabled"), _value(install, "toolkit.enabled")
    if driver is not False and toolkit is False:
        out.append(GPU_DRIVER_OWNER.at(install.path("toolkit.enabled"), "the GPU Operator installs the driver "
                                       "(driver.enabled) but not its container toolkit (toolkit.enabled: false): on a "
                                       "pool made with --gpu-driver none nothing configures the nvidia runtime (pods "
                                       "fail with 'no runtime for \"nvidia\" is configured'); turn the toolkit on",
                                       install.index))
    if driver is False and toolkit is not False:
        out.append(GPU_DRIVER_OWNER.at(install.path("driver.enabled"), "driver.enabled: false means the pool's driver "
                                       "is AKS's, but the GPU Operator's container toolkit (toolkit.enabled) then "
                                       "replaces AKS's containerd configuration, which uninstalling it cannot restore "
                                       "(Azure's GPU drivers guide): set toolkit.enabled: false with it, or let the "
                                       "operator install the driver on a pool made with --gpu-driver none",
                                       install.index))
    if driver is not False:
        for index, path in network.reloaders:  # pointed at where it is, when it is among the objects checked
            here = index in mine
            out.append(GPU_DRIVER_OWNER.at(path if here else install.path("driver.enabled"),
                                           "the nvidia-peermem reloader is for the AKS-managed GPU driver, and the GPU "
                                           "Operator installs its own (driver.enabled): a pool has one or the other, "
                                           "never both (AKS-managed drivers and the GPU Operator's are mutually "
                                           "exclusive); drop the reloader, or the GPU Operator's driver",
                                           index if here else install.index))
    return out


def _defect(install: Install) -> list[Finding]:
    if not install.version:
        return []
    gpu = load_gpu()
    release = gpu.release_of_chart(install.version)
    if release is None:
        return []
    peermem = _value(install, "driver.rdma.enabled") is True
    return [GPU_RELEASE_DEFECT.at(install.version_path, f"GPU Operator {release.tag}: {issue.summary}; {issue.fix} "
                                  f"({issue.source})", install.index,
                                  "error" if issue.severity == "error" else "warning")
            for issue in gpu.issues(release, peermem)]


def _network_tag(text: str) -> str:
    tag = text if text.startswith("v") else f"v{text}"
    try:
        catalog.minor_key(tag)
    except ValueError:
        return ""
    return tag


def _pair(install: Install, network: Network, network_release: str) -> list[Finding]:
    gpu = load_gpu()
    release = gpu.release_of_chart(install.version) if install.version else None
    if release is None:
        return []
    tags = {_network_tag(n.version) for n in network.charts if n.version} or ({network_release} - {""})
    out = []
    for tag in sorted(t for t in tags if t):
        if release.validated_with(tag):
            continue
        others = [r.tag for r in gpu.validating(tag)]
        also = (f"; GPU Operator releases validated with the {catalog.minor(tag)} line: {', '.join(others)}" if others
                else f"; NVIDIA names no GPU Operator release for the {catalog.minor(tag)} line")
        out.append(GPU_NETWORK_PAIR.at(install.version_path, f"NVIDIA validated GPUDirect RDMA with GPU Operator "
                                       f"{release.tag} for Network Operator {release.validated_text()} only, not "
                                       f"{tag}{also} (Azure's guide itself runs GPU Operator v26.3.3 with Network "
                                       "Operator v26.4.0); test GPUDirect bandwidth before relying on it",
                                       install.index))
    return out


def _implied_taints(network: Network) -> list[dict[str, Any]]:
    """The taints the NicClusterPolicies tolerate by key (an Exists toleration stands for a taint of any value)."""
    out = []
    for _index, policy in network.policies:
        for tol in as_list(as_dict(policy.get("spec")).get("tolerations")):
            tol = as_dict(tol)
            if as_str(tol.get("key")) and as_str(tol.get("effect")) in ("NoSchedule", "NoExecute"):
                out.append({"key": tol["key"], "value": as_str(tol.get("value")), "effect": tol["effect"],
                            "any": as_str(tol.get("operator")) == "Exists"})
    return out


def _taints(install: Install, network: Network, taints: tuple[dict[str, Any], ...] | None,
            spec_file: str) -> list[Finding]:
    tolerations = as_list(_value(install, "daemonsets.tolerations"))
    if taints is not None:
        return [GPU_POOL_TAINTS.at(install.path("daemonsets.tolerations"), f"the GPU Operator's DaemonSets (driver, "
                                   f"toolkit, device plugin, ...) do not tolerate the pool's taint {taint_text(t)}, so "
                                   f"they never run on its nodes; add a matching toleration to tolerations: in "
                                   f"{spec_file} (gen adds them to daemonsets.tolerations)", install.index, "error")
                for t in untolerated(tolerations, taints)]
    out = []
    for implied in _implied_taints(network):
        taint = {k: v for k, v in implied.items() if k != "any"}
        covered = untolerated(tolerations, (taint,)) == [] and (
            not implied["any"] or any(as_str(as_dict(t).get("operator")) == "Exists" and
                                      as_str(as_dict(t).get("key")) in ("", taint["key"]) for t in tolerations))
        if not covered:
            out.append(GPU_POOL_TAINTS.at(install.path("daemonsets.tolerations"), f"the NicClusterPolicy tolerates "
                                          f"the taint {taint_text(taint)} of the InfiniBand pool, but the GPU "
                                          "Operator's DaemonSets (daemonsets.tolerations) do not: on that pool they "
                                          "would never run; add the same toleration", install.index))
    return out
