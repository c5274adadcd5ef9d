"""A spec's ``pools``: the cluster's InfiniBand node pools, each with its VM size, device plugin, DOCA driver, taints,
tolerations and node platform (a pool's own field, else the cluster's). Pure: ``generator.cluster.parse`` calls it
with the spec validated by the schema and its defaults applied.

From network-operator v26.4.0 each pool gets a NicNodePolicy. Before it the pools share the one NicClusterPolicy,
which they can only when they need the same policy sections (the mode's device plugin, the release's driver and
upgrade policy): any other is a SpecError naming v26.4.0. A pool's DOCA driver that differs from the release's is a
canary (or a pool kept on its driver while the others move): gen cannot pin it by digest (a pin is per image name)
and checks the platforms it is published for only where it is a release's driver.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from generator import catalog
from generator.cluster import platform, spec_schema
from generator.cluster.model import MODE_DEVICE_PLUGIN, Driver, Kubernetes, Node, Pool
from generator.cluster.platform import NodeFields, Source
from generator.core.finding import JsonPath

UPGRADE_POLICY: JsonPath = ("pools", 0, "driver", "upgradePolicy")


def _defaults(schema: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, sub in schema.get("properties", {}).items():
        if "default" in sub:
            out[name] = copy.deepcopy(sub["default"])
        elif sub.get("type") == "object" and _defaults(sub):
            out[name] = _defaults(sub)
    return out


def default_upgrade_policy() -> dict[str, Any]:
    """gen's DOCA driver upgrade policy, as the schema's defaults give it (the NicClusterPolicy's, in
    templates/ofed-driver.yaml, is the same: a test holds them together)."""
    return _defaults(spec_schema.node(UPGRADE_POLICY))


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) \
            else copy.deepcopy(value)
    return out


def _inherited(pool: dict[str, Any], value: dict[str, Any], key: str, default: Any) -> Any:
    return pool[key] if key in pool else value.get(key, default)


def _union(groups: list[tuple[dict[str, Any], ...]]) -> tuple[dict[str, Any], ...]:
    out: list[dict[str, Any]] = []
    for group in groups:
        out += [item for item in group if item not in out]
    return tuple(out)


class Pools:
    """The pools of one spec, parsed in order: ``parse`` makes one and calls ``pool`` for each entry."""

    def __init__(self, value: dict[str, Any], release: catalog.Release, kubernetes: Kubernetes, cat: catalog.Catalog,
                 spec: Source):
        self.value, self.release, self.kubernetes, self.cat, self.spec = value, release, kubernetes, cat, spec
        self.default_policy = default_upgrade_policy()
        self.notes: list[str] = []

    def parse(self) -> tuple[Pool, ...]:
        raw = self.value.get("pools") or []
        seen: dict[str, int] = {}
        pools = []
        for index, entry in enumerate(raw):
            name = entry["name"]
            if name in seen:
                raise self.spec.error(("pools", index, "name"), f"pool {name!r} is pools[{seen[name]}] already: an "
                                                               "AKS agent pool is one entry (names are unique)")
            seen[name] = index
            pools.append(self.pool(index, entry))
        if pools and not self.cat.has_node_policies(self.release):
            self._shared_policy(pools)
        self._driver_pins(pools)
        return tuple(pools)

    def pool(self, index: int, entry: dict[str, Any]) -> Pool:
        value, spec = self.value, self.spec
        at: JsonPath = ("pools", index)
        size_name = entry.get("vmSize", value["vmSize"])
        nic = entry["nic"] if "nic" in entry else (value.get("nic", {}) if size_name == value["vmSize"] else {})
        vm = platform.vm_size_of({"vmSize": size_name, "nic": nic}, self.cat, spec,
                                 (*at, "vmSize") if "vmSize" in entry else ("vmSize",))
        node = self._node(index, entry, vm, size_name in self.cat.vm_sizes)
        self.notes += platform.ipoib_interface_note(vm, value["mode"], value, spec, nic,
                                                    (*at, "vmSize") if "vmSize" in entry else ("vmSize",))
        driver_raw = entry.get("driver", {})
        version = driver_raw.get("version", self.release.doca_driver)
        policy = _merged(self.default_policy, driver_raw.get("upgradePolicy", {}))
        driver = Driver(version=version, upgrade_policy=policy, given="version" in driver_raw)
        if driver.given and version != self.release.doca_driver:
            self._driver_platform(index, version, node)
        return Pool(
            name=entry["name"],
            index=index,
            vm_size=vm,
            device_plugin=entry.get("devicePlugin", MODE_DEVICE_PLUGIN[value["mode"]]),
            driver=driver,
            tolerations=tuple(_inherited(entry, value, "tolerations", ())),
            taints=tuple(_inherited(entry, value, "taints", ())),
            node=node,
        )

    def _node(self, index: int, entry: dict[str, Any], vm: catalog.VmSize, known: bool) -> Node:
        own = entry.get("node", {})
        cluster = self.value.get("node", {})
        at: JsonPath = ("pools", index, "node")
        fields = NodeFields(
            raw={**cluster, **own},
            os_sku=(*at, "osSku") if "osSku" in own else platform.OS_SKU,
            arch=(*at, "arch") if "arch" in own else platform.ARCH,
            vm_size=("pools", index, "vmSize") if "vmSize" in entry else ("vmSize",),
        )
        if "arch" not in own and entry.get("vmSize", self.value["vmSize"]) != self.value["vmSize"]:
            # the cluster's node.arch is its vmSize's; a pool of another size has its own size's
            fields = dataclasses.replace(fields, raw={k: v for k, v in fields.raw.items() if k != "arch"})
        node = platform.node_of(self.value, vm, known, self.kubernetes, self.release, self.cat, self.spec, fields)
        platform.verify_image_error(self.value, node, self.cat, self.spec)
        return node

    def _driver_platform(self, index: int, version: str, node: Node) -> None:
        """A pool's own driver version: where it is a release's driver, published for the pool's platform; else a
        warning that gen cannot tell."""
        path: JsonPath = ("pools", index, "driver", "version")
        owners = [r for r in self.cat.releases.values() if r.doca_driver == version]
        where = node.platform.describe()
        if not owners:
            self.notes.append(self.spec.note(path, f"{version} is not the DOCA driver of a release gen knows (gen "
                                                   f"releases), so gen cannot check that NVIDIA publishes it for the "
                                                   f"pool's {where} nodes (doca-driver:{version}"
                                                   f"{node.platform.driver_suffix}); check that your registry has "
                                                   "that tag before the pool syncs"))
            return
        if not any(self.cat.runs_driver(r, node.platform) for r in owners):
            why = self.cat.driver_refusal(owners[0], node.platform).split(";")[0]
            raise self.spec.error(path, f"{version} is the DOCA driver of network-operator "
                                        f"{', '.join(r.tag for r in owners)}, which cannot run on the pool's {where} "
                                        f"nodes ({why}); give a driver that runs there, or leave it to the "
                                        f"release's ({self.release.doca_driver})")

    def _shared_policy(self, pools: list[Pool]) -> None:
        """Before NicNodePolicy every pool is in the one NicClusterPolicy: refuse a pool that needs another device
        plugin or driver than it has."""
        mode = self.value["mode"]
        plugin = MODE_DEVICE_PLUGIN[mode]
        since = self.cat.node_policy_since
        later = [r.tag for r in self.cat.releases.values() if self.cat.has_node_policies(r)]
        fix = (f"network-operator {since} and later give each pool a NicNodePolicy of its own: set "
               f"networkOperator.version to {later[-1]} (gen upgrade --cluster {self.value['name']} --to {later[0]})"
               if later else
               f"NicNodePolicy came with network-operator {since}")
        shared = ("pools that differ only in VM size, node platform, taints or tolerations share one "
                  "NicClusterPolicy on any release")
        for pool in pools:
            at: JsonPath = ("pools", pool.index)
            if pool.device_plugin != plugin:
                raise self.spec.error((*at, "devicePlugin"), f"pool {pool.name} wants device plugin "
                                      f"{pool.device_plugin}, but network-operator {self.release.tag} has no "
                                      f"NicNodePolicy: every pool shares the NicClusterPolicy and its mode's plugin "
                                      f"({mode}: {plugin}); {fix}, or drop devicePlugin ({shared})")
            if pool.driver.version != self.release.doca_driver or pool.driver.upgrade_policy != self.default_policy:
                what = "version" if pool.driver.version != self.release.doca_driver else "upgradePolicy"
                raise self.spec.error((*at, "driver", what), f"pool {pool.name} wants a DOCA driver {what} of its "
                                      f"own, but network-operator {self.release.tag} has no NicNodePolicy: every pool "
                                      f"shares the NicClusterPolicy's driver; {fix}, or drop driver ({shared})")

    def _driver_pins(self, pools: list[Pool]) -> None:
        """A digest pins an image name: with a pinned DOCA driver, no pool can run another version, and pools on
        different platforms cannot share it (a driver digest is one platform's image)."""
        driver = self.release.image("docaDriver")
        name = f"{driver.repository}/{driver.image}"
        if name not in dict(self.value.get("imageDigests", {})):
            return
        for pool in pools:
            if pool.driver.version != self.release.doca_driver:
                raise self.spec.error(("pools", pool.index, "driver", "version"),
                                      f"imageDigests pins {name}, and a pin is per image name: every pool would pull "
                                      f"the pinned image, not {pool.driver.version}; remove the pin to run the "
                                      "pool's own driver")
        platforms = sorted({pool.node.platform.name for pool in pools})
        if len(platforms) > 1:
            raise self.spec.error(("imageDigests", name), f"pins the DOCA driver, whose image is per node platform, "
                                                          f"and the pools run {', '.join(platforms)}: one digest is "
                                                          "one platform's image; remove the pin (or give the pools "
                                                          "one platform)")


def cluster_wide(pools: tuple[Pool, ...]) -> tuple[tuple[dict[str, Any], ...], tuple[dict[str, Any], ...]]:
    """What the cluster-wide parts (the NicClusterPolicy's operands, the NFD worker) must tolerate and are checked
    against: every pool's tolerations, and every pool's taints."""
    return _union([p.tolerations for p in pools]), _union([p.taints for p in pools])


def ipoib_master_error(pools: tuple[Pool, ...], value: dict[str, Any], spec: Source) -> None:
    """One IPoIBNetwork serves every pool (its master is one interface name): pools whose VM sizes name their IPoIB
    interface differently need ipoib.master."""
    if value["mode"] != "ipoib" or "master" in value.get("ipoib", {}):
        return
    names = {p.vm_size.ipoib_interface: p for p in pools}
    if len(names) > 1:
        shown = ", ".join(f"{p.name} ({p.vm_size.name}): {n}" for n, p in names.items())
        raise spec.error(("ipoib", "master"), f"one IPoIBNetwork serves every pool, and its master is one interface "
                                              f"name, but the pools' VM sizes name theirs differently ({shown}); set "
                                              "ipoib.master to the name every pool's nodes have (an altname, ip -d "
                                              "link), or give the pools nic.ipoibInterface alike")
