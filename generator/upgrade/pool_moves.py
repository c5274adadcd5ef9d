"""Moving a cluster from one NicClusterPolicy to a NicNodePolicy per pool, without a driver outage: the order of the
applies, what each does to the operator's DaemonSets and which nodes reload the DOCA driver when, and the replay of
every apply through gen's webhook rules (the stored policies as each apply finds them). Pure.

The facts (Mellanox/network-operator v26.4.1 and Mellanox/doca-driver-build at network-operator-v26.4.1):

- the webhook refuses a NicNodePolicy section (ofedDriver, rdmaSharedDevicePlugin, sriovDevicePlugin) that the stored
  NicClusterPolicy sets, and a NicClusterPolicy that sets one a stored NicNodePolicy sets
  (api/v1alpha1/validator/nicpolicy_webhook.go, pkg/policyoverlap): the sections leave the NicClusterPolicy first;
- a section that leaves a policy makes the operator delete its DaemonSet (pkg/state/state_skel.go
  handleStateObjectsDeletion); a NicNodePolicy's DaemonSets carry its name as a suffix (nameSuffix) and select the
  Mellanox NIC label plus its nodeSelector (manifests/state-ofed-driver/0050_ofed-driver-ds.yaml), with a pod
  anti-affinity on nvidia.com/ofed-driver that keeps a second driver pod off a node until the first is gone;
- a driver pod that stops leaves the modules loaded (RESTORE_DRIVER_ON_POD_TERMINATION defaults to false:
  entrypoint/internal/config/config.go), and a new one that finds the same modules loaded does not reload them
  ("Loaded and candidate drivers are identical, skipping reload": entrypoint/internal/driver/driver.go);
- the upgrade controller drains a node before it replaces a driver pod of a DaemonSet whose template changed
  (upgradePolicy), per policy; a new DaemonSet's first pods are not upgrades: nothing drains their nodes.

So the move keeps each pool's driver version as the NicClusterPolicy had it: no node reloads. A pool that is to run
another version moves in a later sync, where its own DaemonSet's upgrade policy drains each node first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from generator.catalog.webhook_facts import WebhookFacts
from generator.check.cross import exposed_resources
from generator.check.nodepolicy import WEBHOOK_NNP_NODE_OVERLAP, WEBHOOK_SECTION_CONFLICT, check_node_policies
from generator.check.webhook import WebhookRules
from generator.core.finding import Finding
from generator.core.kube import Obj
from generator.core.objects import as_dict, get_in, group_kind, name_of

SECTIONS = ("ofedDriver", "rdmaSharedDevicePlugin", "sriovDevicePlugin")
NCP = ("mellanox.com", "NicClusterPolicy")
NNP = ("mellanox.com", "NicNodePolicy")
# the DaemonSets the operator makes of a section (v26.4.1 manifests; <suffix>: "-<NicNodePolicy name>", "" for the
# NicClusterPolicy)
DAEMONSETS = {
    "ofedDriver": "mofed-<os><version>-<kernel hash><suffix>-ds (one per OS and kernel)",
    "sriovDevicePlugin": "network-operator-sriov-device-plugin<suffix>",
    "rdmaSharedDevicePlugin": "rdma-shared-dp-ds<suffix>",
}


@dataclass(frozen=True)
class Apply:
    """One object applied (created, or updated in place), in order."""

    when: str  # Argo CD's wave and Flux's step it is applied in
    action: str  # create | update
    obj: Obj
    effects: tuple[str, ...]  # what the operator does to its DaemonSets and what the nodes see

    @property
    def label(self) -> str:
        return f"{self.obj.get('kind')} {name_of(self.obj)}"


@dataclass(frozen=True)
class Refusal:
    apply: Apply
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class Move:
    """A cluster's move from its NicClusterPolicy's sections to NicNodePolicies."""

    applies: tuple[Apply, ...]
    sections: tuple[str, ...]  # what leaves the NicClusterPolicy
    reloads: tuple[str, ...]  # the NicNodePolicies whose nodes would reload the driver without a drain


def policies(objects: Iterable[Any]) -> tuple[Obj | None, dict[str, Obj]]:
    """The NicClusterPolicy (None without one) and the NicNodePolicies by name, among ``objects``."""
    cluster = None
    nodes: dict[str, Obj] = {}
    for obj in objects:
        if not isinstance(obj, dict):
            continue
        if group_kind(obj) == NCP:
            cluster = obj
        elif group_kind(obj) == NNP:
            nodes[name_of(obj)] = obj
    return cluster, nodes


def _sections(policy: Obj | None) -> list[str]:
    spec = as_dict((policy or {}).get("spec"))
    return [s for s in SECTIONS if isinstance(spec.get(s), dict)]


def _driver(policy: Obj | None) -> str:
    return str(get_in(policy or {}, ("spec", "ofedDriver", "version")) or "")


def _daemonsets(sections: Iterable[str], suffix: str) -> str:
    return ", ".join(DAEMONSETS[s].replace("<suffix>", suffix) for s in sections)


def _selected(obj: Obj) -> str:
    selector = as_dict(get_in(obj, ("spec", "nodeSelector")))
    return ", ".join(f"{k}={v}" for k, v in sorted(selector.items())) or "every InfiniBand node"


def move_to_pools(before: list[Any], after: list[Any]) -> Move | None:
    """The move from a cluster with one NicClusterPolicy (``before``, as Argo CD applied it) to NicNodePolicies
    (``after``); None when ``before`` has NicNodePolicies already or ``after`` has none."""
    old_cluster, old_nodes = policies(before)
    new_cluster, new_nodes = policies(after)
    if old_nodes or not new_nodes or old_cluster is None or new_cluster is None:
        return None
    leaving = tuple(s for s in _sections(old_cluster) if s not in _sections(new_cluster))
    applies = [Apply("Argo CD wave 2; Flux rdma-policy", "update", new_cluster, _leaving_effects(leaving))]
    reloads = []
    for name in sorted(new_nodes):
        obj = new_nodes[name]
        effects, reload = _node_policy_effects(obj, old_cluster)
        applies.append(Apply("Argo CD wave 3, once the NicClusterPolicy is healthy; Flux rdma-pools, once rdma-policy "
                             "is Ready", "create", obj, effects))
        if reload:
            reloads.append(name)
    return Move(tuple(applies), leaving, tuple(reloads))


def _leaving_effects(leaving: tuple[str, ...]) -> tuple[str, ...]:
    if not leaving:
        return ("nothing leaves it: its sections are the NicNodePolicies' already",)
    out = [f"loses {', '.join(leaving)}: the operator deletes {_daemonsets(leaving, '')} on every InfiniBand node"]
    if "ofedDriver" in leaving:
        out.append("the driver pods stop, and the DOCA driver stays loaded on each node (the driver container "
                   "restores no inbox driver on exit: RESTORE_DRIVER_ON_POD_TERMINATION is false); no node reloads")
    plugins = [s for s in leaving if s != "ofedDriver"]
    if plugins:
        out.append("the device plugins stop: pods already running keep their RDMA devices, and no new pod asking for "
                   "one is scheduled until the pool's own plugin is up (the next step)")
    return tuple(out)


def _node_policy_effects(obj: Obj, old_cluster: Obj) -> tuple[tuple[str, ...], bool]:
    name, sections = name_of(obj), _sections(obj)
    old_driver = _driver(old_cluster)
    out = [f"on the nodes labelled {_selected(obj)}: the operator creates {_daemonsets(sections, '-' + name)}"]
    before = exposed_resources(as_dict(old_cluster.get("spec")))
    after = exposed_resources(as_dict(obj.get("spec")))
    if before != after:
        out.append(f"the pool's pods ask for {', '.join(sorted(after)) or 'no RDMA resource (privileged pods)'} from "
                   f"now on, not {', '.join(sorted(before)) or 'none'}: pods asking for another no longer schedule "
                   "there")
    version = _driver(obj)
    reload = False
    if "ofedDriver" in sections:
        if version == old_driver:
            out.append(f"each node's new driver pod starts once the old one is gone (pod anti-affinity) and finds "
                       f"{version} loaded: no reload (the driver skips a reload of identical modules); then the "
                       "pool's device plugin starts and its resources come back")
        else:
            reload = True
            out.append(f"each node's new driver pod loads {version} over {old_driver or 'the loaded driver'}: the "
                       "modules reload as each pod starts, without a drain (the first pods of a new DaemonSet are no "
                       "upgrade for the upgrade controller to drain for): keep the pool on "
                       f"{old_driver} for this move (pools[].driver.version) and move it in a later sync")
    return tuple(out), reload


# -- the webhook, replayed ----------------------------------------------------------------------------------------

# the webhook's refusals that depend on the stored policies: what the order must avoid
ORDER_RULES = (WEBHOOK_SECTION_CONFLICT.id, WEBHOOK_NNP_NODE_OVERLAP.id)


def _refusals(found: list[Finding], disabled: frozenset[str]) -> tuple[Finding, ...]:
    """What the webhook refuses among ``found``: errors, and a section in both policies even where their nodes cannot
    overlap (the webhook refuses it whatever the nodes)."""
    return tuple(f for f in found if f.rule not in disabled and
                 (f.severity == "error" or f.rule == WEBHOOK_SECTION_CONFLICT.id))


def replay(before: list[Any], applies: Iterable[Apply], webhook: WebhookRules,
           disabled: frozenset[str] = frozenset()) -> list[Refusal]:
    """Each apply in turn, as the admission webhook of the release sees it: the object's own rules, then the
    section and node checks against the policies stored so far (``before``, then each apply the webhook accepted).
    ``disabled``: rules the objects' files switch off (a finding gen reports elsewhere)."""
    stored_cluster, stored_nodes = policies(before)
    facts: WebhookFacts = webhook.facts
    out: list[Refusal] = []
    for apply in applies:
        obj = apply.obj
        found = webhook.check(obj, 0)
        if group_kind(obj) == NNP:
            others = [o for n, o in stored_nodes.items() if n != name_of(obj)]
            found += check_node_policies([(0, obj)], facts, [stored_cluster] if stored_cluster else [],
                                         [*others, obj])
        elif group_kind(obj) == NCP and stored_nodes:
            nodes = list(stored_nodes.values())
            found += [f for f in check_node_policies(list(enumerate(nodes)), facts, [obj], nodes)
                      if f.rule == WEBHOOK_SECTION_CONFLICT.id]
        refused = _refusals(found, disabled)
        if refused:
            out.append(Refusal(apply, refused))
            continue
        if group_kind(obj) == NCP:
            stored_cluster = obj
        else:
            stored_nodes[name_of(obj)] = obj
    return out
