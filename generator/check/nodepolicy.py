"""NicNodePolicy (network-operator v26.4.0 on) against what else is checked with it.

The webhook refuses a NicNodePolicy that sets a section (``ofedDriver``, ``rdmaSharedDevicePlugin``,
``sriovDevicePlugin``) the NicClusterPolicy sets too, and one whose nodes another NicNodePolicy selects
(``validateNicNodePolicyOverlap``; it lists the cluster's nodes). The webhook is off in the chart's defaults: then
both policies deploy the section, and on a node both select two driver DaemonSets (which cannot run side by side)
or two device plugins advertising the same resources. Offline the nodes are unknown, so selectors are compared:
whether every node of one is a node of the other, whether some node could be, or whether none can.
Also the names the operator derives from a NicNodePolicy's name, which must fit Kubernetes' limits.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Literal

from generator.catalog.webhook_facts import WebhookFacts
from generator.core.finding import Finding
from generator.core.objects import as_dict, as_list, as_str, get_in, group_kind, name_of
from generator.core.rules import define

WEBHOOK_SECTION_CONFLICT = define(
    "webhook-section-conflict", "error",
    "network-operator webhook (v26.4.0 on): a NicNodePolicy sets ofedDriver, rdmaSharedDevicePlugin or "
    "sriovDevicePlugin that the NicClusterPolicy sets too; without the webhook both deploy it on the nodes they share "
    "(a warning when their nodes cannot overlap)",
    "webhook")
WEBHOOK_NNP_NODE_OVERLAP = define(
    "webhook-nnp-node-overlap", "error",
    "network-operator webhook (v26.4.0 on): two NicNodePolicies select the same nodes (every node of one is a node of "
    "the other; a warning when some node could carry both selectors); the operator puts them in error and syncs "
    "neither",
    "webhook")
NICNODEPOLICY_DERIVED_NAME = define(
    "nicnodepolicy-derived-name", "error",
    "a NicNodePolicy's name is too long for a name the operator derives from it (v26.4.x: the SR-IOV device plugin's "
    "label network-operator-sriov-device-plugin-<name> fits 63 characters only up to 26), so that DaemonSet is refused",
    "cross")

# what two policies deploying one section on a node do
_CONSEQUENCES = {
    "ofedDriver": "two DOCA driver DaemonSets, which cannot run on one node (the second's pods never start)",
    "rdmaSharedDevicePlugin": "two RDMA shared device plugins advertising the same resources",
    "sriovDevicePlugin": "two SR-IOV device plugins advertising the same devices",
}

Overlap = Literal["all", "some", "none"]  # every node of one is the other's / a node could be both's / none can be


def _compare(value: str, op: str, values: list[Any]) -> bool | None:
    """Whether a node label ``value`` satisfies a node selector requirement (None: the requirement is malformed)."""
    if op == "In":
        return value in values
    if op == "NotIn":
        return value not in values
    if op in ("Gt", "Lt") and len(values) == 1:
        try:
            mine, bound = Fraction(int(value)), Fraction(int(str(values[0])))
        except ValueError:
            return False
        return mine > bound if op == "Gt" else mine < bound
    return None


def _term_overlap(labels: dict[str, str], term: dict[str, Any]) -> Overlap:
    """How the nodes labelled ``labels`` (a nodeSelector) relate to one nodeSelectorTerm's nodes."""
    result: Overlap = "all"
    for expr in as_list(term.get("matchExpressions")):
        expr = as_dict(expr)
        key, op, values = as_str(expr.get("key")), as_str(expr.get("operator")), as_list(expr.get("values"))
        if op == "Exists":
            verdict: Overlap = "all" if key in labels else "some"
        elif op == "DoesNotExist":
            verdict = "none" if key in labels else "some"
        elif key in labels:
            met = _compare(labels[key], op, values)
            verdict = "some" if met is None else "all" if met else "none"
        else:
            verdict = "none" if op == "In" and not values else "some"
        if verdict == "none":
            return "none"
        if verdict == "some":
            result = "some"
    if as_list(term.get("matchFields")):
        result = "some" if result == "all" else result
    return result


def policy_overlap(labels: dict[str, str], cluster_policy: dict[str, Any]) -> Overlap:
    """How a NicNodePolicy's nodes (its nodeSelector) relate to the NicClusterPolicy's (its spec.nodeAffinity's
    required terms, any of which a node may match; none: every node)."""
    terms = as_list(get_in(cluster_policy, ("spec", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution",
                                            "nodeSelectorTerms")))
    if not terms:
        return "all"
    verdicts = {_term_overlap(labels, as_dict(term)) for term in terms}
    return "all" if "all" in verdicts else "some" if "some" in verdicts else "none"


def selector_overlap(a: dict[str, str], b: dict[str, str]) -> Overlap:
    """How the nodes of two nodeSelectors relate: none when they want different values of one label, all when one's
    labels include the other's (every node of the narrower one is a node of the wider one), else some."""
    if any(key in b and b[key] != value for key, value in a.items()):
        return "none"
    if a.items() <= b.items() or b.items() <= a.items():
        return "all"
    return "some"


def _selector(obj: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in as_dict(get_in(obj, ("spec", "nodeSelector"))).items()}


def _nodes(labels: dict[str, str]) -> str:
    return "every node" if not labels else "nodes labelled " + ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))


def check_node_policies(members: list[tuple[int, dict[str, Any]]], facts: WebhookFacts,
                        cluster_policies: list[dict[str, Any]], node_policies: list[dict[str, Any]]) -> list[Finding]:
    """The NicNodePolicies among ``members`` against the NicClusterPolicies and NicNodePolicies checked with them."""
    nnp = facts.node_policy
    if nnp is None or not node_policies:  # the members are among the context's objects
        return []
    out: list[Finding] = []
    for index, obj in members:
        if group_kind(obj) != ("mellanox.com", "NicNodePolicy"):
            continue
        name, labels, spec = name_of(obj), _selector(obj), as_dict(obj.get("spec"))
        for derived in nnp.derived_names:
            if isinstance(spec.get(derived.section), dict) and len(name) > derived.name_max:
                out.append(NICNODEPOLICY_DERIVED_NAME.at(
                    ("metadata", "name"), f"NicNodePolicy name {name!r} is {len(name)} characters: with "
                    f"{derived.section} network-operator {facts.tag} derives {derived.what}, "
                    f"{len(derived.prefix) + len(name)} characters where at most {derived.limit} fit, so the API "
                    f"server refuses that DaemonSet; use a name of at most {derived.name_max} characters", index))
        for policy in cluster_policies:
            shared = [s for s in nnp.sections if isinstance(spec.get(s), dict)
                      and isinstance(get_in(policy, ("spec", s)), dict)]
            if not shared:
                continue
            overlap = policy_overlap(labels, policy)
            nodes = _nodes(labels) + (" that the NicClusterPolicy's nodeAffinity selects too" if overlap == "some"
                                      else "")
            for section in shared:
                if overlap == "none":
                    consequence = ("their nodes cannot overlap, but the webhook refuses it whatever the nodes; keep "
                                   "each section in one kind of policy")
                else:
                    consequence = (f"without the webhook (the chart's default) both deploy it on {nodes}: "
                                   f"{_CONSEQUENCES.get(section, 'two of its DaemonSets run there')}; move the "
                                   "section out of the NicClusterPolicy")
                out.append(WEBHOOK_SECTION_CONFLICT.at(
                    ("spec", section), f"NicNodePolicy {name!r} sets {section}, which NicClusterPolicy "
                    f"{name_of(policy)!r} sets too: the webhook of network-operator {facts.tag} refuses it, and "
                    f"{consequence}", index, "warning" if overlap == "none" else None))
        for other in node_policies:
            if other is obj or name_of(other) == name:
                continue
            overlap = selector_overlap(labels, _selector(other))
            if overlap == "none":
                continue
            certain = overlap == "all"
            out.append(WEBHOOK_NNP_NODE_OVERLAP.at(
                ("spec", "nodeSelector"), f"NicNodePolicy {name!r} ({_nodes(labels)}) and NicNodePolicy "
                f"{name_of(other)!r} ({_nodes(_selector(other))}) "
                + ("select the same nodes" if certain else "can both select a node that carries both labels")
                + f": the webhook of network-operator {facts.tag} refuses it and the operator puts every "
                "NicNodePolicy in error and syncs none of them while any node is selected twice; give each a "
                "different value of one label", index, None if certain else "warning"))
    return out
