"""IPAM checks: the JSON inside networks' ``ipam`` strings and NAD ``config``, and nv-ipam pools.

whereabouts: ``range`` (CIDR, or ``start-end/len``), ``range_start``/``range_end``, ``exclude`` (CIDRs),
``gateway``, ``ipRanges``; host-local: ``subnet`` / ``ranges`` with ``rangeStart``/``rangeEnd``/``gateway``;
nv-ipam: ``poolName`` (checked against the IPPool/CIDRPool objects linted with it); nv-ipam IPPool/CIDRPool and
whereabouts IPPool objects' own ``subnet``/``cidr``/``gateway``/``range``.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
from typing import Any

from generator.check.objects import Path, as_dict, as_list, as_str, group_kind
from generator.check.rules import Rule, define
from generator.report.finding import Finding

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
    "ipam-pool-ref", "warning",
    "an nv-ipam poolName names no IPPool/CIDRPool among the linted objects",
    "ipam")

IPAM_BLOCK_SIZE = define(
    "ipam-block-size", "error",
    "an nv-ipam IPPool's perNodeBlockSize is below 2, or more than its subnet holds (nv-ipam refuses the pool), or "
    "more than is left once its exclusions are taken out (nodes would get blocks with no usable address)",
    "ipam")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


# -- nv-ipam arithmetic (nvidia-k8s-ipam api/v1alpha1 GetPossibleIPCount; allocator blocks) ----------------------


def pool_capacity(net: Network) -> int:
    """The addresses nv-ipam hands out from a subnet: all but the network and broadcast addresses (IPv4, up to /30),
    all but the network address (IPv6), 2 for a /31 and 1 for a /32 or /128."""
    if net.num_addresses <= 2:
        return net.num_addresses
    return net.num_addresses - (2 if net.version == 4 else 1)


def overlapping(ranges: list[tuple[int, int]]) -> bool:
    """Whether two of the (start, end) ranges share an address."""
    return any(after[0] <= before[1] for before, after in itertools.pairwise(sorted(ranges)))


def excluded_count(net: Network, ranges: list[tuple[int, int]]) -> int:
    """How many of the addresses nv-ipam would hand out the (start, end) ranges cover."""
    first = int(net.network_address) + (0 if net.num_addresses <= 2 else 1)
    last = first + pool_capacity(net) - 1
    count, reach = 0, first - 1
    for start, end in sorted(ranges):
        start, end = max(start, reach + 1, first), min(end, last)
        if start <= end:
            count += end - start + 1
            reach = end
    return count


def block_size_problem(net: Network, block: int, exclusions: list[tuple[int, int]]) -> str:
    """Why nv-ipam cannot give nodes ``block`` usable addresses from ``net`` ("" when it can)."""
    capacity = pool_capacity(net)
    if block < 2:
        return (f"perNodeBlockSize {block} is below 2: nv-ipam v0.2.0 refuses it, and later ones give a node the "
                "gateway's one-address block, which has no address left for pods")
    if block > capacity:
        return (f"perNodeBlockSize {block} is more than the {capacity} address(es) {net} holds; nv-ipam refuses the "
                "pool and no pod gets an address")
    left = capacity - excluded_count(net, exclusions)
    if block > left:
        return (f"perNodeBlockSize {block} is more than the {left} address(es) left in {net} once the exclusions are "
                "taken out; nodes would get blocks with no usable address")
    return ""
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_NETWORK_KINDS = {"IPoIBNetwork", "MacvlanNetwork", "HostDeviceNetwork"}


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
        value = json.loads(raw)
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
    if group == "mellanox.com" and kind in _NETWORK_KINDS and isinstance(spec.get("ipam"), str) \
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
