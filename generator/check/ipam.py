"""IPAM checks: the JSON inside networks' ``ipam`` strings and NAD ``config``, and nv-ipam pools.

whereabouts: ``range`` (CIDR, or ``start-end/len``), ``range_start``/``range_end``, ``exclude`` (CIDRs),
``gateway``, ``ipRanges``; host-local: ``subnet`` / ``ranges`` with ``rangeStart``/``rangeEnd``/``gateway``;
nv-ipam: ``poolName`` (checked against the IPPool/CIDRPool objects linted with it); nv-ipam IPPool/CIDRPool and
whereabouts IPPool objects' own ``subnet``/``cidr``/``gateway``/``range``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from generator import catalog
from generator.core.finding import Finding
from generator.core.formats import json_value
from generator.core.ipmath import Network, block_size_problem, overlapping
from generator.core.objects import Path, as_dict, as_list, as_str, get_in, group_kind, name_of
from generator.core.rules import Rule, define

IPAM_JSON = define(
    "ipam-json", "error",
    "an `ipam` (or NetworkAttachmentDefinition `config`) string is not a JSON object",
    "ipam")
IPAM_RANGE = define(
    "ipam-range", "error",
    "an IPAM range, subnet or address does not parse as an IP network/address",
    "ipam")
IPAM_GATEWAY = define(
    "ipam-gateway", "error",
    "the IPAM gateway is not inside the range/subnet",
    "ipam")
IPAM_EXCLUDE = define(
    "ipam-exclude", "error",
    "an IPAM exclude or range start/end is not inside the range/subnet",
    "ipam")
IPAM_POOL_REF = define(
    "ipam-pool-ref", "error",
    "an nv-ipam poolName names no IPPool/CIDRPool among the checked objects (a warning when no NicClusterPolicy is "
    "checked with it)",
    "ipam")

IPAM_NOT_DEPLOYED = define(
    "ipam-not-deployed", "error",
    "a network's ipam names a plugin nothing deploys, so its pods get no address: whereabouts from v25.10.0 on (or up "
    "to v25.7.0 without the NicClusterPolicy's secondaryNetwork.ipamPlugin), nv-ipam without its spec.nvIpam (unless a "
    "workload checked with it runs the plugin)",
    "ipam")
IPAM_BLOCK_SIZE = define(
    "ipam-block-size", "error",
    "an nv-ipam IPPool's perNodeBlockSize is below 2, or more than its subnet holds (nv-ipam refuses the pool), or "
    "more than is left once its exclusions are taken out (nodes would get blocks with no usable address)",
    "ipam")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# networks whose spec.ipam string is a CNI ipam config (the network operator's, and the SR-IOV network operator's)
NETWORK_KINDS = {("mellanox.com", "IPoIBNetwork"), ("mellanox.com", "MacvlanNetwork"),
                 ("mellanox.com", "HostDeviceNetwork"), ("sriovnetwork.openshift.io", "SriovNetwork"),
                 ("sriovnetwork.openshift.io", "SriovIBNetwork"), ("sriovnetwork.openshift.io", "OVSNetwork")}


class _Checker:
    def __init__(self, index: int, path: Path):
        self.index = index
        self.path = path
        self.issues: list[Finding] = []
        self.pool_refs: list[tuple[Path, str]] = []

    def add(self, rule: Rule, message: str) -> None:
        self.issues.append(rule.at(self.path, message, self.index))

    def network(self, value: Any, label: str) -> Network | None:
        try:
            return ipaddress.ip_network(as_str(value), strict=False)
        except ValueError:
            self.add(IPAM_RANGE, f"{label} {value!r} is not an IP network in CIDR notation (e.g. 192.168.0.0/16)")
            return None

    def address(self, value: Any, label: str) -> Address | None:
        text = as_str(value).split("/")[0]
        try:
            return ipaddress.ip_address(text)
        except ValueError:
            self.add(IPAM_RANGE, f"{label} {value!r} is not an IP address")
            return None

    def inside(self, value: Any, label: str, net: Network, rule: Rule) -> None:
        if value is None:
            return
        if rule is IPAM_EXCLUDE and "/" in as_str(value):
            sub = self.network(value, label)
            if sub is not None and (sub.version != net.version or not sub.subnet_of(net)):  # type: ignore[arg-type]
                self.add(rule, f"{label} {value} is not inside the range {net}")
            return
        addr = self.address(value, label)
        if addr is not None and addr not in net:
            self.add(rule, f"{label} {value} is not inside the range {net}")

    # -- plugins ----------------------------------------------------------------------------

    def ipam(self, ipam: dict[str, Any]) -> None:
        kind = ipam.get("type")
        if kind == "whereabouts":
            self.whereabouts(ipam)
            for i, sub in enumerate(as_list(ipam.get("ipRanges"))):
                self.whereabouts(as_dict(sub), f"ipRanges[{i}].", gateway=False)
        elif kind == "host-local":
            self.host_local(ipam)
        elif kind == "nv-ipam":
            for name in as_str(ipam.get("poolName")).split(","):
                if name.strip():
                    self.pool_refs.append((self.path, name.strip()))

    def whereabouts(self, ipam: dict[str, Any], prefix: str = "", *, gateway: bool = True) -> None:
        raw = ipam.get("range")
        if raw is None:
            return
        text = as_str(raw)
        net: Network | None
        if "-" in text:  # start-end/len
            span, _, length = text.partition("/")
            start, _, end = span.partition("-")
            net = self.network(f"{start}/{length}", f"{prefix}range")
            if net is not None:
                self.inside(end, f"{prefix}range end", net, IPAM_EXCLUDE)
        else:
            net = self.network(text, f"{prefix}range")
        if net is None:
            return
        for field in ("range_start", "range_end"):
            self.inside(ipam.get(field), prefix + field, net, IPAM_EXCLUDE)
        for i, item in enumerate(as_list(ipam.get("exclude"))):
            self.inside(item, f"{prefix}exclude[{i}]", net, IPAM_EXCLUDE)
        if gateway:
            self.inside(ipam.get("gateway"), f"{prefix}gateway", net, IPAM_GATEWAY)

    def host_local(self, ipam: dict[str, Any]) -> None:
        sets: list[tuple[str, dict[str, Any]]] = []
        if "subnet" in ipam:
            sets.append(("", ipam))
        for i, range_set in enumerate(as_list(ipam.get("ranges"))):
            for j, item in enumerate(as_list(range_set)):
                sets.append((f"ranges[{i}][{j}].", as_dict(item)))
        for prefix, item in sets:
            net = self.network(item.get("subnet"), prefix + "subnet")
            if net is None:
                continue
            for field in ("rangeStart", "rangeEnd"):
                self.inside(item.get(field), prefix + field, net, IPAM_EXCLUDE)
            self.inside(item.get("gateway"), prefix + "gateway", net, IPAM_GATEWAY)


def _json_object(checker: _Checker, raw: str, what: str) -> dict[str, Any] | None:
    try:
        value = json_value(raw)
    except ValueError as exc:
        checker.add(IPAM_JSON, f"{what} is not valid JSON: {exc}")
        return None
    if not isinstance(value, dict):
        checker.add(IPAM_JSON, f"{what} must be a JSON object, got {type(value).__name__}")
        return None
    return value


def _ippool(checker: _Checker, spec: dict[str, Any], net: Network) -> None:
    if "gateway" in spec:
        checker.path = ("spec", "gateway")
        checker.inside(spec["gateway"], "spec.gateway", net, IPAM_GATEWAY)
    ranges: list[tuple[int, int]] = []
    for i, exclusion in enumerate(as_list(spec.get("exclusions"))):
        checker.path = ("spec", "exclusions", i)
        start = checker.address(as_dict(exclusion).get("startIP"), f"exclusions[{i}].startIP")
        end = checker.address(as_dict(exclusion).get("endIP"), f"exclusions[{i}].endIP")
        if start is not None and end is not None:
            if start not in net or end not in net or int(end) < int(start):
                checker.add(IPAM_EXCLUDE, f"exclusions[{i}] {start}-{end} is not a range inside {net}")
            else:
                ranges.append((int(start), int(end)))
    if overlapping(ranges):
        checker.path = ("spec", "exclusions")
        checker.add(IPAM_EXCLUDE, "exclusions overlap; nv-ipam's node agent refuses the pool, so no pod gets an "
                                  "address")
    block = spec.get("perNodeBlockSize")
    if isinstance(block, int) and not isinstance(block, bool):
        checker.path = ("spec", "perNodeBlockSize")
        problem = block_size_problem(net, block, ranges)
        if problem:
            checker.add(IPAM_BLOCK_SIZE, problem)


def check_ipam(obj: dict[str, Any], index: int) -> tuple[list[Finding], list[tuple[Path, str]]]:
    """Issues of one object, and the nv-ipam pool names it references (path, name)."""
    group, kind = group_kind(obj)
    spec = as_dict(obj.get("spec"))
    checker: _Checker | None = None
    if (group, kind) in NETWORK_KINDS and isinstance(spec.get("ipam"), str) \
            and spec["ipam"].strip():
        checker = _Checker(index, ("spec", "ipam"))
        ipam = _json_object(checker, spec["ipam"], "spec.ipam")
        if ipam is not None:
            checker.ipam(ipam)
    elif group == "k8s.cni.cncf.io" and kind == "NetworkAttachmentDefinition" and isinstance(spec.get("config"), str) \
            and spec["config"].strip():
        checker = _Checker(index, ("spec", "config"))
        config = _json_object(checker, spec["config"], "spec.config")
        if config is not None:
            plugins = [config, *[as_dict(p) for p in as_list(config.get("plugins"))]]
            for plugin in plugins:
                if isinstance(plugin.get("ipam"), dict):
                    checker.ipam(plugin["ipam"])
    elif group == "nv-ipam.nvidia.com" and kind in ("IPPool", "CIDRPool"):
        field = "subnet" if kind == "IPPool" else "cidr"
        checker = _Checker(index, ("spec", field))
        if field in spec:
            net = checker.network(spec[field], f"spec.{field}")
            if net is not None and kind == "IPPool":
                _ippool(checker, spec, net)
    elif group == "whereabouts.cni.cncf.io" and kind == "IPPool" and "range" in spec:
        checker = _Checker(index, ("spec", "range"))
        checker.network(spec["range"], "spec.range")
    if checker is None:
        return [], []
    return checker.issues, checker.pool_refs


# -- what deploys the plugin a network names ---------------------------------------------------------------------


def ipam_configs(obj: dict[str, Any]) -> list[tuple[Path, dict[str, Any]]]:
    """(path, ipam config) of each IPAM a network or NetworkAttachmentDefinition names; what does not parse is left
    out (``check_ipam`` reports it)."""
    group, kind = group_kind(obj)
    spec = as_dict(obj.get("spec"))
    if (group, kind) in NETWORK_KINDS and isinstance(spec.get("ipam"), str):
        try:
            ipam = json_value(spec["ipam"]) if spec["ipam"].strip() else None
        except ValueError:
            return []
        return [(("spec", "ipam"), ipam)] if isinstance(ipam, dict) else []
    if group == "k8s.cni.cncf.io" and kind == "NetworkAttachmentDefinition" and isinstance(spec.get("config"), str):
        try:
            config = json_value(spec["config"])
        except ValueError:
            return []
        plugins = [as_dict(config), *[as_dict(p) for p in as_list(as_dict(config).get("plugins"))]]
        return [(("spec", "config"), p["ipam"]) for p in plugins if isinstance(p.get("ipam"), dict)]
    return []


def _releases_with(backend: str) -> list[catalog.Release]:
    return [r for r in catalog.load().releases.values() if backend in r.ipam]


def check_deployed(members: list[tuple[int, dict[str, Any]]], release: str, policies: list[dict[str, Any]],
                   workload_images: set[str], patches: Sequence[dict[str, Any]] = ()) -> list[Finding]:
    """Networks whose IPAM plugin neither the release nor the NicClusterPolicy (``policies``: those checked with them)
    nor a checked workload deploys. Without a NicClusterPolicy only what the release cannot deploy is known.
    ``patches``: NicClusterPolicy patches checked in the same run; a field one of them sets counts as set (a base
    policy linted file by file is completed by an overlay's patch)."""
    cat = catalog.load()
    this = cat.releases.get(release)
    policy_names = ", ".join(repr(name_of(p)) for p in policies[:3]) + (
        f" and {len(policies) - 3} more" if len(policies) > 3 else "")
    unset: set[str] = set()  # the backends no policy (or policy patch) deploys; only known with a policy checked
    if policies:
        unset = {name for name, backend in cat.ipam_backends.items()
                 if not any(get_in(as_dict(p.get("spec")), tuple(backend.policy_field.split(".")))
                            for p in [*policies, *patches])}
    out: list[Finding] = []
    for index, obj in members:
        for path, ipam in ipam_configs(obj):
            backend = cat.ipam_backends.get(as_str(ipam.get("type")))
            if backend is None or backend.image in workload_images:
                continue
            what = f"ipam type {backend.name!r}"
            network = f"{group_kind(obj)[1]} {name_of(obj)!r}"
            nobody = f"no workload checked with it runs it: pods attached to {network} get no IP address"
            if this is not None and backend.name not in this.ipam:
                out.append(IPAM_NOT_DEPLOYED.at(path, f"{what}: network-operator {release} does not deploy "
                                                f"{backend.name}{_gone(backend, this)}, and {nobody}; "
                                                f"{_instead(backend.name, this)}", index))
            elif backend.name in unset:
                instead = f", or {_instead(backend.name, this)}" if backend.name != "nv-ipam" else ""
                out.append(IPAM_NOT_DEPLOYED.at(
                    path, f"{what}, but the NicClusterPolicy {policy_names} sets no spec.{backend.policy_field}, so "
                    f"the operator deploys no {backend.name}, and {nobody}; add spec.{backend.policy_field} to the "
                    f"NicClusterPolicy{instead}", index))
    return out


def _gone(backend: catalog.IpamBackend, release: catalog.Release) -> str:
    """`` (its spec.secondaryNetwork.ipamPlugin is gone since v25.10.0; v25.7.0 was the last release with it)``."""
    older = [r for r in _releases_with(backend.name) if r.key < release.key]
    if not older:
        return ""
    last = older[-1]
    since = next(r for r in catalog.load().releases.values() if r.key > last.key)
    return (f" (the NicClusterPolicy's spec.{backend.policy_field} is gone since {since.tag}; {last.tag} was the last "
            "release with it)")


def _instead(backend: str, release: catalog.Release | None) -> str:
    """How to move to nv-ipam."""
    if backend == "nv-ipam":
        return ""
    image = ""
    if release is not None and "nvIpam" in release.images:
        nv = release.images["nvIpam"]
        image = f" ({nv.repository}/{nv.image}:{nv.version})"
    return (f"use nv-ipam: spec.nvIpam{image} in the NicClusterPolicy, an IPPool (nv-ipam.nvidia.com), and ipam "
            '{"type": "nv-ipam", "poolName": "<the pool>"}')
