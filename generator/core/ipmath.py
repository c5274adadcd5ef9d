"""nv-ipam's address arithmetic (nvidia-k8s-ipam api/v1alpha1 ``GetPossibleIPCount``; its allocator's blocks), shared
by the spec's checks (``ipoib.range``, ``exclude``, ``perNodeBlockSize``) and ``gen lint``'s ``ipam-*`` rules."""

from __future__ import annotations

import ipaddress
import itertools

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


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
