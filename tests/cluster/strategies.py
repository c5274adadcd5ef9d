"""Hypothesis strategies: valid cluster specs (every mode, release, VM size, option) and broken ones."""

from __future__ import annotations

import ipaddress
from typing import Any

from hypothesis import strategies as st

from generator import catalog
from generator.yamlio.dump import dump_document

CAT = catalog.load()
DNS_LABEL = st.from_regex(r"\A[a-z]([a-z0-9-]{0,10}[a-z0-9])?\Z")
# names a YAML 1.1 reader would take for booleans, numbers or dates, and must stay strings
TRAPS = ["true", "no", "on", "yes", "0", "1e3", "2024-01-01", "null", "0777", "0x1f"]
SECRET = st.one_of(st.sampled_from(TRAPS), st.from_regex(r"\A[a-z0-9]([a-z0-9.-]{0,8}[a-z0-9])?\Z"))


@st.composite
def ipoib_block(draw: st.DrawFn, release: catalog.Release) -> dict[str, Any]:
    block: dict[str, Any] = {}
    capacity = 2**16 - 2  # the default range, 192.168.0.0/16
    if draw(st.booleans()):
        # a private range (RFC 1918, RFC 6598): no wider than the private block it lies in
        base, widest = draw(st.sampled_from([("10.0.0.0", 8), ("172.16.0.0", 12), ("192.168.0.0", 16),
                                             ("100.64.0.0", 10)]))
        prefix = draw(st.integers(min_value=widest, max_value=28))
        capacity = 2 ** (32 - prefix) - 2
        net = ipaddress.ip_network(f"{base}/{prefix}", strict=False)
        block["range"] = str(net)
        block["gateway"] = str(net.network_address + 1)
        if draw(st.booleans()):
            block["exclude"] = [f"{net.network_address}/32", f"{net.broadcast_address}/32"]
    if draw(st.booleans()):
        block["networkName"] = draw(DNS_LABEL)
    if draw(st.booleans()):
        block["namespace"] = draw(st.sampled_from(["default", "ml", "on", "no"]))
    if draw(st.booleans()):
        block["ipam"] = draw(st.sampled_from(release.ipam))
    if draw(st.booleans()) or capacity < 64:  # nv-ipam: 2 to what the range holds (the default is 64)
        block["perNodeBlockSize"] = draw(st.integers(min_value=2, max_value=min(256, capacity)))
    return block


def fits(release: catalog.Release, size: catalog.VmSize, kube: str | None, sku: str | None) -> bool:
    """Whether gen takes the release on the size with this kubernetes.version and node.osSku (None: not set): the
    release supports the version, AKS offers the OS SKU there, the size runs the OS it gives, and the release's DOCA
    driver runs on that platform (an oracle written from the catalog, apart from generator.cluster.platform)."""
    version = kube or release.newest_kubernetes
    if not release.supports_kubernetes(version):
        return False
    image = CAT.aks.os_skus[sku or CAT.aks.default_os_sku].image(version)
    if image is None or (size.os_versions and (image.os != "ubuntu" or image.os_version not in size.os_versions)):
        return False
    return CAT.runs_driver(release, CAT.platforms[f"{image.os}{image.os_version}-{size.arch}"])


# every (release, kubernetes.version, node.osSku, vmSize) gen takes, None where the spec leaves the field out
PLATFORM_COMBOS = [(tag, kube, sku, size) for tag, release in CAT.releases.items()
                   for kube in (None, *CAT.aks.versions) for sku in (None, "Ubuntu", "Ubuntu2204", "Ubuntu2404")
                   for size, vm in CAT.vm_sizes.items() if fits(release, vm, kube, sku)]


@st.composite
def valid_spec(draw: st.DrawFn, name: str = "prod") -> dict[str, Any]:
    tag, kube, sku, size = draw(st.sampled_from(PLATFORM_COMBOS))
    release = CAT.release(tag)
    spec: dict[str, Any] = {
        "name": name,
        "mode": draw(st.sampled_from(["base", "sriov", "shared", "ipoib"])),
        "vmSize": size,
    }
    if kube is not None:
        spec["kubernetes"] = {"version": kube}
    if sku is not None:
        spec["node"] = {"osSku": sku}
    operator: dict[str, Any] = {"version": release.tag}
    if draw(st.booleans()):
        operator["namespace"] = draw(st.sampled_from(["network-operator", "nvidia-network-operator", "on"]))
    if draw(st.booleans()):
        operator["imagePullSecrets"] = draw(st.lists(SECRET, min_size=1, max_size=3, unique=True))
    spec["networkOperator"] = operator
    if draw(st.booleans()):
        spec["shared"] = {"rdmaHcaMax": draw(st.integers(min_value=1, max_value=1000))}
    if draw(st.booleans()):
        spec["ipoib"] = draw(ipoib_block(release))
    if draw(st.booleans()):
        spec["nic"] = {"count": draw(st.integers(min_value=1, max_value=16))}
    argocd: dict[str, Any] = {"repoURL": "https://github.com/example/aks-gitops.git"}
    if draw(st.booleans()):
        argocd["targetRevision"] = draw(st.sampled_from(["main", "v1.2.3", "yes", "0"]))
    if draw(st.booleans()):
        argocd["automated"] = draw(st.booleans())
    if draw(st.booleans()):
        argocd["destination"] = draw(st.sampled_from([{"name": "prod-aks"}, {"server": "https://10.0.0.1:6443"}]))
    spec["argocd"] = argocd
    return spec


def to_yaml(spec: dict[str, Any]) -> bytes:
    return dump_document(spec)


@st.composite
def broken_spec(draw: st.DrawFn) -> bytes:
    """Bytes that are never a valid spec for clusters/prod.yaml."""
    good = draw(valid_spec())
    how = draw(st.sampled_from(["unknown-key", "bad-mode", "bad-size", "no-argocd", "wrong-name", "bad-release",
                                "bad-type", "bad-cidr", "garbage", "not-utf8", "duplicate", "tab", "list"]))
    if how == "unknown-key":
        good[draw(st.sampled_from(["colour", "Mode", "vmsize", "network_operator"]))] = "x"
    elif how == "bad-mode":
        good["mode"] = draw(st.text(min_size=1, max_size=8).filter(lambda t: t not in ("base", "sriov", "shared",
                                                                                       "ipoib")))
    elif how == "bad-size":
        good["vmSize"] = "Standard_" + draw(st.text(alphabet="ABCDXYZ0123_", min_size=1, max_size=8))
        good.pop("nic", None)
    elif how == "no-argocd":
        del good["argocd"]
    elif how == "wrong-name":
        good["name"] = "staging"
    elif how == "bad-release":
        good["networkOperator"]["version"] = draw(st.sampled_from(["v25.5.0", "25.4.0", "latest", "v99.0.0"]))
    elif how == "bad-type":
        good["shared"] = {"rdmaHcaMax": draw(st.sampled_from(["63", -1, 0, 1.5, True, None, [63]]))}
    elif how == "bad-cidr":
        good["ipoib"] = {"range": draw(st.sampled_from(["10.0.0.1/8", "300.0.0.0/8", "fe80::/64", "x", ""]))}
    elif how == "garbage":
        return draw(st.binary(max_size=200))
    elif how == "not-utf8":
        return to_yaml(good) + b"# \xff\xfe\n"
    elif how == "duplicate":
        return to_yaml(good) + b"mode: base\n"
    elif how == "tab":
        return to_yaml(good) + b"argocd:\n\trepoURL: x\n"
    elif how == "list":
        return b"- " + to_yaml(good).replace(b"\n", b"\n  ")
    return to_yaml(good)
