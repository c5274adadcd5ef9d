"""Opt-in post-sync verification (spec ``verify``): ib_write_bw on every HCA between two InfiniBand nodes, and after
it, opt-in, a two-node NCCL all_reduce_perf over every GPU (``verify.nccl``).

Argo CD runs them as PostSync hooks after every sync, the NCCL objects in a later wave (they need the GPUs and HCAs
the first Job holds, and its per-HCA result says more when the fabric is the problem): each a headless Service and
an Indexed Job of two pods on two different InfiniBand nodes. A number below the VM size's floor (verification.yaml
in the catalog) fails the Job, naming the HCA, and so the sync.
"""

from __future__ import annotations

from generator.catalog import verification as facts
from generator.cluster.model import AGENT_POOL_LABEL, Cluster, Pool
from generator.cluster.verification import bandwidth_floor, has_nccl, nccl_floor, uses_gpu_memory
from generator.core.kube import (
    HOOK,
    HOOK_DELETE_POLICY,
    NETWORKS_ANNOTATION,
    PART_OF,
    WAVE,
    Obj,
    nfd_node_selector_terms,
)
from generator.render import data
from generator.render.image_refs import rewrite
from generator.render.resources import mode_resource

VERIFY_FILE = "verify.yaml"  # in overlays/<mode>/ when cluster.verify.enabled
VERIFY_NAME = "rdma-verify"
NCCL_FILE = "nccl.yaml"  # in overlays/<mode>/ when cluster.verify.nccl.enabled
NCCL_NAME = "rdma-nccl"
NCCL_WAVE = "1"  # after the ib_write_bw Job (wave 0)
PERFTEST_PORT = 18515  # HCA i listens on PERFTEST_PORT + i
SSH_PORT = 2222  # the port Azure's nccl-tests image runs its sshd on
TOPOLOGY_DIR = "/etc/nccl"
NCCL_MESSAGE_BYTES = 8589934592  # 8 GiB: the size Azure's expected output gives its busbw at


def _hook_annotations(wave: str | None = None) -> dict[str, str]:
    # Argo CD deletes the previous run when it creates the next one; a failed Job fails the sync
    annotations = {HOOK: "PostSync", HOOK_DELETE_POLICY: "BeforeHookCreation"}
    return {**annotations, WAVE: wave} if wave else annotations


def gpu_memory(cluster: Cluster) -> str:
    """What the checks move data through: ``host``, or GPU memory over ``dmabuf`` or ``peermem``."""
    return cluster.gpu.rdma if cluster.gpu is not None and uses_gpu_memory(cluster) else "host"


def rdma_resources(cluster: Cluster, gpus: int) -> dict[str, str]:
    """What one check pod requests (as limits too): every HCA of the node in sriov (one VF each), one slot of the
    shared device plugin in shared and ipoib (every HCA visible), nothing in base (privileged); and ``gpus`` GPUs."""
    resources: dict[str, str] = {}
    if gpus:
        resources[cluster.vm_size.gpu_resource] = str(gpus)
    resource = mode_resource(cluster)
    if resource is not None:
        resources[resource] = str(cluster.vm_size.nics) if cluster.mode == "sriov" else "1"
    return resources


def _security(cluster: Cluster, container: Obj) -> None:
    if cluster.mode == "base":
        # driver only: no device plugin hands out /dev/infiniband, so the pod needs privileges
        container["securityContext"] = {"privileged": True}
    else:
        # without IPC_LOCK, `ulimit -l` is 64 KiB and RDMA cannot register its buffers
        container["securityContext"] = {"capabilities": {"add": ["IPC_LOCK"]}}


def _verify_container(cluster: Cluster, name: str) -> Obj:
    gpus = cluster.vm_size.gpus if uses_gpu_memory(cluster) else 0
    env = [
        {"name": "MODE", "value": cluster.mode},
        {"name": "VM_SIZE", "value": cluster.vm_size.name},
        {"name": "HCAS", "value": str(cluster.vm_size.nics)},
        {"name": "FLOOR_GBPS", "value": str(bandwidth_floor(cluster))},
        {"name": "GPU_MEMORY", "value": gpu_memory(cluster)},
        {"name": "GPUS", "value": str(gpus)},
        {"name": "SERVER", "value": f"{name}-0.{name}.{cluster.namespace}.svc"},
        {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
    ]
    if cluster.mode == "ipoib":
        env.append({"name": "IPOIB_INTERFACE", "value": "net1"})  # the ipoib CNI's interface in the pod
    container: Obj = {
        "name": "ib-write-bw",
        "image": rewrite(cluster.verify.image, cluster.images),
        "command": ["/bin/bash", "-c", data.text("argocd-verify.sh")],
        "env": env,
        "ports": [{"name": "perftest", "containerPort": PERFTEST_PORT, "protocol": "TCP"}],
    }
    _security(cluster, container)
    resources = rdma_resources(cluster, gpus)
    if resources:
        container["resources"] = {"requests": dict(resources), "limits": dict(resources)}
    return container


def _node_terms(pool: Pool | None) -> list[Obj]:
    """The nodes a check runs on: the InfiniBand nodes (NFD's label), of the pool's agent pool when it has one."""
    terms = nfd_node_selector_terms()
    if pool is not None:
        for term in terms:
            term["matchExpressions"].append({"key": AGENT_POOL_LABEL, "operator": "In", "values": [pool.name]})
    return terms


def _pod_template(cluster: Cluster, name: str, spec: Obj, pool: Pool | None = None) -> Obj:
    meta: Obj = {"labels": {"app.kubernetes.io/name": name}}
    if cluster.mode == "ipoib":
        # <namespace>/<network>: the NetworkAttachmentDefinition the operator made from the IPoIBNetwork
        meta["annotations"] = {NETWORKS_ANNOTATION: f"{cluster.ipoib.namespace}/{cluster.ipoib.network_name}"}
    return {
        "metadata": meta,
        "spec": {
            "restartPolicy": "Never",
            "subdomain": name,  # index 0 is reachable as <name>-0.<name>
            "affinity": {
                "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": _node_terms(pool)}},
                "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
                    "labelSelector": {"matchLabels": {"app.kubernetes.io/name": name}},
                    "topologyKey": "kubernetes.io/hostname"}]},
            },
            **({"tolerations": list(cluster.tolerations)} if cluster.tolerations else {}),
            **spec,
        },
    }


def _service(cluster: Cluster, name: str, port: int, port_name: str, wave: str | None) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": cluster.namespace,
                     "labels": {**PART_OF, "app.kubernetes.io/name": name}, "annotations": _hook_annotations(wave)},
        "spec": {"clusterIP": "None", "publishNotReadyAddresses": True,
                 "selector": {"app.kubernetes.io/name": name},
                 "ports": [{"name": port_name, "port": port, "targetPort": port, "protocol": "TCP"}]},
    }


def _job(cluster: Cluster, name: str, deadline: int, template: Obj, wave: str | None) -> Obj:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": cluster.namespace,
                     "labels": {**PART_OF, "app.kubernetes.io/name": name}, "annotations": _hook_annotations(wave)},
        "spec": {
            "completionMode": "Indexed",
            "completions": 2,
            "parallelism": 2,
            "backoffLimit": 0,  # a low bandwidth must fail the sync, not be retried into a pass
            "activeDeadlineSeconds": deadline,  # a server never hears from a client that failed to start
            "template": template,
        },
    }


def _pools(cluster: Cluster, base: str) -> list[tuple[Cluster, str, Pool | None]]:
    """(the cluster as the check's nodes see it, the check's name, the pool) per check: one, or one per pool (named
    after it, on its nodes, made for its VM size and device plugin)."""
    if not cluster.pools:
        return [(cluster, base, None)]
    return [(cluster.pool_view(pool), f"{base}-{pool.name}", pool) for pool in cluster.pools]


def verify_objects(cluster: Cluster) -> list[Obj]:
    """Headless Service + Indexed Job (2 completions, one pod per node), both PostSync hooks; one pair per pool."""
    out: list[Obj] = []
    for view, name, pool in _pools(cluster, VERIFY_NAME):
        template = _pod_template(view, name, {"containers": [_verify_container(view, name)]}, pool)
        out += [_service(view, name, PERFTEST_PORT, "perftest", None), _job(view, name, 900, template, None)]
    return out


# -- NCCL ----------------------------------------------------------------------------------------------------------


def topology_xml(topology: facts.Topology) -> str:
    """The NCCL topology file (NCCL_TOPO_FILE) of a VM family, from the catalog's facts."""
    link = f'link_speed="{topology.link_speed}" link_width="{topology.link_width}"'
    ids = (' vendor="0x0000" device="0x0000" subsystem_vendor="0x0000" subsystem_device="0x0000"'
           if topology.bridge_ids else "")
    classes = {"gpu": "0x030200", "nic": "0x020700"}
    lines = ['<system version="1">']
    for cpu in topology.cpus:
        lines.append(f'  <cpu numaid="{cpu.numa}" affinity="{cpu.affinity}" arch="{topology.arch}" '
                     f'vendor="{cpu.vendor}" familyid="{cpu.family}" modelid="{cpu.model}">')
        for bridge in cpu.bridges:
            lines.append(f'    <pci busid="{bridge.bus}" class="0x060400" {link}{ids}>')
            lines += [f'      <pci busid="{bus}" class="{classes[kind]}" {link}/>' for kind, bus in bridge.devices]
            lines.append("    </pci>")
        lines.append("  </cpu>")
    lines.append("</system>")
    return "\n".join(lines) + "\n"


def nccl_env(cluster: Cluster, name: str = NCCL_NAME) -> list[Obj]:
    """The NCCL job's environment: the size's NCCL settings (catalog), then the check's own."""
    checks = facts.size_checks(cluster.vm_size.name)
    assert checks is not None and checks.nccl is not None, "refused by the spec check"
    settings = dict(checks.nccl.env)
    settings["NCCL_SOCKET_IFNAME"] = "net1" if cluster.mode == "ipoib" else "eth0"
    if checks.nccl.topology is not None:
        settings["NCCL_TOPO_FILE"] = f"{TOPOLOGY_DIR}/topo.xml"
    settings.update({"NCCL_DEBUG": "INFO", "NCCL_DEBUG_SUBSYS": "INIT,NET"})
    host = f"{name}.{cluster.namespace}.svc"
    env: list[Obj] = [{"name": k, "value": v} for k, v in settings.items()]
    env += [
        {"name": "NCCL_ENV_NAMES", "value": " ".join(settings)},
        {"name": "GPUS", "value": str(cluster.vm_size.gpus)},
        {"name": "FLOOR_GBYTES", "value": str(nccl_floor(cluster))},
        {"name": "MESSAGE_BYTES", "value": str(NCCL_MESSAGE_BYTES)},
        {"name": "EXPECT_GDR", "value": "1" if uses_gpu_memory(cluster) else "0"},
        {"name": "VM_SIZE", "value": cluster.vm_size.name},
        {"name": "PEERS", "value": f"{name}-0.{host} {name}-1.{host}"},
        {"name": "SSH_PORT", "value": str(SSH_PORT)},
        # the password of this run's sshd: the Job's UID, known to its two pods (and to whoever may read them)
        {"name": "JOB_UID", "valueFrom": {"fieldRef": {
            "fieldPath": "metadata.labels['batch.kubernetes.io/controller-uid']"}}},
        {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
        {"name": "OMPI_ALLOW_RUN_AS_ROOT", "value": "1"},
        {"name": "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "value": "1"},
    ]
    return env


def _nccl_container(cluster: Cluster, name: str) -> Obj:
    mounts: list[Obj] = [{"name": "shm", "mountPath": "/dev/shm"}]
    checks = facts.size_checks(cluster.vm_size.name)
    if checks is not None and checks.nccl is not None and checks.nccl.topology is not None:
        mounts.append({"name": "topology", "mountPath": TOPOLOGY_DIR, "readOnly": True})
    container: Obj = {
        "name": "all-reduce-perf",
        "image": rewrite(cluster.verify.nccl.image, cluster.images),
        "command": ["/bin/bash", "-c", data.text("argocd-nccl.sh")],
        "env": nccl_env(cluster, name),
        "ports": [{"name": "ssh", "containerPort": SSH_PORT, "protocol": "TCP"}],
        "volumeMounts": mounts,
    }
    _security(cluster, container)
    resources = rdma_resources(cluster, cluster.vm_size.gpus)
    container["resources"] = {"requests": dict(resources), "limits": dict(resources)}
    return container


def nccl_objects(cluster: Cluster) -> list[Obj]:
    """ConfigMap (the topology file, where the size has one) + headless Service + Indexed Job, PostSync hooks of
    the wave after the ib_write_bw Job; one set per pool (of a size with NVIDIA GPUs)."""
    out: list[Obj] = []
    for view, name, pool in _pools(cluster, NCCL_NAME):
        if pool is None or has_nccl(pool.vm_size):
            out += _nccl_objects(view, name, pool)
    return out


def _nccl_objects(cluster: Cluster, name: str, pool: Pool | None) -> list[Obj]:
    checks = facts.size_checks(cluster.vm_size.name)
    topology = checks.nccl.topology if checks is not None and checks.nccl is not None else None
    volumes: list[Obj] = [{"name": "shm", "emptyDir": {"medium": "Memory"}}]  # NCCL's shared-memory transport
    objs: list[Obj] = []
    if topology is not None:
        objs.append({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": cluster.namespace,
                         "labels": {**PART_OF, "app.kubernetes.io/name": name},
                         "annotations": _hook_annotations(NCCL_WAVE)},
            "data": {"topo.xml": topology_xml(topology)},
        })
        volumes.append({"name": "topology", "configMap": {"name": name}})
    template = _pod_template(cluster, name, {"containers": [_nccl_container(cluster, name)], "volumes": volumes},
                             pool)
    objs += [_service(cluster, name, SSH_PORT, "ssh", NCCL_WAVE),
             _job(cluster, name, 1800, template, NCCL_WAVE)]
    return objs
