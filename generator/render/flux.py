"""Flux objects for a cluster delivered by Flux (spec ``gitops: flux``): the same rendered and checked bundle as
Argo CD gets, applied by a chain of Flux Kustomizations instead of one Application.

    output/<name>/flux/kustomization.yaml     what the bootstrap (or an AKS fluxConfiguration) applies: the chain
    output/<name>/flux/kustomizations.yaml    one Flux Kustomization per step, each waiting on the one before
    output/<name>/flux/<step>/                what a step applies (a kustomize directory)

The chain is data (``CHAIN``): each step names the steps it waits on (``dependsOn``), and builds its objects, its
health expressions and its timeout (``STEPS``). A step a cluster does not have (the IPoIB network outside ipoib
mode, the verify Job unless asked for) is stepped over: whoever waits on it waits on what it waits on. Today:

    operator   the Namespace, a HelmRepository and the network-operator HelmRelease (its values: helm/values.yaml)
    policy     the NodeFeatureRule and the mode's NicClusterPolicy (and the user's overlays/<name>/), healthy when
               the operator reports status.state ready (healthCheckExprs: templates/flux-health.yaml)
    pools      the NicNodePolicies of a cluster's node pools (spec pools, network-operator v26.4.0 on), after the
               cluster-wide policy has dropped the sections they take (the webhook refuses a section in both); healthy
               when each reports status.state ready
    network    the IPoIBNetwork (ready likewise) and the nv-ipam IPPool, whose CRD the operator installs with the policy
    peermem    with gpu {driver: aks, rdma: peermem}: the nvidia-peermem reloader, once the DOCA driver is loaded
               (loading it unloads nvidia-peermem: the reloader exists for that); with pools, after every pool's
               NicNodePolicy is ready (their DOCA drivers are loaded)
    gpu-operator  with gpu {driver: operator}: its Namespace, a HelmRepository and the gpu-operator HelmRelease (its
               values: helm/gpu-operator-values.yaml), Ready when the ClusterPolicy it installs reports status.state
               ready (the HelmRelease's own poller wait with healthCheckExprs), after the network drivers are ready
               (the NicClusterPolicy's, and with pools every NicNodePolicy's)
    verify     the opt-in checks (ib_write_bw, NCCL), the last step

Each step is one builder in ``STEPS``, returning its ``Step`` when the spec asks for it; ``CHAIN`` orders them.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from generator import catalog
from generator.catalog.charts import chart_facts
from generator.catalog.gpu import load_gpu
from generator.cluster.model import Cluster, Flux
from generator.core import layout
from generator.core.kube import PART_OF, Obj
from generator.render import bundle_objects as objects
from generator.render.data import template
from generator.render.gpu import RELOADER_FILE, gpu_namespace, gpu_values, operator_of, reloader_objects, wants_reloader
from generator.render.gpu_argocd import GPU_RELEASE_NAME
from generator.render.operator_values import helm_values
from generator.render.output import kustomization
from generator.render.verify import NCCL_FILE, VERIFY_FILE, nccl_objects, verify_objects

FLUX_DIR = "flux"
ENTRY_FILE = f"{FLUX_DIR}/kustomization.yaml"  # kustomize: what the bootstrap applies
CHAIN_FILE = f"{FLUX_DIR}/kustomizations.yaml"  # the Flux Kustomizations, one per step

KUSTOMIZATION_API = "kustomize.toolkit.fluxcd.io/v1"
HELM_API = "helm.toolkit.fluxcd.io/v2"
SOURCE_API = "source.toolkit.fluxcd.io/v1"
FLUX_KINDS = {(KUSTOMIZATION_API, "Kustomization"), (HELM_API, "HelmRelease"),
              (SOURCE_API, "HelmRepository"), (SOURCE_API, "GitRepository")}
# Flux prunes what a Kustomization applied when it is removed; the operator's Namespace (its state, the users'
# secrets) is kept, as Argo CD keeps it (sync-options Delete=false)
PRUNE = "kustomize.toolkit.fluxcd.io/prune"
FLUX_ANNOTATIONS = {"Namespace": {PRUNE: "disabled"}}  # what gen adds to the bundle's objects for Flux, by kind

HELM_REPOSITORY = "nvidia"
CLUSTER_POLICY_API = "nvidia.com/v1"  # the GPU Operator's ClusterPolicy
FLUX_RELEASE_FILE = f"{FLUX_DIR}/operator/helmrelease.yaml"  # the network-operator HelmRelease
FLUX_GPU_RELEASE_FILE = f"{FLUX_DIR}/gpu-operator/helmrelease.yaml"
RELEASE_NAME = "network-operator"  # as Argo CD's helm source names it: the chart's objects are named after it
INTERVAL = "10m"
RETRY_INTERVAL = "2m"


@dataclass(frozen=True)
class Step:
    """One link of the chain: a directory under flux/ and the Flux Kustomization that applies it."""

    name: str
    files: dict[str, list[Obj]]  # the directory's files (besides kustomization.yaml), by name
    health: tuple[str, ...] = ()  # "apiVersion/kind" of what it applies that its health expressions decide
    timeout: str = "10m"  # how long Flux waits for everything it applies to be healthy
    force: bool = False  # recreate what cannot be patched (a Job's template)
    components: tuple[str, ...] = ()  # kustomize components (the user's overlay)
    why: str = ""  # one line for `gen plan`

    @property
    def directory(self) -> str:
        return f"{FLUX_DIR}/{self.name}"


# The chain, in order: each step and the steps it waits on.
CHAIN: dict[str, tuple[str, ...]] = {
    "operator": (),
    "policy": ("operator",),
    "pools": ("policy",),  # a cluster's node pools' NicNodePolicies
    "network": ("pools",),
    "peermem": ("network",),  # AKS's GPU driver: reload nvidia-peermem after the DOCA driver is in
    "gpu-operator": ("peermem",),  # the GPU Operator's driver: once the network drivers are ready
    "verify": ("gpu-operator",),
}


def kustomization_name(step: str) -> str:
    return f"rdma-{step}"


def _labels(cluster: Cluster) -> dict[str, str]:
    return {**PART_OF, "rdma-gitops/cluster": cluster.name}


def _flux(cluster: Cluster) -> Flux:
    if cluster.flux is None:
        raise ValueError(f"cluster {cluster.name} is not delivered by Flux (gitops: {cluster.gitops})")
    return cluster.flux


@functools.cache
def _health_checks() -> tuple[tuple[str, Obj], ...]:
    return tuple((f"{h['apiVersion']}/{h['kind']}", h) for h in template("flux-health.yaml"))


def health_checks(kinds: tuple[str, ...]) -> list[Obj]:
    """The healthCheckExprs entries of these kinds ("apiVersion/kind"), from templates/flux-health.yaml."""
    known = dict(_health_checks())
    return [dict(known[kind]) for kind in kinds]


def health_kinds() -> tuple[str, ...]:
    """Every kind flux-health.yaml has expressions for."""
    return tuple(kind for kind, _ in _health_checks())


# -- the steps ---------------------------------------------------------------------------------------------------


def _namespace(cluster: Cluster) -> Obj:
    ns = objects.namespace(cluster)
    meta = ns["metadata"]
    meta["annotations"] = {**meta.get("annotations", {}), **FLUX_ANNOTATIONS["Namespace"]}
    return ns


def helm_repository(cluster: Cluster) -> Obj:
    return {
        "apiVersion": SOURCE_API,
        "kind": "HelmRepository",
        "metadata": {"name": HELM_REPOSITORY, "namespace": cluster.namespace, "labels": _labels(cluster)},
        "spec": {"interval": "1h", "url": catalog.load().chart_repository},
    }


def _helm_action(cluster: Cluster) -> Obj:
    action: Obj = {
        # the chart's crds/ at the pinned chart version, on install and on every upgrade (Helm alone never updates
        # them); the chart's own CRD-upgrade hook is off in the values (upgradeCRDs: false)
        "crds": "CreateReplace",
        # keep-ncp keeps a Helm-owned NicClusterPolicy, and the bundle's is the policy step's: a no-op here, with a
        # ClusterRole and a Job to pull on every install and upgrade (docs/flux.md, "Helm hooks")
        "disableHooks": True,
        "remediation": {"retries": 3},
    }
    if chart_facts(cluster.release.tag).schema_needs_network:  # a subchart's values schema $refs a web URL
        action["disableSchemaValidation"] = True
    return action


def _helm_release(cluster: Cluster, name: str, namespace: str, chart: tuple[str, str], timeout: str, action: Obj,
                  values: Obj, wait: Obj | None = None) -> Obj:
    """A HelmRelease of ``chart`` (name, version) from the namespace's HelmRepository; ``wait``: how it waits before
    it is Ready (waitStrategy and healthCheckExprs), when not kstatus's default."""
    return {
        "apiVersion": HELM_API,
        "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": namespace, "labels": _labels(cluster)},
        "spec": {
            "releaseName": name,
            "interval": INTERVAL,
            "timeout": timeout,
            "chart": {"spec": {
                "chart": chart[0],
                "version": chart[1],
                "sourceRef": {"kind": "HelmRepository", "name": HELM_REPOSITORY},
                "interval": "1h",
            }},
            "install": action,
            "upgrade": copy.deepcopy(action),
            **(wait or {}),
            "values": values,
        },
    }


def helm_release(cluster: Cluster) -> Obj:
    """The network-operator chart at the release's version, with the same values as helm/values.yaml."""
    return _helm_release(cluster, RELEASE_NAME, cluster.namespace,
                         (catalog.load().chart_name, cluster.release.chart_version),
                         "15m",  # Helm waits for the operator and NFD to be ready
                         _helm_action(cluster), helm_values(cluster))


def _operator(cluster: Cluster) -> Step | None:
    return Step("operator", {"namespace.yaml": [_namespace(cluster)],
                             "helmrepository.yaml": [helm_repository(cluster)],
                             "helmrelease.yaml": [helm_release(cluster)]},
                timeout="20m", why="the Namespace, then the network-operator chart (CRDs first); Ready when the "
                                   "release's workloads are")


def mode_policy(cluster: Cluster) -> Obj:
    """The NicClusterPolicy of the cluster's mode, as the mode overlay builds it (the base policy and the mode's
    patches, which add components the base does not have)."""
    policy = objects.nic_cluster_policy(cluster)
    patches: dict[str, list[Callable[[Cluster], Obj]]] = {
        "sriov": [objects.sriov_patch], "shared": [objects.shared_patch],
        "ipoib": [objects.shared_patch, objects.ipoib_patch]}
    if cluster.node_policies:  # the device plugins are the pools' (their NicNodePolicies, the pools step)
        patches = {"ipoib": [objects.ipoib_patch]}
    for patch in patches.get(cluster.mode, []):
        policy["spec"].update(patch(cluster)["spec"])
    return policy


def _policy(cluster: Cluster, user_overlay: bool) -> Step | None:
    components = (f"{layout.user_overlay_ref()}/{cluster.name}",) if user_overlay else ()
    return Step("policy", {"nodefeaturerule.yaml": [objects.node_feature_rule(cluster)],
                           "nicclusterpolicy.yaml": [mode_policy(cluster)]},
                health=("mellanox.com/v1alpha1/NicClusterPolicy",), timeout="30m", components=components,
                why="NodeFeatureRule and NicClusterPolicy; Ready when the operator reports status.state ready")


def _network(cluster: Cluster) -> Step | None:
    if cluster.mode != "ipoib":
        return None
    files = {"ipoib-network.yaml": [objects.ipoib_network(cluster)]}
    if cluster.ipoib.ipam == "nv-ipam":
        files["ippool.yaml"] = [objects.nv_ipam_pool(cluster)]
    return Step("network", files, health=("mellanox.com/v1alpha1/IPoIBNetwork",),
                why="IPoIBNetwork (and nv-ipam's IPPool, whose CRD came with the policy); Ready when the network "
                    "reports ready")


def _peermem(cluster: Cluster) -> Step | None:
    if not wants_reloader(cluster):
        return None
    return Step("peermem", {RELOADER_FILE.rpartition("/")[2]: reloader_objects(cluster)}, timeout="20m",
                why="the nvidia-peermem reloader DaemonSet, after the DOCA driver is loaded (which unloads peermem)")


def gpu_helm_release(cluster: Cluster) -> Obj:
    """The gpu-operator chart at the release's version, with helm/gpu-operator-values.yaml's values; Ready only when
    the ClusterPolicy the chart installs is (helm-controller's poller wait with health expressions: kstatus cannot
    read the policy's status.state)."""
    operator = operator_of(cluster)
    assert operator is not None
    return _helm_release(cluster, GPU_RELEASE_NAME, operator.namespace,
                         (load_gpu().chart_name, operator.release.chart_version),
                         "30m",  # the driver is built and loaded on every GPU node
                         {"crds": "CreateReplace", "remediation": {"retries": 3}}, gpu_values(cluster),
                         {"waitStrategy": {"name": "poller"},
                          "healthCheckExprs": health_checks((f"{CLUSTER_POLICY_API}/ClusterPolicy",))})


def _gpu_operator(cluster: Cluster) -> Step | None:
    operator = operator_of(cluster)
    if operator is None:
        return None
    namespace = gpu_namespace(cluster)
    namespace["metadata"]["annotations"] = {**namespace["metadata"].get("annotations", {}),
                                            **FLUX_ANNOTATIONS["Namespace"]}
    repository = helm_repository(cluster)
    repository["metadata"]["namespace"] = operator.namespace
    repository["spec"]["url"] = load_gpu().chart_repository
    return Step("gpu-operator", {"namespace.yaml": [namespace], "helmrepository.yaml": [repository],
                                 "helmrelease.yaml": [gpu_helm_release(cluster)]},
                timeout="40m", why="the GPU Operator's Namespace and chart; Ready when its ClusterPolicy is ready")


def _verify(cluster: Cluster) -> Step | None:
    if not cluster.verify.enabled:
        return None
    files = {VERIFY_FILE: verify_objects(cluster)}
    if cluster.verify.nccl.enabled:
        files[NCCL_FILE] = nccl_objects(cluster)
    # a Job's template cannot be patched: force recreates it when it changes (and so runs the check again)
    return Step("verify", files, timeout="20m", force=True,
                why="the ib_write_bw Job (and the NCCL Job); Ready when they complete, failed below their floors")


def _pools(cluster: Cluster) -> Step | None:
    if not cluster.node_policies:
        return None
    return Step("pools", {"nicnodepolicies.yaml": objects.nic_node_policies(cluster)},
                health=("mellanox.com/v1alpha1/NicNodePolicy",), timeout="30m",
                why="a NicNodePolicy per node pool (its DOCA driver and device plugin), after the NicClusterPolicy "
                    "dropped those sections; Ready when each reports status.state ready")


Builder = Callable[[Cluster, bool], "Step | None"]
STEPS: dict[str, Builder] = {
    "operator": lambda cluster, _user: _operator(cluster),
    "policy": _policy,
    "pools": lambda cluster, _user: _pools(cluster),
    "network": lambda cluster, _user: _network(cluster),
    "peermem": lambda cluster, _user: _peermem(cluster),
    "gpu-operator": lambda cluster, _user: _gpu_operator(cluster),
    "verify": lambda cluster, _user: _verify(cluster),
}


@dataclass(frozen=True)
class Link:
    """A step of a cluster's chain and the steps it waits on (those the cluster has)."""

    step: Step
    depends_on: tuple[str, ...] = field(default=())


def chain(cluster: Cluster, user_overlay: bool = False) -> list[Link]:
    """The cluster's steps in order, each with the steps it waits on: a step the cluster does not have is stepped
    over (whoever waits on it waits on what it waits on)."""
    built = {name: STEPS[name](cluster, user_overlay) for name in CHAIN}

    def waits_on(name: str) -> tuple[str, ...]:
        out: list[str] = []
        for before in CHAIN[name]:
            for resolved in ((before,) if built[before] is not None else waits_on(before)):
                if resolved not in out:
                    out.append(resolved)
        return tuple(out)

    return [Link(step, waits_on(name)) for name, step in built.items() if step is not None]


# -- the Flux objects --------------------------------------------------------------------------------------------


def step_path(cluster: Cluster, step: Step) -> str:
    """The step's directory as a Flux Kustomization's spec.path (relative to the repository root)."""
    return f"./{layout.output_dir(cluster.name)}/{step.directory}"


def flux_kustomization(cluster: Cluster, link: Link) -> Obj:
    flux, step = _flux(cluster), link.step
    spec: Obj = {}
    if link.depends_on:
        spec["dependsOn"] = [{"name": kustomization_name(name)} for name in link.depends_on]
    spec.update({
        "interval": INTERVAL,
        "retryInterval": RETRY_INTERVAL,
        "timeout": step.timeout,
        "sourceRef": {"kind": "GitRepository", "name": flux.git_repository},
        "path": step_path(cluster, step),
        "prune": True,
        "wait": True,  # every object healthy (kstatus, or the expressions below) before the next step starts
    })
    if step.force:
        spec["force"] = True
    if step.health:
        spec["healthCheckExprs"] = health_checks(step.health)
    return {
        "apiVersion": KUSTOMIZATION_API,
        "kind": "Kustomization",
        "metadata": {"name": kustomization_name(step.name), "namespace": flux.namespace, "labels": _labels(cluster)},
        "spec": spec,
    }


def flux_files(cluster: Cluster, user_overlay: bool = False) -> dict[str, list[Obj]]:
    """The bundle's flux/ directory."""
    links = chain(cluster, user_overlay)
    files: dict[str, list[Obj]] = {
        ENTRY_FILE: [kustomization([CHAIN_FILE.split("/", 1)[1]])],
        CHAIN_FILE: [flux_kustomization(cluster, link) for link in links],
    }
    for link in links:
        step = link.step
        files[f"{step.directory}/kustomization.yaml"] = [kustomization(list(step.files), components=step.components)]
        files.update({f"{step.directory}/{name}": docs for name, docs in step.files.items()})
    return files


# -- the bootstrap (output/fleet/flux/<name>.yaml) ------------------------------------------------------------------


def git_repository(cluster: Cluster) -> Obj:
    flux = _flux(cluster)
    kind, ref = flux.ref
    return {
        "apiVersion": SOURCE_API,
        "kind": "GitRepository",
        "metadata": {"name": flux.git_repository, "namespace": flux.namespace, "labels": _labels(cluster)},
        "spec": {"interval": "5m", "url": flux.repo_url, "ref": {kind: ref}},
    }


def root_kustomization(cluster: Cluster) -> Obj:
    """The Kustomization that applies output/<name>/flux (the chain): what an AKS fluxConfiguration's kustomization
    is, when AKS bootstraps Flux."""
    flux = _flux(cluster)
    return {
        "apiVersion": KUSTOMIZATION_API,
        "kind": "Kustomization",
        "metadata": {"name": flux.git_repository, "namespace": flux.namespace, "labels": _labels(cluster)},
        "spec": {
            "interval": INTERVAL,
            "retryInterval": RETRY_INTERVAL,
            "timeout": "2m",
            "sourceRef": {"kind": "GitRepository", "name": flux.git_repository},
            "path": f"./{layout.output_dir(cluster.name)}/{FLUX_DIR}",
            "prune": True,
        },
    }


def bootstrap(cluster: Cluster) -> list[Obj]:
    """What `kubectl apply -f output/fleet/flux/<name>.yaml` installs once, in the cluster's Flux."""
    return [git_repository(cluster), root_kustomization(cluster)]


def bootstrap_file(name: str) -> str:
    """A Flux cluster's bootstrap file, relative to output/fleet/."""
    return f"{FLUX_DIR}/{name}.yaml"


def build_dirs(files: Mapping[str, object]) -> list[str]:
    """The directories of a bundle's flux/ that kustomize builds (the entry and every step), by their paths."""
    suffix = "/kustomization.yaml"
    return sorted(rel[: -len(suffix)] for rel in files
                  if rel.endswith(suffix) and (rel == ENTRY_FILE or rel.startswith(f"{FLUX_DIR}/")))


def is_flux_object(obj: Any) -> bool:
    return isinstance(obj, dict) and (obj.get("apiVersion"), obj.get("kind")) in FLUX_KINDS
