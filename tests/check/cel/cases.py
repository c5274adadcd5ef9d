"""Objects that pass and objects that fail each CEL rule of the pinned CRDs, per release (shared by the rule tests
and the benchmark). Every builder returns a ``RuleCase``: realistic objects (schema-valid apart from the violated
rule) and, for transition rules, the old objects they update."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]


@dataclass
class Variant:
    """One object (and, for an update, its stored old version) with the failure expected of the rule under test."""

    name: str
    obj: Obj
    old: Obj | None = None
    path: tuple[str | int, ...] | None = None  # None: the rule must not fail
    message: str | None = None  # the expected message; None: the rule's own message


@dataclass
class RuleCase:
    passing: list[Variant] = field(default_factory=list)
    failing: list[Variant] = field(default_factory=list)


# -- NicClusterPolicy ----------------------------------------------------------------------------------------------
def ncp(release: str, storage: Obj | None = None, name: str = "nic-cluster-policy") -> Obj:
    """A NicClusterPolicy like upstream's example plus the NIC configuration operator and its firmware storage."""
    image = f"network-operator-{release}"
    spec: Obj = {
        "ofedDriver": {
            "image": "doca-driver",
            "repository": "nvcr.io/nvidia/mellanox",
            "version": "doca3.1.0-25.07-0.9.7.0-0",
            "upgradePolicy": {"autoUpgrade": True, "maxParallelUpgrades": 1},
        },
        "rdmaSharedDevicePlugin": {
            "image": "k8s-rdma-shared-dev-plugin",
            "repository": "nvcr.io/nvidia/mellanox",
            "version": image,
            "config": '{"configList": [{"resourceName": "rdma_shared_device_a", "rdmaHcaMax": 63, '
            '"selectors": {"vendors": ["15b3"], "deviceIDs": ["101c", "101e"]}}]}',
        },
        "nicConfigurationOperator": {
            "operator": {
                "image": "nic-configuration-operator",
                "repository": "nvcr.io/nvidia/mellanox",
                "version": image,
            },
            "configurationDaemon": {
                "image": "nic-configuration-operator-daemon",
                "repository": "nvcr.io/nvidia/mellanox",
                "version": image,
            },
        },
    }
    if storage is not None:
        spec["nicConfigurationOperator"]["nicFirmwareStorage"] = storage
    return {"apiVersion": "mellanox.com/v1alpha1", "kind": "NicClusterPolicy", "metadata": {"name": name}, "spec": spec}


NCP_STORAGE = ("spec", "nicConfigurationOperator", "nicFirmwareStorage")


def case_ncp_available_size(release: str) -> RuleCase:
    storage = {"create": True, "pvcName": "nic-fw-storage-pvc", "storageClassName": "standard"}
    same = ncp(release, {**storage, "availableStorageSize": "1Gi"})
    path = (*NCP_STORAGE, "availableStorageSize")
    return RuleCase(
        passing=[
            Variant(
                "create (no old object: transition rule not run)",
                ncp(release, {**storage, "availableStorageSize": "5Gi"}),
            ),
            Variant("update, unchanged", same, copy.deepcopy(same)),
            Variant("update, storage newly added", same, ncp(release)),
            Variant("update, explicit value equal to the old default", same, ncp(release, storage)),
        ],
        failing=[
            Variant("update 1Gi -> 2Gi", ncp(release, {**storage, "availableStorageSize": "2Gi"}), same, path),
            Variant(
                "update: old value came from the schema default (1Gi)",
                ncp(release, {**storage, "availableStorageSize": "2Gi"}),
                ncp(release, storage),
                path,
            ),
        ],
    )


def case_ncp_storage_class(release: str) -> RuleCase:
    storage = {"create": True, "availableStorageSize": "1Gi"}
    same = ncp(release, {**storage, "storageClassName": "standard"})
    path = (*NCP_STORAGE, "storageClassName")
    return RuleCase(
        passing=[
            Variant("create", same),
            Variant("update, unchanged", same, copy.deepcopy(same)),
            Variant("update, storageClassName set for the first time", same, ncp(release, storage)),
        ],
        failing=[
            Variant("update standard -> premium", ncp(release, {**storage, "storageClassName": "premium"}), same, path),
        ],
    )


# -- NIC configuration (NicConfigurationTemplate, NicDevice) --------------------------------------------------------
def sx(release: str, **extra: Any) -> Obj:
    """An enabled spectrumXOptimized section valid for the release."""
    return {"enabled": True, "version": "RA2.0", **extra}


def eth_template(release: str, **extra: Any) -> Obj:
    return {"numVfs": 1, "linkType": "Ethernet", "spectrumXOptimized": sx(release), **extra}


def nct(template: Obj, nic_type: str = "1023") -> Obj:
    return {
        "apiVersion": "configuration.net.nvidia.com/v1alpha1",
        "kind": "NicConfigurationTemplate",
        "metadata": {"name": "spectrum-x", "namespace": "nvidia-network-operator"},
        "spec": {
            "nodeSelector": {"feature.node.kubernetes.io/network-sriov.capable": "true"},
            "nicSelector": {"nicType": nic_type},
            "resetToDefault": False,
            "template": template,
        },
    }


def nicdevice(template: Obj) -> Obj:
    return {
        "apiVersion": "configuration.net.nvidia.com/v1alpha1",
        "kind": "NicDevice",
        "metadata": {"name": "node-1-mt2244xz0b1a", "namespace": "nvidia-network-operator"},
        "spec": {"configuration": {"resetToDefault": False, "template": template}},
    }


Wrap = Callable[[Obj], Obj]
TEMPLATE_PATH = {"NicConfigurationTemplate": ("spec", "template"), "NicDevice": ("spec", "configuration", "template")}
WRAP: dict[str, Wrap] = {"NicConfigurationTemplate": nct, "NicDevice": nicdevice}


def case_template_ethernet(release: str, kind: str) -> RuleCase:
    wrap, path = WRAP[kind], TEMPLATE_PATH[kind]
    return RuleCase(
        passing=[
            Variant("spectrumX on Ethernet, 1 VF", wrap(eth_template(release))),
            Variant("no spectrumX, Infiniband, 8 VFs", wrap({"numVfs": 8, "linkType": "Infiniband"})),
            Variant(
                "spectrumX disabled",
                wrap({"numVfs": 8, "linkType": "Infiniband", "spectrumXOptimized": {**sx(release), "enabled": False}}),
            ),
        ],
        failing=[
            Variant("spectrumX with 8 VFs", wrap(eth_template(release, numVfs=8)), path=path),
            Variant("spectrumX on Infiniband", wrap(eth_template(release, linkType="Infiniband")), path=path),
        ],
    )


def case_template_roce(release: str, kind: str) -> RuleCase:
    wrap, path = WRAP[kind], TEMPLATE_PATH[kind]
    roce = {"enabled": True, "qos": {"trust": "dscp", "pfc": "0,0,0,1,0,0,0,0"}}
    return RuleCase(
        passing=[
            Variant("spectrumX alone", wrap(eth_template(release))),
            Variant("roce alone", wrap({"numVfs": 1, "linkType": "Ethernet", "roceOptimized": roce})),
            Variant("spectrumX with roce disabled", wrap(eth_template(release, roceOptimized={"enabled": False}))),
        ],
        failing=[Variant("spectrumX with roce enabled", wrap(eth_template(release, roceOptimized=roce)), path=path)],
    )


def case_template_raw_nvconfig(release: str, kind: str) -> RuleCase:
    wrap, path = WRAP[kind], TEMPLATE_PATH[kind]
    raw = [{"name": "ADVANCED_PCI_SETTINGS", "value": "1"}]
    return RuleCase(
        passing=[
            Variant("spectrumX, rawNvConfig empty", wrap(eth_template(release, rawNvConfig=[]))),
            Variant("no spectrumX, rawNvConfig set", wrap({"numVfs": 1, "linkType": "Ethernet", "rawNvConfig": raw})),
        ],
        failing=[Variant("spectrumX with rawNvConfig", wrap(eth_template(release, rawNvConfig=raw)), path=path)],
    )


def _sx_case(release: str, kind: str, passing: list[tuple[str, Obj]], failing: list[tuple[str, Obj]]) -> RuleCase:
    wrap, path = WRAP[kind], (*TEMPLATE_PATH[kind], "spectrumXOptimized")
    return RuleCase(
        passing=[Variant(n, wrap(eth_template(release, spectrumXOptimized=s))) for n, s in passing],
        failing=[Variant(n, wrap(eth_template(release, spectrumXOptimized=s)), path=path) for n, s in failing],
    )


def case_sx_none_one_plane(release: str, kind: str) -> RuleCase:
    return _sx_case(
        release,
        kind,
        [
            ("none, 1 plane", sx(release, version="RA2.1", multiplaneMode="none", numberOfPlanes=1)),
            ("defaults (none, 1)", sx(release, version="RA2.1")),
            ("swplb, 2 planes", sx(release, version="RA2.1", multiplaneMode="swplb", numberOfPlanes=2)),
        ],
        [("none, 2 planes", sx(release, version="RA2.1", multiplaneMode="none", numberOfPlanes=2))],
    )


def case_sx_not_none_planes(release: str, kind: str) -> RuleCase:
    return _sx_case(
        release,
        kind,
        [
            ("swplb, 2 planes", sx(release, version="RA2.1", multiplaneMode="swplb", numberOfPlanes=2)),
            ("none, 1 plane", sx(release, version="RA2.1", multiplaneMode="none")),
        ],
        [
            ("swplb, 1 plane", sx(release, version="RA2.1", multiplaneMode="swplb", numberOfPlanes=1)),
            ("swplb, planes from the default (1)", sx(release, version="RA2.1", multiplaneMode="swplb")),
        ],
    )


def case_sx_version_planes(release: str, kind: str) -> RuleCase:
    return _sx_case(
        release,
        kind,
        [
            ("RA2.0 with defaults", sx(release, version="RA2.0")),
            ("RA2.1 swplb 2 planes", sx(release, version="RA2.1", multiplaneMode="swplb", numberOfPlanes=2)),
        ],
        [("RA2.0 swplb 2 planes", sx(release, version="RA2.0", multiplaneMode="swplb", numberOfPlanes=2))],
    )


def case_nct_nic_type(release: str) -> RuleCase:
    ok_types = ["1023", "a2dc"] + (["1025"] if release >= "v26.4" else [])
    return RuleCase(
        passing=[Variant(f"spectrumX on nicType {t}", nct(eth_template(release), t)) for t in ok_types]
        + [Variant("no spectrumX on ConnectX-7 VF (101e)", nct({"numVfs": 8, "linkType": "Infiniband"}, "101e"))],
        failing=[
            Variant("spectrumX on ConnectX-7 VF (101e)", nct(eth_template(release), "101e"), path=("spec",)),
            *(
                [
                    Variant(
                        "spectrumX on ConnectX-9 (1025) before v26.4",
                        nct(eth_template(release), "1025"),
                        path=("spec",),
                    )
                ]
                if release < "v26.4"
                else []
            ),
        ],
    )


def case_nct_hwplb(release: str) -> RuleCase:
    hw = sx(release, version="RA2.1", multiplaneMode="hwplb", numberOfPlanes=2)
    ok_types = ["1023"] + (["1025"] if release >= "v26.4" else [])
    bad_types = ["a2dc"] + ([] if release >= "v26.4" else ["1025"])
    # a2dc (BlueField-3) may run spectrumX but not hwplb; 1025 may run neither before v26.4
    return RuleCase(
        passing=[Variant(f"hwplb on {t}", nct(eth_template(release, spectrumXOptimized=hw), t)) for t in ok_types]
        + [
            Variant(
                "swplb on a2dc",
                nct(eth_template(release, spectrumXOptimized={**hw, "multiplaneMode": "swplb"}), "a2dc"),
            )
        ],
        failing=[
            Variant(f"hwplb on {t}", nct(eth_template(release, spectrumXOptimized=hw), t), path=("spec",))
            for t in bad_types
        ],
    )


# -- NicFirmwareSource ----------------------------------------------------------------------------------------------
def fw_source(spec: Obj) -> Obj:
    return {
        "apiVersion": "configuration.net.nvidia.com/v1alpha1",
        "kind": "NicFirmwareSource",
        "metadata": {"name": "connectx-firmware", "namespace": "nvidia-network-operator"},
        "spec": spec,
    }


def case_fw_sources(release: str, three: bool) -> RuleCase:
    passing = [
        Variant("binUrlSources only", fw_source({"binUrlSources": ["https://fw.example.com/fw-ConnectX7.zip"]})),
        Variant(
            "bfbUrlSource only (binUrlSources absent: error absorbed by ||)",
            fw_source({"bfbUrlSource": "https://fw.example.com/bf.bfb"}),
        ),
    ]
    empty: Obj = {"binUrlSources": [], "bfbUrlSource": ""}
    if three:
        passing.append(
            Variant("docaSpcXCCUrlSource only", fw_source({"docaSpcXCCUrlSource": "https://fw.example.com/spcx.deb"}))
        )
        empty["docaSpcXCCUrlSource"] = ""
    return RuleCase(
        passing=passing,
        failing=[
            Variant("all sources empty", fw_source(empty), path=("spec",)),
            Variant(
                "no source at all: no such key",
                fw_source({}),
                path=("spec",),
                message="no such key: binUrlSources evaluating rule: {message}",
            ),
        ],
    )


# -- NVIDIA IPAM pools ----------------------------------------------------------------------------------------------
def ippool(exclusions: list[Obj], name: str = "pool-a") -> Obj:
    return {
        "apiVersion": "nv-ipam.nvidia.com/v1alpha1",
        "kind": "IPPool",
        "metadata": {"name": name, "namespace": "nvidia-network-operator"},
        "spec": {
            "subnet": "192.168.0.0/16",
            "perNodeBlockSize": 100,
            "gateway": "192.168.0.1",
            "perNodeExclusions": exclusions,
            "nodeSelector": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "node-role.kubernetes.io/worker", "operator": "Exists"}]}
                ]
            },
        },
    }


def cidrpool(exclusions: list[Obj]) -> Obj:
    return {
        "apiVersion": "nv-ipam.nvidia.com/v1alpha1",
        "kind": "CIDRPool",
        "metadata": {"name": "cidr-a", "namespace": "nvidia-network-operator"},
        "spec": {
            "cidr": "10.10.0.0/16",
            "perNodeNetworkPrefix": 24,
            "gatewayIndex": 1,
            "perNodeExclusions": exclusions,
        },
    }


def case_pool_exclusions(release: str, kind: str) -> RuleCase:
    make = ippool if kind == "IPPool" else cidrpool
    return RuleCase(
        passing=[
            Variant("two ranges", make([{"startIndex": 0, "endIndex": 9}, {"startIndex": 20, "endIndex": 20}])),
            Variant("no exclusions", make([])),
        ],
        failing=[
            Variant(
                "second range reversed",
                make([{"startIndex": 0, "endIndex": 9}, {"startIndex": 30, "endIndex": 20}]),
                path=("spec", "perNodeExclusions", 1),
            )
        ],
    )


# -- SpectrumXRailPoolConfig ----------------------------------------------------------------------------------------
def rail_pool(rails: list[Obj]) -> Obj:
    return {
        "apiVersion": "spectrumx.nvidia.com/v1alpha2",
        "kind": "SpectrumXRailPoolConfig",
        "metadata": {"name": "rails", "namespace": "nvidia-network-operator"},
        "spec": {"numVfs": 1, "railTopology": rails},
    }


def rail(i: int, **extra: Any) -> Obj:
    return {"name": f"rail-{i}", "mtu": 9000, "nicSelector": {"pfNames": [f"eth{i}"]}, **extra}


def case_rail_ipam(release: str) -> RuleCase:
    return RuleCase(
        passing=[
            Variant("cidrPoolRef only", rail_pool([rail(0, cidrPoolRef="cidr-a"), rail(1, cidrPoolRef="cidr-b")])),
            Variant("ipam only", rail_pool([rail(0, ipam='{"type": "nv-ipam", "poolName": "pool-a"}')])),
            Variant("neither", rail_pool([rail(0)])),
        ],
        failing=[
            Variant(
                "both on the second rail",
                rail_pool([rail(0, cidrPoolRef="cidr-a"), rail(1, cidrPoolRef="cidr-b", ipam='{"type": "nv-ipam"}')]),
                path=("spec", "railTopology", 1),
            )
        ],
    )


# -- the GPU Operator's CRDs (every Schemas holds the default GPU Operator release's) --------------------------------
def nvidia_driver(**spec: Any) -> Obj:
    return {"apiVersion": "nvidia.com/v1alpha1", "kind": "NVIDIADriver", "metadata": {"name": "gpu-driver"},
            "spec": {"default": False, "driverType": "gpu", "image": "nvcr.io/nvidia/driver", **spec}}


def case_driver_default() -> RuleCase:
    return RuleCase(
        passing=[Variant("default without nodeSelector", nvidia_driver(default=True)),
                 Variant("not default, with nodeSelector", nvidia_driver(nodeSelector={"pool": "a"}))],
        failing=[Variant("default with a nodeSelector", nvidia_driver(default=True, nodeSelector={"pool": "a"}),
                         path=("spec",))])


def case_driver_immutable(field_name: str, before: Any, after: Any) -> RuleCase:
    old = nvidia_driver(**{field_name: before})
    return RuleCase(
        passing=[Variant("create", nvidia_driver(**{field_name: after})),
                 Variant("unchanged update", nvidia_driver(**{field_name: before}), old)],
        failing=[Variant("changed on update", nvidia_driver(**{field_name: after}), old, path=("spec", field_name))])


def gpu_cluster(name: str) -> Obj:
    return {"apiVersion": "nvidia.com/v1alpha1", "kind": "GPUCluster", "metadata": {"name": name},
            "spec": {"draDriver": {}}}


def case_gpu_cluster_name() -> RuleCase:
    return RuleCase(passing=[Variant("the singleton's name", gpu_cluster("gpu-cluster"))],
                    failing=[Variant("another name", gpu_cluster("gpus"), path=())])


def compute_domain(nodes: int) -> Obj:
    return {"apiVersion": "resource.nvidia.com/v1beta1", "kind": "ComputeDomain", "metadata": {"name": "cd"},
            "spec": {"numNodes": nodes, "channel": {"resourceClaimTemplate": {"name": "cd-channel"}}}}


def case_compute_domain_spec() -> RuleCase:
    return RuleCase(passing=[Variant("create", compute_domain(4)), Variant("unchanged", compute_domain(4),
                                                                          compute_domain(4))],
                    failing=[Variant("resized", compute_domain(8), compute_domain(4), path=("spec",))])


# -- dispatch -------------------------------------------------------------------------------------------------------
def case_for(kind: str, schema_path: str, rule: str, message: str, release: str) -> RuleCase | None:
    """The case for an inventory rule, or None when no builder knows it (the tests then fail)."""
    gpu = _gpu_case(kind, schema_path)
    if gpu is not None:
        return gpu
    if kind == "NicClusterPolicy":
        if schema_path.endswith(".availableStorageSize") and rule == "self == oldSelf":
            return case_ncp_available_size(release)
        if schema_path.endswith(".storageClassName") and rule == "self == oldSelf":
            return case_ncp_storage_class(release)
    if kind in ("NicConfigurationTemplate", "NicDevice"):
        tpath = "." + ".".join(TEMPLATE_PATH[kind])
        if schema_path == tpath:
            if "linkType == 'Ethernet'" in rule:
                return case_template_ethernet(release, kind)
            if "roceOptimized" in rule:
                return case_template_roce(release, kind)
            if "rawNvConfig" in rule:
                return case_template_raw_nvconfig(release, kind)
        if schema_path == tpath + ".spectrumXOptimized":
            if "RA1.3" in rule:
                return case_sx_version_planes(release, kind)
            if "multiplaneMode != 'none'" in rule:
                return case_sx_none_one_plane(release, kind)
            if "multiplaneMode == 'none'" in rule:
                return case_sx_not_none_planes(release, kind)
        if kind == "NicConfigurationTemplate" and schema_path == ".spec":
            if "'hwplb'" in rule:
                return case_nct_hwplb(release)
            if "nicSelector.nicType" in rule:
                return case_nct_nic_type(release)
    if kind == "NicFirmwareSource" and schema_path == ".spec":
        return case_fw_sources(release, three="docaSpcXCCUrlSource" in rule)
    if kind in ("IPPool", "CIDRPool") and schema_path == ".spec.perNodeExclusions[*]":
        return case_pool_exclusions(release, kind)
    if kind == "SpectrumXRailPoolConfig" and schema_path == ".spec.railTopology[*]":
        return case_rail_ipam(release)
    return None


def _gpu_case(kind: str, schema_path: str) -> RuleCase | None:
    if kind == "NVIDIADriver":
        if schema_path == ".spec":
            return case_driver_default()
        if schema_path == ".spec.driverType":
            return case_driver_immutable("driverType", "gpu", "vgpu")
        if schema_path == ".spec.usePrecompiled":
            return case_driver_immutable("usePrecompiled", False, True)
    if kind == "GPUCluster" and schema_path == "":
        return case_gpu_cluster_name()
    if kind == "ComputeDomain" and schema_path == ".spec":
        return case_compute_domain_spec()
    return None


# -- realistic bulk objects (benchmarks) ----------------------------------------------------------------------------
def bulk_ncp_updates(n: int, release: str = "v26.4.1") -> list[tuple[Obj, Obj]]:
    """n (new, old) NicClusterPolicy pairs with firmware storage set, every 50th changing availableStorageSize."""
    out = []
    for i in range(n):
        storage = {"create": True, "storageClassName": "managed-csi", "availableStorageSize": f"{1 + i % 4}Gi"}
        old = ncp(release, storage, name=f"ncp-{i}")
        new = copy.deepcopy(old)
        if i % 50 == 0:
            new["spec"]["nicConfigurationOperator"]["nicFirmwareStorage"]["availableStorageSize"] = "64Gi"
        out.append((new, old))
    return out


def bulk_ippools(n: int) -> list[Obj]:
    """n IPPools with 1-4 per-node exclusion ranges, every 50th with a reversed range."""
    out = []
    for i in range(n):
        ranges = [{"startIndex": 10 * k, "endIndex": 10 * k + 5} for k in range(1 + i % 4)]
        if i % 50 == 0:
            ranges[-1] = {"startIndex": 9, "endIndex": 3}
        out.append(ippool(ranges, name=f"pool-{i}"))
    return out
