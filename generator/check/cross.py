"""Rules across objects: what no single schema or webhook checks and users get wrong.

``unit`` is the set being checked (one kustomize build, or the loose files); ``context`` the objects a
reference may point at (the unit itself, plus for loose files every other object of the run).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from generator.check.ipam import IPAM_POOL_REF
from generator.core.finding import Finding
from generator.core.formats import json_value, parse_quantity
from generator.core.kube import NETWORKS_ANNOTATION, NFD_PREFIX, PSA_ENFORCE
from generator.core.objects import (
    Path,
    as_dict,
    as_list,
    as_str,
    containers,
    get_in,
    group_kind,
    name_of,
    namespace_of,
    pod_templates,
)
from generator.core.rules import define

DUPLICATE_OBJECT = define(
    "duplicate-object", "error",
    "two objects with the same group, kind, namespace and name in one file",
    "schema")
NFD_LABEL_UNSET = define(
    "nfd-label-unset", "error",
    "the NicClusterPolicy/NicNodePolicy selects nodes by an NFD label that no NodeFeatureRule sets (a warning"
    " when no NodeFeatureRule is linted)",
    "cross")
NETWORK_REF = define(
    "network-ref", "error",
    "a pod's k8s.v1.cni.cncf.io/networks names no IPoIBNetwork, MacvlanNetwork, HostDeviceNetwork or "
    "NetworkAttachmentDefinition (or is malformed)",
    "cross")
RDMA_RESOURCE_UNKNOWN = define(
    "rdma-resource-unknown", "error",
    "a pod requests an RDMA resource that no device plugin config of the policy exposes",
    "cross")
RDMA_RESOURCE_OVER_NICS = define(
    "rdma-resource-over-nics", "error",
    "a pod requests more RDMA devices than a node offers: the VM size's InfiniBand NICs (SR-IOV), or the shared "
    "device plugin's rdmaHcaMax",
    "cross")
RDMA_IPC_LOCK = define(
    "rdma-ipc-lock", "warning",
    "an RDMA container lacks the IPC_LOCK capability (memory registration fails)",
    "cross")
POD_EXTENDED_RESOURCE = define(
    "pod-extended-resource", "error",
    "an extended resource (rdma/..., nvidia.com/...) needs an integer limit equal to its request (Kubernetes "
    "ValidateResourceRequirements)",
    "cross")
PSA_PRIVILEGED = define(
    "psa-privileged", "error",
    "the operator's namespace lacks pod-security.kubernetes.io/enforce: privileged (its driver and device-"
    "plugin pods are privileged)",
    "cross")
RBAC_BROAD = define(
    "rbac-broad", "warning",
    "a binding to cluster-admin, or a role that grants every verb on every resource: more than the network "
    "operator or its workloads need",
    "cross")

OPERATOR_NAMESPACES = ("network-operator", "nvidia-network-operator")
# NFD's built-in sources label without any rule (cpu-, kernel-, ...); pci- labels depend on the worker config,
# which the network-operator chart leaves at GPU classes (0300, 0302), so those need a NodeFeatureRule.
_NFD_BUILTIN = ("cpu-", "kernel-", "memory-", "network-", "storage-", "system-", "usb-", "local-")
_DEFAULT_PREFIX = {"rdma": "rdma", "sriov": "intel.com"}  # the plugins' own --resource-prefix defaults
_NOT_RDMA = ("nvidia.com/gpu", "nvidia.com/mig-")
_NETWORK_KINDS = {("mellanox.com", "IPoIBNetwork"), ("mellanox.com", "MacvlanNetwork"),
                  ("mellanox.com", "HostDeviceNetwork"), ("k8s.cni.cncf.io", "NetworkAttachmentDefinition")}


@dataclass
class Context:
    """What the objects in the context provide."""

    nfd_labels: set[str] = field(default_factory=set)
    nfd_rules: int = 0
    nfd_dynamic: bool = False  # a rule with labelsTemplate: labels unknown offline
    networks: dict[str, set[str]] = field(default_factory=dict)  # name -> namespaces ("" = any)
    ipoib_networks: set[str] = field(default_factory=set)
    resources: set[str] = field(default_factory=set)  # "prefix/name" the device plugins expose
    # shared device plugin resources: "prefix/name" -> rdmaHcaMax (what a node offers; None: not given)
    shared: dict[str, int | None] = field(default_factory=dict)
    policies: int = 0
    pools: set[str] = field(default_factory=set)
    cluster_policies: list[dict[str, Any]] = field(default_factory=list)  # the NicClusterPolicy objects
    node_policies: list[dict[str, Any]] = field(default_factory=list)  # the NicNodePolicy objects
    workload_images: set[str] = field(default_factory=set)  # image names (last path segment) the workloads run

    @classmethod
    def build(cls, objs: list[dict[str, Any]]) -> Context:
        ctx = cls()
        for obj in objs:
            group, kind = group_kind(obj)
            spec = as_dict(obj.get("spec"))
            if kind == "NodeFeatureRule" and group == "nfd.k8s-sigs.io":
                ctx.nfd_rules += 1
                for rule in as_list(spec.get("rules")):
                    rule = as_dict(rule)
                    ctx.nfd_dynamic |= "labelsTemplate" in rule
                    for key in as_dict(rule.get("labels")):
                        ctx.nfd_labels.add(key if "/" in key else f"{NFD_PREFIX}/{key}")
            elif (group, kind) in _NETWORK_KINDS:
                if kind == "NetworkAttachmentDefinition":
                    ns = namespace_of(obj)
                else:
                    ns = as_str(spec.get("networkNamespace")) or "default"
                ctx.networks.setdefault(name_of(obj), set()).add(ns)
                if kind == "IPoIBNetwork":
                    ctx.ipoib_networks.add(name_of(obj))
            elif group == "mellanox.com" and kind in ("NicClusterPolicy", "NicNodePolicy"):
                ctx.policies += 1
                ctx.resources |= exposed_resources(spec)
                ctx.shared.update(shared_capacity(spec))
                (ctx.cluster_policies if kind == "NicClusterPolicy" else ctx.node_policies).append(obj)
            elif group == "nv-ipam.nvidia.com" and kind in ("IPPool", "CIDRPool"):
                ctx.pools.add(name_of(obj))
            elif group in ("apps", ""):
                for _path, template in pod_templates(obj):
                    for _cpath, container in containers(template):
                        ctx.workload_images.add(image_name(as_str(container.get("image"))))
        return ctx


def image_name(ref: str) -> str:
    """The last path segment of an image reference, without tag or digest: ``whereabouts`` of
    ``ghcr.io/k8snetworkplumbingwg/whereabouts:v0.7.0``."""
    name = ref.partition("@")[0].rsplit("/", 1)[-1]
    return name.partition(":")[0]


def exposed_resources(spec: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for component, list_key, plugin in (("rdmaSharedDevicePlugin", "configList", "rdma"),
                                        ("sriovDevicePlugin", "resourceList", "sriov")):
        raw = get_in(spec, (component, "config"))
        try:
            config = json_value(raw) if isinstance(raw, str) else None
        except ValueError:
            continue
        for item in as_list(as_dict(config).get(list_key)):
            item = as_dict(item)
            prefix = as_str(item.get("resourcePrefix")) or _DEFAULT_PREFIX[plugin]
            if as_str(item.get("resourceName")):
                out.add(f"{prefix}/{item['resourceName']}")
    return out


def shared_capacity(spec: dict[str, Any]) -> dict[str, int | None]:
    """The RDMA shared device plugin's resources and how many a node offers of each: its ``rdmaHcaMax`` (every
    pod that asks gets all the selected NICs; the count only limits how many pods share them)."""
    raw = get_in(spec, ("rdmaSharedDevicePlugin", "config"))
    try:
        config = json_value(raw) if isinstance(raw, str) else None
    except ValueError:
        return {}
    out: dict[str, int | None] = {}
    for item in as_list(as_dict(config).get("configList")):
        item = as_dict(item)
        if as_str(item.get("resourceName")):
            most = item.get("rdmaHcaMax")
            key = f"{as_str(item.get('resourcePrefix')) or _DEFAULT_PREFIX['rdma']}/{item['resourceName']}"
            out[key] = most if isinstance(most, int) and not isinstance(most, bool) and most > 0 else None
    return out


def _node_selector_keys(obj: dict[str, Any]) -> Iterator[tuple[Path, str]]:
    spec = as_dict(obj.get("spec"))
    affinity = as_dict(spec.get("nodeAffinity"))
    required = as_dict(affinity.get("requiredDuringSchedulingIgnoredDuringExecution"))
    terms: list[tuple[Path, Any]] = [
        (("spec", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms", i), t)
             for i, t in enumerate(as_list(required.get("nodeSelectorTerms")))]
    for i, pref in enumerate(as_list(affinity.get("preferredDuringSchedulingIgnoredDuringExecution"))):
        terms.append((("spec", "nodeAffinity", "preferredDuringSchedulingIgnoredDuringExecution", i, "preference"),
                      as_dict(pref).get("preference")))
    for path, term in terms:
        for j, expr in enumerate(as_list(as_dict(term).get("matchExpressions"))):
            if isinstance(as_dict(expr).get("key"), str):
                yield (*path, "matchExpressions", j, "key"), expr["key"]
    for key in as_dict(spec.get("nodeSelector")):
        yield ("spec", "nodeSelector", key), key


def _needs_nfd_rule(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    in_nfd = prefix == NFD_PREFIX or prefix.endswith("." + NFD_PREFIX)
    return in_nfd and not name.startswith(_NFD_BUILTIN)


def _parse_networks(value: str) -> list[tuple[str, str]] | None:
    """(namespace or "", name) per attachment; None when the annotation is malformed."""
    text = value.strip()
    if text.startswith("["):
        try:
            items = json_value(text)
        except ValueError:
            return None
        if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("name"), str)
                                                  for i in items):
            return None
        return [(as_str(i.get("namespace")), i["name"]) for i in items]
    out = []
    for part in text.split(","):
        part = part.strip().split("@")[0]
        if not part:
            continue
        ns, _, name = part.rpartition("/")
        out.append((ns, name))
    return out


def is_rdma_resource(key: str, ctx: Context) -> bool:
    if key.startswith(_NOT_RDMA):
        return False
    prefix = key.split("/", 1)[0]
    return prefix == "rdma" or key in ctx.resources or any(r.startswith(prefix + "/") for r in ctx.resources)


def check_unit(unit: list[tuple[int, dict[str, Any]]], ctx: Context, vm_nics: int | None) -> list[Finding]:
    out: list[Finding] = []
    for index, obj in unit:
        group, kind = group_kind(obj)
        if group == "mellanox.com" and kind in ("NicClusterPolicy", "NicNodePolicy") and not ctx.nfd_dynamic:
            for path, key in _node_selector_keys(obj):
                if _needs_nfd_rule(key) and key not in ctx.nfd_labels:
                    hint = ("no NodeFeatureRule among the linted objects sets it" if ctx.nfd_rules
                            else "no NodeFeatureRule was linted with it; add the one that sets it")
                    out.append(NFD_LABEL_UNSET.at(path, f"selects nodes by label {key!r}, but {hint}; "
                                     "the operator's pods would be scheduled on no node", index,
                                     None if ctx.nfd_rules else "warning"))
        if group == "" and kind == "Namespace" and name_of(obj) in OPERATOR_NAMESPACES:
            labels = as_dict(as_dict(obj.get("metadata")).get("labels"))
            if labels.get(PSA_ENFORCE) != "privileged":
                where = ("metadata", "labels", PSA_ENFORCE) if PSA_ENFORCE in labels else ("metadata",)
                out.append(PSA_PRIVILEGED.at(where, f"the operator's namespace {name_of(obj)!r} needs label "
                                 f"{PSA_ENFORCE}: privileged (has {labels.get(PSA_ENFORCE)!r}); the driver and "
                                 "device-plugin DaemonSets run privileged pods", index))
        for tpath, template in pod_templates(obj):
            out += _check_pod(index, obj, tpath, template, ctx, vm_nics)
        out += _check_rbac(index, obj)
    return out


def _check_rbac(index: int, obj: dict[str, Any]) -> list[Finding]:
    group, kind = group_kind(obj)
    if group != "rbac.authorization.k8s.io":
        return []
    if kind in ("ClusterRoleBinding", "RoleBinding"):
        role = as_dict(obj.get("roleRef"))
        if as_str(role.get("name")) == "cluster-admin" and as_str(role.get("kind")) == "ClusterRole":
            return [RBAC_BROAD.at(("roleRef", "name"), f"{kind} {name_of(obj)!r} grants cluster-admin: every "
                                  "permission on the whole cluster", index)]
    if kind in ("ClusterRole", "Role"):
        for i, rule in enumerate(as_list(obj.get("rules"))):
            rule = as_dict(rule)
            if "*" in as_list(rule.get("verbs")) and "*" in as_list(rule.get("resources")):
                return [RBAC_BROAD.at(("rules", i), f"{kind} {name_of(obj)!r} grants every verb on every "
                                      "resource" + (" of every API group" if "*" in as_list(rule.get("apiGroups"))
                                                    else ""), index)]
    return []


def _check_pod(index: int, obj: dict[str, Any], tpath: Path, template: dict[str, Any], ctx: Context,
               vm_nics: int | None) -> list[Finding]:
    out, on_ipoib = _check_networks(index, obj, tpath, template, ctx)
    rdma_containers = []
    for cpath, container in containers(template):
        found, wants_rdma = _check_resources(index, (*tpath, *cpath, "resources"),
                                             as_dict(container.get("resources")), ctx, vm_nics)
        out += found
        if wants_rdma:
            rdma_containers.append((cpath, container))
    if not rdma_containers and on_ipoib:
        rdma_containers = list(containers(template))
    out += _check_ipc_lock(index, tpath, rdma_containers)
    return out


def _check_networks(index: int, obj: dict[str, Any], tpath: Path, template: dict[str, Any],
                    ctx: Context) -> tuple[list[Finding], bool]:
    """The pod template's network attachments (its k8s.v1.cni.cncf.io/networks annotation) against the networks in
    the context; and whether it attaches an IPoIBNetwork."""
    meta = as_dict(template.get("metadata"))
    annotation = as_dict(meta.get("annotations")).get(NETWORKS_ANNOTATION)
    if not isinstance(annotation, str):
        return [], False
    out: list[Finding] = []
    apath = (*tpath, "metadata", "annotations", NETWORKS_ANNOTATION)
    refs = _parse_networks(annotation)
    if refs is None:
        out.append(NETWORK_REF.at(apath, f"{NETWORKS_ANNOTATION} is neither a comma-separated list of "
                         "[namespace/]name[@interface] nor a JSON list of {\"name\": ...} objects", index))
    pod_ns = as_str(meta.get("namespace")) or namespace_of(obj)
    on_ipoib = False
    for ns, name in refs or []:
        known = ctx.networks.get(name)
        want = ns or pod_ns
        if known is None:
            out.append(NETWORK_REF.at(apath, f"network {name!r} is not defined by any IPoIBNetwork, "
                             "MacvlanNetwork, HostDeviceNetwork or NetworkAttachmentDefinition linted with it",
                             index))
        elif want and "" not in known and want not in known:
            out.append(NETWORK_REF.at(apath, f"network {name!r} exists in namespace(s) "
                             f"{', '.join(sorted(known))}, not in {want!r}", index))
        on_ipoib |= name in ctx.ipoib_networks
    return out, on_ipoib


def _is_extended_resource(key: Any) -> bool:
    """A resource name with a domain prefix outside kubernetes.io (``rdma/...``, ``nvidia.com/...``)."""
    return (isinstance(key, str) and "/" in key and not key.split("/")[0].endswith("kubernetes.io")
            and not key.startswith("hugepages-"))


def _check_resources(index: int, base: Path, resources: dict[str, Any], ctx: Context,
                     vm_nics: int | None) -> tuple[list[Finding], bool]:
    """One container's extended resources (at ``base``, its ``resources``); and whether it requests RDMA."""
    requests, limits = as_dict(resources.get("requests")), as_dict(resources.get("limits"))
    out: list[Finding] = []
    wants_rdma = False
    for key in sorted(set(requests) | set(limits)):
        if not _is_extended_resource(key):
            continue
        out += _extended(index, base, key, requests, limits)
        if is_rdma_resource(key, ctx):
            wants_rdma = True
            out += _check_rdma_resource(index, base, key, requests, limits, ctx, vm_nics)
    return out, wants_rdma


def _check_rdma_resource(index: int, base: Path, key: str, requests: dict[str, Any], limits: dict[str, Any],
                         ctx: Context, vm_nics: int | None) -> list[Finding]:
    """An RDMA resource a container asks for: exposed by the policy, and no more than a node offers."""
    out: list[Finding] = []
    where = (*base, "limits" if key in limits else "requests", key)
    if ctx.policies and ctx.resources and key not in ctx.resources:
        out.append(RDMA_RESOURCE_UNKNOWN.at(where, f"resource {key!r} is exposed by no device plugin "
                         f"config of the policy (exposed: {', '.join(sorted(ctx.resources))})", index))
    amount = parse_quantity(limits.get(key, requests.get(key)))
    if key in ctx.shared:  # shared: a node offers rdmaHcaMax of it, whatever its NIC count
        most = ctx.shared[key]
        if most is not None and amount is not None and amount > most:
            out.append(RDMA_RESOURCE_OVER_NICS.at(where, f"asks for {amount} {key} but the shared device "
                             f"plugin offers {most} per node (rdmaHcaMax); the pod would never schedule",
                             index))
    elif vm_nics is not None and amount is not None and amount > vm_nics:
        out.append(RDMA_RESOURCE_OVER_NICS.at(where, f"asks for {amount} {key} but the VM size has "
                         f"{vm_nics} InfiniBand NIC(s); the pod would never schedule", index))
    return out


def _check_ipc_lock(index: int, tpath: Path, rdma_containers: list[tuple[Path, dict[str, Any]]]) -> list[Finding]:
    """The RDMA containers that can neither lock memory (IPC_LOCK) nor run privileged."""
    out: list[Finding] = []
    for cpath, container in rdma_containers:
        security = as_dict(container.get("securityContext"))
        added = [c for c in as_list(as_dict(security.get("capabilities")).get("add")) if isinstance(c, str)]
        if security.get("privileged") is not True and not {"IPC_LOCK", "CAP_IPC_LOCK", "ALL"} & set(added):
            out.append(RDMA_IPC_LOCK.at((*tpath, *cpath), f"container {as_str(container.get('name'))!r} uses "
                             "RDMA but does not add the IPC_LOCK capability (securityContext.capabilities.add); "
                             "RDMA memory registration will fail", index))
    return out


def _extended(index: int, base: Path, key: str, requests: dict[str, Any], limits: dict[str, Any]) -> list[Finding]:
    out = []
    for kind_name, values in (("requests", requests), ("limits", limits)):
        if key in values:
            amount = parse_quantity(values[key])
            if amount is not None and amount.denominator != 1:
                out.append(POD_EXTENDED_RESOURCE.at((*base, kind_name, key),
                                 f"{key} must be a whole number, got {values[key]!r}", index))
    if key in requests and key not in limits:
        out.append(POD_EXTENDED_RESOURCE.at((*base, "requests", key),
                         f"{key} is requested but has no limit; extended resources need limits equal to requests",
                         index))
    elif key in requests and parse_quantity(requests[key]) != parse_quantity(limits[key]):
        out.append(POD_EXTENDED_RESOURCE.at((*base, "requests", key),
                         f"{key} request ({requests[key]}) must equal its limit ({limits[key]}); extended resources "
                         "cannot be overcommitted", index))
    return out


def check_pool_refs(refs: list[tuple[int, Path, str]], ctx: Context) -> list[Finding]:
    """nv-ipam pools no IPPool/CIDRPool defines: an error when a NicClusterPolicy is checked with them (the set is the
    deployment), else a warning (the pools may be in files not checked)."""
    complete = bool(ctx.cluster_policies)
    hint = ("pods attached to it get no address" if complete else
            "check that it is created with this network, or lint them together")
    return [IPAM_POOL_REF.at(path, f"nv-ipam pool {name!r} is not defined by any IPPool or CIDRPool "
                  f"(nv-ipam.nvidia.com) checked with it; {hint}", index, None if complete else "warning")
            for index, path, name in refs if name not in ctx.pools]


def check_duplicates(unit: list[tuple[int, dict[str, Any]]], files: list[str]) -> list[Finding]:
    """The same object twice in one file (across files, alternatives are common: upstream's examples)."""
    seen: dict[tuple[str, str, str, str, str], int] = {}
    out = []
    for index, obj in unit:
        group, kind = group_kind(obj)
        name = name_of(obj)
        if not kind or not name:
            continue
        key = (files[index], group, kind, namespace_of(obj), name)
        if key in seen:
            out.append(DUPLICATE_OBJECT.at(("metadata", "name"), f"{kind} {name!r} is defined twice "
                             "in the same file (kustomize rejects it; kubectl and Argo CD apply only the last one)",
                             index))
        else:
            seen[key] = index
    return out
