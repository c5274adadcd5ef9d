"""What an upgrade step does to the nodes and pods: from the NicClusterPolicy and IPoIBNetwork before and after (as
kustomize built them), and the chart's images before and after."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from generator.core.kube import Obj
from generator.upgrade.migrations import component_effect


@dataclass(frozen=True)
class Disruption:
    what: str  # component, e.g. ofedDriver, secondaryNetwork.multus, chart: network-operator; a NicNodePolicy's
    #            component: "NicNodePolicy rdma-a100 ofedDriver"
    change: str  # e.g. "image a -> b", "config changed", "added", "removed"
    effect: str
    detail: str = ""  # a NicNodePolicy's driver: how its upgrade policy rolls it


def _find(objects: Iterable[Obj], kind: str) -> Obj | None:
    return next((o for o in objects if o.get("kind") == kind), None)


def _components(policy: Obj | None) -> dict[str, dict[str, Any]]:
    spec = (policy or {}).get("spec") or {}
    out = {k: v for k, v in spec.items() if isinstance(v, dict) and "image" in v}
    for key, value in (spec.get("secondaryNetwork") or {}).items():
        if isinstance(value, dict):
            out[f"secondaryNetwork.{key}"] = value
    return out


def _image(component: dict[str, Any]) -> str:
    return f"{component.get('repository', '')}/{component.get('image', '')}:{component.get('version', '')}"


def _change(old: dict[str, Any], new: dict[str, Any]) -> str:
    parts = []
    if _image(old) != _image(new):
        parts.append(f"image {_image(old)} -> {_image(new)}")
    if old.get("config") != new.get("config"):
        parts.append("config changed")
    rest = {k for k in set(old) | set(new) if k not in ("repository", "image", "version", "config")}
    changed = sorted(k for k in rest if old.get(k) != new.get(k))
    if changed:
        parts.append(f"{', '.join(changed)} changed")
    return "; ".join(parts)


def _node_policies(objects: Iterable[Obj]) -> dict[str, Obj]:
    return {str((o.get("metadata") or {}).get("name", "")): o for o in objects if o.get("kind") == "NicNodePolicy"}


def _policy_changes(old: Obj | None, new: Obj | None, prefix: str) -> list[Disruption]:
    """The changes of one policy's components, the driver first (``prefix``: a NicNodePolicy's, before each)."""
    out: list[Disruption] = []
    before, after = _components(old), _components(new)
    for name in sorted(set(before) | set(after), key=lambda n: (n != "ofedDriver", n)):
        if name not in after:
            change = "removed"
        elif name not in before:
            change = f"added ({_image(after[name])})"
        else:
            change = _change(before[name], after[name])
        if change:
            detail = driver_policy(new) if prefix and name == "ofedDriver" and name in after else ""
            effect = component_effect(name, removed=name not in after)
            if prefix:  # a NicNodePolicy's: its pool's nodes
                effect = effect.replace("on each InfiniBand node", "on each node of its pool")
            out.append(Disruption(f"{prefix}{name}", change, effect, detail))
    return out


def driver_policy(policy: Obj | None) -> str:
    """How the operator rolls a new driver over the nodes, from ``spec.ofedDriver.upgradePolicy``."""
    upgrade = (((policy or {}).get("spec") or {}).get("ofedDriver") or {}).get("upgradePolicy") or {}
    if not upgrade.get("autoUpgrade"):
        return ("upgradePolicy.autoUpgrade is off: the driver DaemonSet waits (OnDelete); drain each node, then delete "
                "its driver pod")
    parallel = upgrade.get("maxParallelUpgrades", 1)
    at_a_time = "all nodes at once" if parallel == 0 else f"{parallel} node(s) at a time"
    drain = upgrade.get("drain") or {}
    if drain.get("enable", True):
        how = (f"each is cordoned and drained first (force: {str(bool(drain.get('force'))).lower()}, "
               f"timeout {drain.get('timeoutSeconds', 300)} s): its pods are evicted before the modules reload")
    else:
        how = "nodes are not drained: pods using RDMA or IPoIB on a node fail while its modules reload"
    return f"the operator upgrades {at_a_time} (upgradePolicy.maxParallelUpgrades: {parallel}); {how}"


def disruptions(old_objects: list[Obj], new_objects: list[Obj], old_chart_images: Iterable[str],
                new_chart_images: Iterable[str]) -> list[Disruption]:
    """Every component whose change reaches the nodes, in the policy's order, then the networks, then the chart."""
    old_policy, new_policy = _find(old_objects, "NicClusterPolicy"), _find(new_objects, "NicClusterPolicy")
    out = _policy_changes(old_policy, new_policy, "")
    old_nodes, new_nodes = _node_policies(old_objects), _node_policies(new_objects)
    for name in sorted(set(old_nodes) | set(new_nodes)):
        what = f"NicNodePolicy {name}"
        if name in old_nodes and name in new_nodes:
            out += _policy_changes(old_nodes[name], new_nodes[name], f"{what} ")
        elif name in new_nodes and old_nodes:  # a pool added beside the others (the first ones: the move says it)
            out.append(Disruption(what, "added", "the operator creates its driver and device plugin DaemonSets on the "
                                                 "pool's nodes; their first driver pods load the driver undrained"))
        elif name in old_nodes:
            out.append(Disruption(what, "removed", "the operator deletes its DaemonSets: the pool's nodes keep the "
                                                   "loaded driver but lose its driver and device plugin pods"))
    old_net, new_net = _find(old_objects, "IPoIBNetwork"), _find(new_objects, "IPoIBNetwork")
    if old_net is not None and new_net is not None and old_net.get("spec") != new_net.get("spec"):
        changed = sorted(k for k in set(old_net["spec"]) | set(new_net["spec"])
                         if old_net["spec"].get(k) != new_net["spec"].get(k))
        out.append(Disruption(f"IPoIBNetwork {new_net['metadata']['name']}", f"{', '.join(changed)} changed",
                              "the operator re-renders its NetworkAttachmentDefinition: running pods keep their "
                              "interface and address; pods started after the sync use the new configuration"))
    gone, came = sorted(set(old_chart_images) - set(new_chart_images)), sorted(set(new_chart_images) -
                                                                              set(old_chart_images))
    if gone or came:
        out.append(Disruption("chart images", "; ".join([*(f"- {i}" for i in gone), *(f"+ {i}" for i in came)]),
                              "the operator and NFD (master, gc, worker DaemonSet) restart: no node loses a device "
                              "or a label"))
    return out
