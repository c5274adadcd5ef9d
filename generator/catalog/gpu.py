"""What gen knows of the NVIDIA GPU Operator: its releases (``gpu-operator.yaml``: default driver, Kubernetes range, the
Network Operator releases NVIDIA validated for GPUDirect RDMA with it, support status, known issues) and, for the
releases it can deploy, the chart's facts (``charts/gpu-operator-<tag>.yaml``, derived by
``maint/derive_gpu_chart_facts.py``): the values keys, what the chart renders, and the ClusterPolicy it renders with
given values, from which the operator deploys every operand DaemonSet. This module only reads the data."""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from typing import Any

from generator.catalog import DATA_DIR, minor_key, version_key
from generator.catalog.charts import DATA_DIR as CHARTS_DIR
from generator.catalog.charts import ChartFacts, facts_from
from generator.yamlio import cached as cached_yaml

STATUSES = ("latest", "maintained", "end-of-life")


class UnknownGpuRelease(KeyError):
    pass


@dataclass(frozen=True)
class Validated:
    """A Network Operator release NVIDIA validated GPUDirect RDMA with, and on which Ubuntu versions."""

    network_operator: str  # 26.1.0 (NVIDIA's notation, no "v")
    os: tuple[str, ...]

    @property
    def line(self) -> tuple[int, int]:
        """(26, 1): the release line (YY.MM) the pair is compared by."""
        return minor_key(self.network_operator)


@dataclass(frozen=True)
class KnownIssue:
    id: str
    severity: str  # error | warning
    applies: str  # always | peermem (only with driver.rdma.enabled)
    summary: str
    fix: str
    source: str
    fixed_in: str = ""


@dataclass(frozen=True)
class GpuRelease:
    tag: str  # v26.3.3
    released: str
    driver: str  # the GPU driver the chart deploys by default
    kubernetes: tuple[str, str]
    rdma_validated: tuple[Validated, ...]
    status: str  # STATUSES
    charted: bool  # its chart facts are known: it can be deployed
    known_issues: tuple[str, ...]

    @property
    def key(self) -> tuple[int, ...]:
        return version_key(self.tag)

    @property
    def chart_version(self) -> str:
        """The published chart's version: the tag, with its v."""
        return self.tag

    @property
    def kubernetes_range(self) -> str:
        return f"{self.kubernetes[0]} to {self.kubernetes[1]}"

    def supports_kubernetes(self, version: str) -> bool:
        return minor_key(self.kubernetes[0]) <= minor_key(version) <= minor_key(self.kubernetes[1])

    def validated_with(self, network_operator_tag: str) -> bool:
        """Whether NVIDIA validated GPUDirect RDMA with this Network Operator release's line."""
        line = minor_key(network_operator_tag)
        return any(v.line == line for v in self.rdma_validated)

    def validated_text(self) -> str:
        """``26.1.0, 25.10.0, 25.7.0``."""
        return ", ".join(v.network_operator for v in self.rdma_validated)


@dataclass(frozen=True)
class Reloader:
    """The nvidia-peermem reloader for the AKS-managed driver: its namespace, pinned image and the GPU nodes' label."""

    namespace: str
    image: str
    image_source: str
    node_label: tuple[str, str]


@dataclass(frozen=True)
class GpuCatalog:
    default_release: str
    chart_repository: str
    chart_name: str
    namespace: str
    status_as_of: str
    releases: dict[str, GpuRelease]  # oldest first
    known_issues: dict[str, KnownIssue]
    other_vendor_sizes: dict[str, str]  # VM size -> its GPUs, not NVIDIA's
    reloader: Reloader

    def release(self, tag: str) -> GpuRelease:
        try:
            return self.releases[tag]
        except KeyError:
            raise UnknownGpuRelease(tag) from None

    @property
    def charted_tags(self) -> tuple[str, ...]:
        return tuple(t for t, r in self.releases.items() if r.charted)

    def issues(self, release: GpuRelease, peermem: bool) -> list[KnownIssue]:
        """The known issues that affect ``release`` as configured (``peermem``: driver.rdma.enabled)."""
        found = [self.known_issues[i] for i in release.known_issues]
        return [i for i in found if i.applies == "always" or (i.applies == "peermem" and peermem)]

    def release_of_chart(self, chart_version: str) -> GpuRelease | None:
        """The release of a chart version as an Application or HelmRelease names it (``v26.3.3``, or without v)."""
        wanted = chart_version if chart_version.startswith("v") else f"v{chart_version}"
        return self.releases.get(wanted)

    def validating(self, network_operator_tag: str) -> list[GpuRelease]:
        """The GPU Operator releases NVIDIA validated GPUDirect RDMA with this Network Operator release's line."""
        return [r for r in self.releases.values() if r.validated_with(network_operator_tag)]


@functools.cache
def load_gpu() -> GpuCatalog:
    raw = cached_yaml.load((DATA_DIR / "gpu-operator.yaml").read_text("utf-8"))
    releases = {
        str(tag): GpuRelease(
            tag=str(tag), released=str(r["released"]), driver=str(r["driver"]),
            kubernetes=(str(r["kubernetes"]["min"]), str(r["kubernetes"]["max"])),
            rdma_validated=tuple(Validated(str(v["networkOperator"]), tuple(str(o) for o in v["os"]))
                                 for v in r["rdmaValidated"]),
            status=str(r["status"]), charted=bool(r.get("charted", False)),
            known_issues=tuple(str(i) for i in r.get("knownIssues") or ()))
        for tag, r in raw["releases"].items()}
    issues = {str(k): KnownIssue(str(k), str(v["severity"]), str(v["applies"]), " ".join(str(v["summary"]).split()),
                                 " ".join(str(v["fix"]).split()), " ".join(str(v["source"]).split()),
                                 str(v.get("fixedIn", "")))
              for k, v in raw["knownIssues"].items()}
    return GpuCatalog(
        default_release=str(raw["default"]), chart_repository=str(raw["chart"]["repository"]),
        chart_name=str(raw["chart"]["name"]), namespace=str(raw["namespace"]), status_as_of=str(raw["statusAsOf"]),
        releases=dict(sorted(releases.items(), key=lambda item: version_key(item[0]))), known_issues=issues,
        other_vendor_sizes={str(k): str(v) for k, v in (raw.get("otherVendorSizes") or {}).items()},
        reloader=Reloader(str(raw["peermemReloader"]["namespace"]), str(raw["peermemReloader"]["image"]),
                          str(raw["peermemReloader"]["imageSource"]),
                          next((str(k), str(v)) for k, v in raw["peermemReloader"]["nodeLabel"].items())))


# -- the chart ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyValue:
    """Where the ClusterPolicy template writes a value: ``path`` under spec; only when set (``when_set``); quoted."""

    path: str
    when_set: bool
    quote: bool


@dataclass(frozen=True)
class Operand:
    """An image the operator pulls from the ClusterPolicy: its component (the spec path holding repository, image,
    version), the values keys that set them, and the ClusterPolicy field that turns it on ("" when always on)."""

    component: str
    ref: str
    keys: dict[str, str]
    enabled_by: str
    os_suffix: bool  # the operator appends the node's -<os><version> to the version (the GPU driver)


@dataclass(frozen=True)
class GpuChartFacts:
    chart: ChartFacts
    policy_name: str
    policy_spec: dict[str, Any]  # the ClusterPolicy's spec the chart renders with its default values
    policy_values: dict[str, PolicyValue]
    operands: tuple[Operand, ...]

    def cluster_policy(self, values: dict[str, Any]) -> dict[str, Any]:
        """The ClusterPolicy the chart renders with ``values`` (nested, as Helm takes them, over the defaults), as far
        as the template writes values where the facts say: every key of ``policy_values`` the values set."""
        spec = copy.deepcopy(self.policy_spec)
        for key, where in self.policy_values.items():
            found, value = _find(values, key)
            if not found:
                continue
            if isinstance(value, dict):  # Helm merges a map over the chart's default map
                value = _merged(self._default(key), value)
            if value is None or (where.when_set and not value):
                _drop(spec, where.path)
            else:
                _put(spec, where.path, _quoted(value) if where.quote else copy.deepcopy(value))
        return {"apiVersion": "nvidia.com/v1", "kind": "ClusterPolicy", "metadata": {"name": self.policy_name},
                "spec": spec}

    def _default(self, key: str) -> Any:
        """The chart's default value of ``key``, a map rebuilt from the facts' leaves where it is one."""
        if key in self.chart.values:
            return self.chart.values[key]
        out: dict[str, Any] = {}
        for dotted, value in self.chart.values.items():
            if dotted.startswith(key + "."):
                _put(out, dotted[len(key) + 1:], copy.deepcopy(value))
        return out


def _merged(base: Any, over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base) if isinstance(base, dict) else {}
    for key, value in over.items():
        out[key] = _merged(out.get(key), value) if isinstance(value, dict) and isinstance(out.get(key), dict) \
            else copy.deepcopy(value)
    return out


def _quoted(value: Any) -> Any:
    """Helm's ``quote`` of a scalar (Go's formatting: true, 1)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    return value


def _find(values: dict[str, Any], dotted: str) -> tuple[bool, Any]:
    node: Any = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _put(spec: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = spec
    for part in parents:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[leaf] = value


def _drop(spec: dict[str, Any], dotted: str) -> None:
    *parents, leaf = dotted.split(".")
    node: Any = spec
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(leaf, None)


@functools.cache
def gpu_chart_facts(tag: str) -> GpuChartFacts:
    """The GPU Operator chart's facts of a charted release."""
    raw = cached_yaml.load((CHARTS_DIR / f"gpu-operator-{tag}.yaml").read_text("utf-8"))
    return GpuChartFacts(
        chart=facts_from(raw, tag),
        policy_name=str(raw["clusterPolicy"]["name"]),
        policy_spec=dict(raw["clusterPolicy"]["spec"]),
        policy_values={str(k): PolicyValue(str(v["path"]), bool(v.get("whenSet")), bool(v.get("quote")))
                       for k, v in raw["clusterPolicyValues"].items()},
        operands=tuple(Operand(str(o["component"]), str(o["ref"]), dict(o["keys"]), str(o["enabledBy"]),
                               bool(o.get("osSuffix"))) for o in raw["operands"]),
    )
