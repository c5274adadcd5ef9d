"""The opt-in checks: the ib_write_bw Job (every HCA of the VM size, host or GPU memory, per-size floors) and the NCCL
Job. Only when enabled, only in the selected mode, strictly valid, admitted by the AppProject; the spec refuses the
checks that cannot measure anything; and the scripts, run with a fake ib_write_bw / all_reduce_perf on PATH, pass
at the floor and fail below it naming the HCA.

GPU memory needs the spec's ``gpu`` section (parsed by another change): until it lands the clusters here get
``Cluster.gpu`` by ``dataclasses.replace``.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from generator.catalog import verification as facts
from generator.check.project import is_cluster_scoped, project_allows
from generator.check.schema import check_schema
from generator.check.validators.kinds import Schemas
from generator.cluster.model import MODES, Cluster
from generator.cluster.parse import SpecError
from generator.cluster.verification import bandwidth_floor, check_gpu_memory, nccl_floor
from generator.core.objects import group_kind
from generator.render.argocd import app_project
from generator.render.cluster_bundle import render_bundle
from generator.render.data import TEMPLATES
from generator.render.verify import NCCL_FILE, VERIFY_FILE, nccl_objects, topology_xml, verify_objects
from tests.helpers import make_cluster

ENABLED = "verify:\n  enabled: true\n"
GPU_AKS = "gpu:\n  driver: aks\n  rdma: dmabuf\n"  # GPUDirect with AKS's driver, as a spec gives it
NCCL_IMAGE = "ghcr.io/azure/aks-rdma-infiniband/nccl-tests@sha256:" + "a" * 64
CUDA_PERFTEST = "registry.example/perftest-cuda@sha256:" + "b" * 64
WITH_NCCL = ENABLED + f"  nccl:\n    enabled: true\n    image: {NCCL_IMAGE}\n"


def _job(objs: list[dict[str, Any]]) -> dict[str, Any]:
    return next(o for o in objs if o["kind"] == "Job")


def _container(objs: list[dict[str, Any]]) -> dict[str, Any]:
    return _job(objs)["spec"]["template"]["spec"]["containers"][0]


def _env(objs: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in _container(objs)["env"]}


def gpu_cluster(mode: str = "sriov", vm_size: str = "Standard_ND96isr_H100_v5", rdma: str = "dmabuf",
                extra: str = "") -> Cluster:
    spec = ENABLED + f"  image: {CUDA_PERFTEST}\n" + extra + f"gpu:\n  driver: aks\n  rdma: {rdma}\n"
    return make_cluster("v", mode, extra=spec, version="v26.4.1", vm_size=vm_size)


# -- the objects ---------------------------------------------------------------------------------------------------


def test_disabled_by_default(mode_specs: dict[str, Cluster]) -> None:
    for spec in mode_specs.values():
        assert not any(rel.endswith((VERIFY_FILE, NCCL_FILE)) for rel in render_bundle(spec).files)


@pytest.mark.parametrize("mode", MODES)
def test_enabled_only_in_the_selected_mode(mode: str, validators: dict[str, Schemas]) -> None:
    spec = make_cluster(f"v-{mode}", mode, extra=WITH_NCCL)
    bundle = render_bundle(spec)
    assert sorted(rel for rel in bundle.files if rel.endswith((VERIFY_FILE, NCCL_FILE))) == [
        f"overlays/{mode}/{NCCL_FILE}", f"overlays/{mode}/{VERIFY_FILE}"]
    assert bundle.objects[f"overlays/{mode}/kustomization.yaml"][0]["resources"][-2:] == [VERIFY_FILE, NCCL_FILE]
    validator = next(iter(validators.values()))
    for rel in (VERIFY_FILE, NCCL_FILE):
        for obj in bundle.objects[f"overlays/{mode}/{rel}"]:
            assert check_schema(obj, validator) == []
            annotations = obj["metadata"]["annotations"]
            assert annotations["argocd.argoproj.io/hook"] == "PostSync"
            assert annotations["argocd.argoproj.io/hook-delete-policy"] == "BeforeHookCreation"
            # the NCCL objects in the wave after the ib_write_bw Job: they need the GPUs and HCAs it holds
            assert annotations.get("argocd.argoproj.io/sync-wave") == ("1" if rel == NCCL_FILE else None)
            assert obj["metadata"]["namespace"] == spec.namespace  # privileged PSA namespace, project destination


@pytest.mark.parametrize("mode", MODES)
def test_the_app_project_admits_the_checks(mode: str, validators: dict[str, Schemas]) -> None:
    """Every object is namespaced, in the project's destination: the AppProject admits it without a whitelist entry
    (and the whitelist does not grow)."""
    spec = make_cluster(f"v-{mode}", mode, extra=WITH_NCCL)
    plain = make_cluster(f"v-{mode}", mode)
    project = app_project(spec)
    assert project["spec"]["clusterResourceWhitelist"] == app_project(plain)["spec"]["clusterResourceWhitelist"]
    schemas = next(iter(validators.values()))
    for obj in verify_objects(spec) + nccl_objects(spec):
        scoped = is_cluster_scoped(*group_kind(obj), schemas)
        assert scoped is False
        allowed, why = project_allows(project, obj, spec.namespace, scoped)
        assert allowed, why


def test_job_shape() -> None:
    spec = make_cluster("v", "sriov", extra=ENABLED)
    service, job = verify_objects(spec)
    assert service["spec"]["clusterIP"] == "None"
    assert job["spec"]["completionMode"] == "Indexed" and job["spec"]["completions"] == 2
    assert job["spec"]["backoffLimit"] == 0
    pod = job["spec"]["template"]["spec"]
    assert pod["subdomain"] == service["metadata"]["name"]
    anti = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    assert anti["topologyKey"] == "kubernetes.io/hostname"
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms[0]["matchExpressions"][0]["key"] == "feature.node.kubernetes.io/pci-15b3.present"


@pytest.mark.parametrize(("mode", "resources"), [("sriov", {"rdma/ib": "8"}), ("shared", {"rdma/shared_ib": "1"}),
                                                 ("ipoib", {"rdma/shared_ib": "1"})])
def test_every_hca_is_requested_and_measured(mode: str, resources: dict[str, str]) -> None:
    objs = verify_objects(make_cluster("v", mode, extra=ENABLED))
    container = _container(objs)
    assert container["resources"]["limits"] == container["resources"]["requests"] == resources
    assert container["securityContext"] == {"capabilities": {"add": ["IPC_LOCK"]}}
    env = _env(objs)
    assert env["HCAS"] == "8" and env["GPU_MEMORY"] == "host" and env["GPUS"] == "0"
    assert env["VM_SIZE"] == "Standard_ND96asr_v4"


def test_base_mode_is_privileged_and_ipoib_attaches_the_network() -> None:
    base = _container(verify_objects(make_cluster("v", "base", extra=ENABLED)))
    assert base["securityContext"] == {"privileged": True} and "resources" not in base
    job = verify_objects(make_cluster("v", "ipoib", extra=ENABLED))[1]
    annotations = job["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {"k8s.v1.cni.cncf.io/networks": "default/aks-infiniband"}


@pytest.mark.parametrize(("rdma", "mode"), [("dmabuf", "sriov"), ("peermem", "shared"), ("dmabuf", "base")])
def test_gpu_memory_requests_every_gpu_and_uses_the_gpudirect_floor(rdma: str, mode: str) -> None:
    objs = verify_objects(gpu_cluster(mode, rdma=rdma))
    env = _env(objs)
    assert env["GPU_MEMORY"] == rdma and env["GPUS"] == "8"
    assert env["FLOOR_GBPS"] == "380"  # NHC check_ib_bw_gdr for ND96isr_H100_v5
    limits = _container(objs)["resources"]["limits"]
    assert limits["nvidia.com/gpu"] == "8"
    assert limits.get("rdma/ib") == ("8" if mode == "sriov" else None)


def test_amd_gpus_stay_on_host_memory() -> None:
    """MI300X: perftest's --use_cuda cannot reach AMD GPUs: host memory and its floor, no GPUs requested; a gpu
    section there is refused (the NVIDIA GPU Operator and nvidia-peermem do not apply)."""
    with pytest.raises(SpecError) as err:
        gpu_cluster(vm_size="Standard_ND96isr_MI300X_v5")
    assert err.value.field == "gpu" and "AMD" in err.value.message
    cluster = make_cluster("v", "sriov", extra=ENABLED, version="v26.4.1", vm_size="Standard_ND96isr_MI300X_v5")
    env = _env(verify_objects(cluster))
    assert env["GPU_MEMORY"] == "host" and env["FLOOR_GBPS"] == "390"


def test_floors_from_the_catalog_or_the_spec() -> None:
    spec = make_cluster("v", "sriov", extra=ENABLED)
    assert bandwidth_floor(spec) == 190  # Azure's guide: ib_write_bw over host memory, two ND96asr_v4 nodes
    assert _env(verify_objects(spec))["FLOOR_GBPS"] == "190"
    assert bandwidth_floor(gpu_cluster(vm_size="Standard_ND96asr_v4")) == 180
    assert bandwidth_floor(gpu_cluster(vm_size="Standard_ND96isr_H200_v5")) == 360
    custom = make_cluster("v", "sriov", extra=ENABLED + "  bandwidthFloorGbps: 100\n  image: registry.example/ib:1\n")
    assert bandwidth_floor(custom) == 100
    assert _container(verify_objects(custom))["image"] == "registry.example/ib:1"
    assert nccl_floor(make_cluster("v", "sriov", extra=WITH_NCCL)) == 180
    override = make_cluster("v", "sriov", extra=WITH_NCCL + "    busBandwidthFloorGBps: 170\n")
    assert _env(nccl_objects(override))["FLOOR_GBYTES"] == "170"


def test_every_catalog_size_has_sourced_floors() -> None:
    from generator import catalog

    checks = facts.load()
    assert set(checks.sizes) == set(catalog.load().vm_sizes)
    for name, size in checks.sizes.items():
        for floor in (size.host_memory, size.gpu_memory, size.nccl_floor):
            if floor is not None:
                assert floor.value > 0 and (floor.estimate or floor.source in checks.sources), (name, floor)
        nvidia = catalog.load().vm_sizes[name].gpu_resource == "nvidia.com/gpu"
        assert (size.gpu_memory is not None) == nvidia and (size.nccl is not None) == nvidia, name
    # NHC's GPUDirect floors at 0e0a1ac (the brief's 185 and 375 are NHC's values before 2023-10-13)
    assert [checks.sizes[s].gpu_memory.value for s in ("Standard_ND96asr_v4", "Standard_ND96isr_H100_v5",  # type: ignore[union-attr]
                                                       "Standard_ND96isr_H200_v5")] == [180, 380, 360]


def test_nccl_job_shape_settings_and_topology() -> None:
    cluster = gpu_cluster("sriov", extra=f"  nccl:\n    enabled: true\n    image: {NCCL_IMAGE}\n")
    objs = nccl_objects(cluster)
    assert [o["kind"] for o in objs] == ["ConfigMap", "Service", "Job"]
    env = _env(objs)
    assert env["NCCL_TOPO_FILE"] == "/etc/nccl/topo.xml" and env["NCCL_SOCKET_IFNAME"] == "eth0"
    assert env["NCCL_MIN_NCHANNELS"] == "32" and env["NCCL_IB_DISABLE"] == "0"  # ndv5 profile, common settings
    assert env["EXPECT_GDR"] == "1" and env["FLOOR_GBYTES"] == "150" and env["GPUS"] == "8"
    settings = {k for k in env if k.startswith(("NCCL_", "UCX_", "CUDA_")) and k != "NCCL_ENV_NAMES"}
    assert set(env["NCCL_ENV_NAMES"].split()) == settings  # what mpirun passes on to every rank
    assert env["JOB_UID"] == {"fieldRef": {"fieldPath": "metadata.labels['batch.kubernetes.io/controller-uid']"}}
    limits = _container(objs)["resources"]["limits"]
    assert limits == {"nvidia.com/gpu": "8", "rdma/ib": "8"}
    topo = objs[0]["data"]["topo.xml"]
    assert topo.count('class="0x030200"') == 8 and topo.count('class="0x020700"') == 8
    gb200 = make_cluster("v", "ipoib", extra='kubernetes:\n  version: "1.35"\n' + ENABLED
                         + f"  image: {CUDA_PERFTEST}\n  nccl:\n    enabled: true\n    image: {NCCL_IMAGE}\n",
                         version="v26.4.1", vm_size="Standard_ND128isr_NDR_GB200_v6")
    objs = nccl_objects(gb200)
    assert [o["kind"] for o in objs] == ["Service", "Job"]  # no topology file for the GB200 family
    env = _env(objs)
    assert env["NCCL_SOCKET_IFNAME"] == "net1" and env["NCCL_MNNVL_ENABLE"] == "0" and env["EXPECT_GDR"] == "0"
    assert _container(objs)["resources"]["limits"] == {"nvidia.com/gpu": "4", "rdma/shared_ib": "1"}


def test_topology_xml_is_well_formed_for_every_profile() -> None:
    import xml.etree.ElementTree as ET

    for size in facts.load().sizes.values():
        if size.nccl and size.nccl.topology:
            root = ET.fromstring(topology_xml(size.nccl.topology))
            gpus = [p for p in root.iter("pci") if p.get("class") == "0x030200"]
            nics = [p for p in root.iter("pci") if p.get("class") == "0x020700"]
            assert len(gpus) == len(nics) == 8 and len({p.get("busid") for p in gpus + nics}) == 16


# -- what the spec refuses -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("extra", "vm_size", "field", "words"), [
    (f"verify:\n  nccl:\n    enabled: true\n    image: {NCCL_IMAGE}\n", "Standard_ND96asr_v4", "verify.nccl.enabled",
     "set verify.enabled: true"),
    (ENABLED + "  nccl:\n    enabled: true\n", "Standard_ND96asr_v4", "verify.nccl.enabled", "give verify.nccl.image"),
    (WITH_NCCL, "Standard_HB120rs_v3", "verify.nccl.enabled", "no NVIDIA GPUs"),
    (WITH_NCCL, "Standard_ND96isr_MI300X_v5", "verify.nccl.enabled", "no NVIDIA GPUs"),
    ("nic:\n  count: 2\n  deviceIds: ['1021']\n" + ENABLED, "Standard_ND_custom", "verify.enabled",
     "give verify.bandwidthFloorGbps"),
])
def test_checks_that_cannot_measure_are_refused(extra: str, vm_size: str, field: str, words: str) -> None:
    with pytest.raises(SpecError) as err:
        make_cluster("v", "sriov", extra=extra, vm_size=vm_size)
    assert err.value.field == field and words in err.value.message


def test_a_tag_only_nccl_image_is_refused() -> None:
    with pytest.raises(SpecError) as err:
        make_cluster("v", "sriov", extra=ENABLED + "  nccl:\n    enabled: true\n"
                                                   "    image: ghcr.io/azure/aks-rdma-infiniband/nccl-tests:latest\n")
    assert err.value.field == "verify.nccl.image"


def test_gpu_memory_with_an_image_without_cuda_is_refused() -> None:
    """Azure's ibtools has Ubuntu's perftest, built without CUDA: with gpu set, --use_cuda would fail every run."""
    default = make_cluster("v", "sriov", extra=ENABLED, vm_size="Standard_ND96isr_H100_v5", version="v26.4.1")
    with pytest.raises(SpecError) as err:  # from the spec, as a user meets it
        make_cluster("v", "sriov", extra=ENABLED + GPU_AKS, vm_size="Standard_ND96isr_H100_v5", version="v26.4.1")
    assert err.value.field == "verify.enabled" and "Unsupported memory type" in err.value.message
    check_gpu_memory(gpu_cluster(), gpu_cluster().source)  # type: ignore[arg-type]  # a CUDA perftest: accepted
    check_gpu_memory(default, default.source)  # type: ignore[arg-type]  # no gpu: host memory, ibtools is fine


# -- the scripts, with fake programs -------------------------------------------------------------------------------

WRITE_BW = """#!/bin/bash
# ib_write_bw as perftest prints it: the average of the device after -d from FAKE_BW_<device>
dev=""; prev=""
for a in "$@"; do [ "$prev" = -d ] && dev=$a; prev=$a; done
echo "$dev $*" >>"$FAKE_LOG"
if [ -n "${FAKE_NO_CUDA:-}" ]; then case "$*" in *--use_cuda*) echo " Unsupported memory type"; exit 1;; esac; fi
var="FAKE_BW_$dev"
cat <<EOF
---------------------------------------------------------------------------------------
                    RDMA_Write BW Test
 Dual-port       : OFF          Device         : $dev
 Number of qps   : 1            Transport type : IB
---------------------------------------------------------------------------------------
 #bytes     #iterations    BW peak[Gb/sec]    BW average[Gb/sec]   MsgRate[Mpps]
 8388608    23456          0.00               ${!var}               0.005853
---------------------------------------------------------------------------------------
EOF
"""


def _fake_node(tmp: Path, hcas: int) -> dict[str, str]:
    sysfs, dev, bin_dir = tmp / "sys", tmp / "dev", tmp / "bin"
    for i in range(hcas):
        name = f"mlx5_ib{i}"
        (sysfs / name / "ports" / "1").mkdir(parents=True)
        (sysfs / name / "ports" / "1" / "link_layer").write_text("InfiniBand\n")
        (sysfs / name / "device" / "infiniband_verbs" / f"uverbs{i}").mkdir(parents=True)
        dev.mkdir(exist_ok=True)
        (dev / f"uverbs{i}").write_text("")
    ethernet = sysfs / "mlx5_eth0" / "ports" / "1"  # an Ethernet function: never measured
    ethernet.mkdir(parents=True)
    (ethernet / "link_layer").write_text("Ethernet\n")
    bin_dir.mkdir()
    (bin_dir / "ib_write_bw").write_text(WRITE_BW)
    (bin_dir / "ib_write_bw").chmod(0o755)
    return {"IB_SYSFS": str(sysfs), "IB_DEV": str(dev), "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "FAKE_LOG": str(tmp / "calls.log")}


def _run_verify(tmp: Path, cluster: Cluster, index: str, bandwidths: dict[str, str], node_hcas: int = 0,
                **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in _env(verify_objects(cluster)).items() if isinstance(v, str)}
    env.update(_fake_node(tmp, node_hcas or cluster.vm_size.nics), CHECK_DIR=str(tmp), **extra)
    env.update({"JOB_COMPLETION_INDEX": index, "SERVER": "localhost", "NODE_NAME": "node-1"})
    env.update({f"FAKE_BW_{dev}": bw for dev, bw in bandwidths.items()})
    script = (TEMPLATES / "argocd-verify.sh").read_text()
    return subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60, check=False)


SIZES = {"Standard_ND96asr_v4": "v25.4.0", "Standard_ND96isr_H100_v5": "v26.4.1",
         "Standard_ND128isr_NDR_GB200_v6": "v26.4.1"}


def _size_cluster(vm_size: str, gpu: bool) -> Cluster:
    kube = 'kubernetes:\n  version: "1.35"\n' if "GB200" in vm_size else ""
    return make_cluster("v", "shared", extra=kube + ENABLED + f"  image: {CUDA_PERFTEST}\n" + (GPU_AKS if gpu else ""),
                        version=SIZES[vm_size], vm_size=vm_size)


@pytest.mark.parametrize("gpu", [False, True], ids=["host", "gpu"])
@pytest.mark.parametrize("vm_size", sorted(SIZES))
def test_verify_script_passes_at_the_floor_and_fails_below_naming_the_hca(tmp_path: Path, vm_size: str,
                                                                          gpu: bool) -> None:
    cluster = _size_cluster(vm_size, gpu)
    floor = bandwidth_floor(cluster)
    hcas = [f"mlx5_ib{i}" for i in range(cluster.vm_size.nics)]
    ok = _run_verify(tmp_path / "ok", cluster, "1", {d: f"{floor}.00" for d in hcas})
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.count("OK   mlx5_ib") == len(hcas) and "mlx5_eth0" not in ok.stdout
    calls = (tmp_path / "ok" / "calls.log").read_text()
    for i, dev in enumerate(hcas):
        assert f"-d {dev} -p {18515 + i} -s 8388608" in calls
        assert (f"--use_cuda={i % cluster.vm_size.gpus} --use_cuda_dmabuf" in calls) == gpu
    low = {d: f"{floor}.00" for d in hcas} | {hcas[-1]: f"{floor - 1}.99"}
    bad = _run_verify(tmp_path / "bad", cluster, "1", low)
    assert bad.returncode == 1
    assert f"FAIL {hcas[-1]}" in bad.stdout and f"1 of {len(hcas)} HCAs below {floor} Gb/s" in bad.stdout
    assert bad.stdout.strip().endswith(hcas[-1])


def test_verify_script_serves_every_hca_and_fails_with_too_few(tmp_path: Path) -> None:
    cluster = _size_cluster("Standard_ND96isr_H100_v5", True)
    served = _run_verify(tmp_path / "server", cluster, "0", {f"mlx5_ib{i}": "1" for i in range(8)})
    assert served.returncode == 0, served.stdout + served.stderr
    calls = (tmp_path / "server" / "calls.log").read_text().splitlines()
    assert len([c for c in calls if c.startswith("mlx5_ib")]) == 8 and not any("localhost" in c for c in calls)
    few = dataclasses.replace(cluster, vm_size=dataclasses.replace(cluster.vm_size, nics=9))
    short = _run_verify(tmp_path / "few", few, "1", {}, node_hcas=8)
    assert short.returncode == 1 and "8 InfiniBand HCA(s) usable" in short.stdout and "has 9" in short.stdout


def test_verify_script_says_when_the_image_has_no_cuda(tmp_path: Path) -> None:
    cluster = _size_cluster("Standard_ND96asr_v4", True)
    out = _run_verify(tmp_path, cluster, "1", {f"mlx5_ib{i}": "200" for i in range(8)}, FAKE_NO_CUDA="1")
    assert out.returncode == 1 and "no CUDA support" in out.stdout


# nccl-tests' table header and result row, as all_reduce_perf prints them (Azure's expected output, 8 GiB)
HEADER = ("#" + " " * 62 + "out-of-place" + " " * 23 + "in-place",
          "#       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw"
          "   busbw #wrong",
          "#        (B)    (elements)                               (us)  (GB/s)  (GB/s)            (us)  (GB/s)"
          "  (GB/s)")
ROW = "  8589934592    2147483648     float     sum      -1    86026   99.85  $FAKE_BUSBW  ${FAKE_WRONG:-0}    86106" \
      "   99.76  187.05      0"
ALL_REDUCE = "\n".join([
    "#!/bin/bash",
    "# all_reduce_perf: busbw at 8 GiB from FAKE_BUSBW, NCCL's channel line from FAKE_VIA",
    'echo "# nThread 1 nGpus 1 minBytes 8589934592 maxBytes 8589934592 step: 2(factor) warmup iters: 5 iters: 20"',
    'echo "rdma-nccl-0:101:201 [0] NCCL INFO Channel 00/0 : 0[0] -> 8[0] [send] via ${FAKE_VIA}"',
    *(f'echo "{line}"' for line in HEADER),
    f'echo "{ROW}"',
    'echo "# Out of bounds values : 0 OK"',
    'echo "# Avg bus bandwidth    : ${FAKE_BUSBW}"',
    ""])
MPIRUN = """#!/bin/bash
# mpirun: runs the program that follows its options once, here
echo "$*" >>"$FAKE_LOG"
while [ $# -gt 0 ] && [ "${1##*/}" != all_reduce_perf ]; do shift; done
exec "$@"
"""


def _run_nccl(tmp: Path, cluster: Cluster, busbw: str, via: str, wrong: str = "0") -> subprocess.CompletedProcess[str]:
    bin_dir = tmp / "bin"
    bin_dir.mkdir(parents=True)
    programs = {"all_reduce_perf": ALL_REDUCE, "mpirun": MPIRUN, "sshd": "#!/bin/sh\nexit 0\n",
                "chpasswd": "#!/bin/sh\ncat >/dev/null\n", "ssh-keygen": "#!/bin/sh\nexit 0\n",
                "ssh": '#!/bin/sh\necho "ssh $*" >>"$FAKE_LOG"\n'}
    for name, text in programs.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    env = {k: v for k, v in _env(nccl_objects(cluster)).items() if isinstance(v, str)}
    env.update({"PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_LOG": str(tmp / "calls.log"),
                "JOB_COMPLETION_INDEX": "0", "JOB_UID": "0f1e2d3c-uid", "NODE_NAME": "node-0",
                "PEERS": "localhost localhost", "CHECK_DIR": str(tmp), "FAKE_BUSBW": busbw, "FAKE_VIA": via,
                "FAKE_WRONG": wrong})
    script = (TEMPLATES / "argocd-nccl.sh").read_text()
    return subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("gpu", [False, True], ids=["host", "gpu"])
@pytest.mark.parametrize("vm_size", sorted(SIZES))
def test_nccl_script_passes_at_the_floor_and_fails_below(tmp_path: Path, vm_size: str, gpu: bool) -> None:
    cluster = _size_cluster(vm_size, gpu)
    cluster = dataclasses.replace(cluster, verify=dataclasses.replace(
        cluster.verify, nccl=dataclasses.replace(cluster.verify.nccl, enabled=True, image=NCCL_IMAGE)))
    floor = nccl_floor(cluster)
    ok = _run_nccl(tmp_path / "ok", cluster, f"{floor}.00", "NET/IB/0/GDRDMA")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"OK: bus bandwidth {floor}.00 GB/s >= floor {floor} GB/s" in ok.stdout
    mpirun = (tmp_path / "ok" / "calls.log").read_text()
    assert f"-np {2 * cluster.vm_size.gpus} " in mpirun and "-x NCCL_IB_DISABLE" in mpirun
    bad = _run_nccl(tmp_path / "bad", cluster, f"{floor - 1}.50", "NET/IB/0/GDRDMA")
    assert bad.returncode == 1 and f"bus bandwidth {floor - 1}.50 GB/s < floor {floor} GB/s" in bad.stdout
    # no GPUDirect RDMA in NCCL's log: a failure when the cluster uses it, no concern over host memory
    host_path = _run_nccl(tmp_path / "nogdr", cluster, f"{floor}.00", "NET/IB/0")
    assert host_path.returncode == (1 if gpu else 0)
    if gpu:
        assert "NCCL did not use GPUDirect RDMA" in host_path.stdout


def test_nccl_script_fails_on_wrong_results(tmp_path: Path) -> None:
    cluster = _size_cluster("Standard_ND96asr_v4", False)
    cluster = dataclasses.replace(cluster, verify=dataclasses.replace(
        cluster.verify, nccl=dataclasses.replace(cluster.verify.nccl, enabled=True, image=NCCL_IMAGE)))
    out = _run_nccl(tmp_path, cluster, "190.00", "NET/IB/0/GDRDMA", wrong="3")
    assert out.returncode == 1 and "3 wrong results" in out.stdout


def test_scripts_are_valid_bash() -> None:
    for name in ("argocd-verify.sh", "argocd-nccl.sh"):
        subprocess.run(["bash", "-n", str(TEMPLATES / name)], check=True)
