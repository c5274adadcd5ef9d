"""What a cluster spec's pools teach about NicNodePolicies and the pods on the pools' nodes, generated or written by
hand: checked when the objects are checked with a cluster spec that has ``pools`` (``gen bundle``, ``gen check``,
``gen lint --cluster NAME`` or the files of ``output/<name>/``).

A pool's nodes carry AKS's labels: ``kubernetes.azure.com/agentpool=<name>``, ``node.kubernetes.io/instance-type=<VM
size>`` and ``kubernetes.io/arch``. A NicNodePolicy's nodeSelector selects a pool when every label it names that the
pool is known to carry has the pool's value; a label gen cannot know (a label of your own) makes it a "maybe", and a
policy of only such labels is not judged. From those: a NicNodePolicy that selects none of the spec's pools, a pool
that no NicNodePolicy selects while the NicNodePolicies hold the DOCA driver (its nodes get none), a pod pinned to a
pool that asks for an RDMA resource no device plugin of that pool advertises or for more devices than the pool's VM
size has, and what must run on a pool's nodes without tolerating its taints.
"""

from __future__ import annotations

from typing import Any, Literal

from generator.check.chart_objects import POOL_TAINTS, node_level, taint_text, untolerated
from generator.check.cross import RDMA_RESOURCE_OVER_NICS, Context, exposed_resources, is_rdma_resource
from generator.cluster.model import AGENT_POOL_LABEL, Pool
from generator.core.finding import Finding
from generator.core.formats import parse_quantity
from generator.core.objects import Path, as_dict, as_list, containers, get_in, group_kind, name_of, pod_templates
from generator.core.rules import define

NICNODEPOLICY_NO_POOL = define(
    "nicnodepolicy-no-pool", "warning",
    "checked with a cluster spec's pools: a NicNodePolicy's nodeSelector selects none of the pools (a pool renamed "
    "or gone, a typo in kubernetes.azure.com/agentpool): its driver and device plugin run on no node of the cluster's",
    "cross")
POOL_WITHOUT_POLICY = define(
    "pool-without-policy", "error",
    "checked with a cluster spec's pools: NicNodePolicies hold the DOCA driver, and no NicNodePolicy selects a pool "
    "(the NicClusterPolicy cannot have the driver beside them): the pool's nodes get no DOCA driver",
    "cross")
POOL_RESOURCE = define(
    "pool-resource", "error",
    "checked with a cluster spec's pools: a pod pinned to a pool (kubernetes.azure.com/agentpool) asks for an RDMA "
    "resource that no device plugin of that pool advertises (another pool's plugin does not help): it never schedules",
    "cross")

INSTANCE_TYPE = "node.kubernetes.io/instance-type"
ARCH = "kubernetes.io/arch"
Selects = Literal["yes", "maybe", "no", "unknown"]
NODE_POLICY = ("mellanox.com", "NicNodePolicy")
CLUSTER_POLICY = ("mellanox.com", "NicClusterPolicy")


def pool_labels(pool: Pool) -> dict[str, str]:
    """The labels AKS puts on every node of the pool that gen knows."""
    return {AGENT_POOL_LABEL: pool.name, INSTANCE_TYPE: pool.vm_size.name, ARCH: pool.node.platform.arch}


def selects(selector: dict[str, str], pool: Pool) -> Selects:
    """Whether a nodeSelector selects the pool's nodes: yes, no, maybe (labels gen cannot know), or unknown (none of
    its labels is one gen knows; an empty selector selects every node: yes)."""
    labels = pool_labels(pool)
    known = {k: v for k, v in selector.items() if k in labels}
    if any(labels[k] != v for k, v in known.items()):
        return "no"
    if len(known) == len(selector):
        return "yes"
    return "maybe" if known else "unknown"


def _selector(obj: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in as_dict(get_in(obj, ("spec", "nodeSelector"))).items()}


def pinned(template_spec: dict[str, Any]) -> set[str] | None:
    """The agent pools a pod template may run on (its nodeSelector, or every required node-affinity term naming
    them); None: not pinned to any."""
    label = as_dict(template_spec.get("nodeSelector")).get(AGENT_POOL_LABEL)
    if isinstance(label, str):
        return {label}
    terms = as_list(get_in(template_spec, ("affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution",
                                           "nodeSelectorTerms")))
    names: set[str] = set()
    for term in terms:
        values = [as_list(as_dict(e).get("values")) for e in as_list(as_dict(term).get("matchExpressions"))
                  if as_dict(e).get("key") == AGENT_POOL_LABEL and as_dict(e).get("operator") == "In"]
        if not values:
            return None
        names |= {str(v) for v in values[0]}
    return names or None


def check_pools(members: list[tuple[int, dict[str, Any]]], ctx: Context, pools: tuple[Pool, ...]) -> list[Finding]:
    """The members against the spec's pools (nothing without pools)."""
    if not pools:
        return []
    out: list[Finding] = []
    for index, obj in members:
        if group_kind(obj) == NODE_POLICY:
            out += _policy_selects_a_pool(index, obj, pools)
        for tpath, template in pod_templates(obj):
            out += _pod_on_pool(index, (*tpath, "spec"), as_dict(template.get("spec")), ctx, pools)
    if any(group_kind(obj) == NODE_POLICY for _, obj in members):
        out += _pools_covered(members, ctx, pools)
    return out


def _policy_selects_a_pool(index: int, obj: dict[str, Any], pools: tuple[Pool, ...]) -> list[Finding]:
    selector = _selector(obj)
    verdicts = [selects(selector, pool) for pool in pools]
    if all(v == "no" for v in verdicts):
        shown = ", ".join(f"{k}={v}" for k, v in sorted(selector.items()))
        known = ", ".join(f"{p.name} ({p.vm_size.name})" for p in pools)
        return [NICNODEPOLICY_NO_POOL.at(("spec", "nodeSelector"), f"NicNodePolicy {name_of(obj)!r} selects nodes "
                                         f"labelled {shown}, which no pool of the cluster spec has (pools: {known}); "
                                         f"its DOCA driver and device plugin run on none of them: select a pool by "
                                         f"{AGENT_POOL_LABEL}=<pool>", index)]
    return []


def _pools_covered(members: list[tuple[int, dict[str, Any]]], ctx: Context, pools: tuple[Pool, ...]) -> list[Finding]:
    """With the driver in NicNodePolicies, every pool needs one that selects it: reported at the first of them."""
    def has_driver(obj: dict[str, Any]) -> bool:
        return isinstance(get_in(obj, ("spec", "ofedDriver")), dict)

    drivers = [i for i, o in members if group_kind(o) == NODE_POLICY and has_driver(o)]
    if not drivers or any(has_driver(p) for p in ctx.cluster_policies):
        return []
    first = drivers[0]
    out = []
    for pool in pools:
        verdicts = [selects(_selector(o), pool) for o in ctx.node_policies]
        if all(v == "no" for v in verdicts):
            out.append(POOL_WITHOUT_POLICY.at(("spec", "nodeSelector"), f"pool {pool.name} ({pool.vm_size.name}) is "
                                              f"selected by no NicNodePolicy, and the NicNodePolicies hold the DOCA "
                                              f"driver, so its nodes get none (nor its device plugin); add a "
                                              f"NicNodePolicy with nodeSelector {AGENT_POOL_LABEL}: {pool.name}",
                                              first))
    return out


def _pool_resources(pool: Pool, ctx: Context) -> set[str] | None:
    """What the device plugins that run on the pool's nodes advertise (None: gen cannot tell)."""
    found: set[str] = set()
    judged = False
    for policy in ctx.node_policies:
        verdict = selects(_selector(policy), pool)
        if verdict == "unknown":
            return None
        if verdict in ("yes", "maybe"):
            judged = True
            found |= exposed_resources(as_dict(policy.get("spec")))
    for policy in ctx.cluster_policies:
        judged = True
        found |= exposed_resources(as_dict(policy.get("spec")))
    return found if judged else None


def _pod_on_pool(index: int, spath: Path, spec: dict[str, Any], ctx: Context,
                 pools: tuple[Pool, ...]) -> list[Finding]:
    names = pinned(spec)
    on = [p for p in pools if names is not None and p.name in names]
    out: list[Finding] = []
    for pool in on:
        available = _pool_resources(pool, ctx)
        for cpath, container in containers({"spec": spec}):
            resources = as_dict(container.get("resources"))
            limits, requests = as_dict(resources.get("limits")), as_dict(resources.get("requests"))
            for key in sorted(set(limits) | set(requests)):
                if not isinstance(key, str) or not is_rdma_resource(key, ctx):
                    continue
                where = (*spath[:-1], *cpath, "resources", "limits" if key in limits else "requests", key)
                if available is not None and key not in available:
                    shown = ", ".join(sorted(available)) or "none"
                    out.append(POOL_RESOURCE.at(where, f"pinned to pool {pool.name}, asks for {key}, which no device "
                                                f"plugin on that pool advertises (there: {shown}); the pod never "
                                                "schedules: ask for the pool's resource, or pin it to another pool",
                                                index))
                amount = parse_quantity(limits.get(key, requests.get(key)))
                if key not in ctx.shared and amount is not None and amount > pool.vm_size.nics:
                    out.append(RDMA_RESOURCE_OVER_NICS.at(where, f"asks for {amount} {key} on pool {pool.name}, whose "
                                                          f"{pool.vm_size.name} nodes have {pool.vm_size.nics} "
                                                          "InfiniBand NIC(s); the pod would never schedule", index))
    return out


# -- taints ------------------------------------------------------------------------------------------------------


def _runs_on(obj: dict[str, Any], pools: tuple[Pool, ...]) -> list[tuple[Path, list[Any], tuple[Pool, ...]]]:
    """(path of the tolerations, tolerations, the pools it runs on) of what must run on InfiniBand nodes."""
    kind = group_kind(obj)
    spec = as_dict(obj.get("spec"))
    if kind == CLUSTER_POLICY:
        return [(("spec", "tolerations"), as_list(spec.get("tolerations")), pools)]
    if kind == NODE_POLICY:
        on = tuple(p for p in pools if selects(_selector(obj), p) != "no")
        return [(("spec", "tolerations"), as_list(spec.get("tolerations")), on)]
    out = []
    templates = dict(pod_templates(obj))
    for path, tolerations in node_level(obj):
        template = as_dict(templates.get(path[:-2]))
        names = pinned(as_dict(template.get("spec")))
        on = pools if names is None else tuple(p for p in pools if p.name in names)
        out.append((path, tolerations, on))
    return out


def check_pool_taints(members: list[tuple[int, Any]], pools: tuple[Pool, ...], spec_file: str) -> list[Finding]:
    """What runs on a pool's nodes (the NicClusterPolicy's operands and DaemonSets on every pool, a NicNodePolicy on
    the pools it selects, a pod on the pool it is pinned to, else on every pool) tolerates that pool's taints."""
    out = []
    for index, obj in members:
        if not isinstance(obj, dict):
            continue
        for path, tolerations, on in _runs_on(obj, pools):
            for pool in on:
                for taint in untolerated(tolerations, pool.taints):
                    out.append(POOL_TAINTS.at(path, f"does not tolerate pool {pool.name}'s taint {taint_text(taint)}, "
                                                    f"so it never runs on that pool's nodes; add a matching toleration "
                                                    f"to pools[{pool.index}].tolerations in {spec_file}", index))
    return out
