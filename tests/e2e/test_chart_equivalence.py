"""The rdma-infiniband chart's contract, with the real programs: for every mode, release and VM size (and IPAM
back-end, and the options that change the objects), ``helm template`` of the chart gen writes, with the cluster's
values file, gives the objects ``kustomize build`` of the cluster's mode overlay gives, compared as data. Also: the
pinned helm's ``lint --strict`` is clean, and values.schema.json makes helm refuse bad values with its own message."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from generator import catalog
from generator.check.equivalence import differences
from generator.cluster.model import MODES, Cluster, Gpu
from generator.pipeline.chart_renders import chart_defaults
from generator.pipeline.clusters import checked_cluster
from generator.programs.helm import helm_command
from generator.programs.kustomize import build_many
from generator.render.cluster_bundle import render_bundle
from generator.render.rdma_chart import CHART_NAME, chart_files
from generator.render.rdma_values import VALUES_FILE
from generator.yamlio.load import load_documents
from tests.conftest import spec_text

pytestmark = pytest.mark.slow  # whole-tool runs: not in make test-fast

# Three catalog sizes with different NIC counts and device IDs, and a size the catalog does not know (its own
# device ID and IPoIB interface).
VM_SIZES = {
    "Standard_ND96asr_v4": "",  # 8 x ConnectX-6 (101c)
    "Standard_ND96isr_H100_v5": "",  # 8 x ConnectX-7 (101e)
    "Standard_HB176rs_v4": "",  # 1 NIC, 101c and 101e
    "Standard_ND_custom": "nic:\n  count: 4\n  deviceIds: ['1021']\n  ipoibInterface: ib0\n",
}
OPTIONS = (
    "tolerations:\n- {key: sku, operator: Equal, value: gpu, effect: NoSchedule}\n"
    "- {key: maintenance, operator: Exists, effect: NoExecute, tolerationSeconds: 1000000}\n"
    "verify:\n  enabled: true\n  bandwidthFloorGbps: 150\n"
    "shared:\n  rdmaHcaMax: 127\n"
)
GPU_SIZES = {"Standard_ND96asr_v4": "", "Standard_ND96isr_H100_v5": "",
             "Standard_ND128isr_NDR_GB200_v6": 'kubernetes:\n  version: "1.35"\n'}
GPU_CHECKS = ("verify:\n  enabled: true\n  image: registry.example/perftest-cuda@sha256:" + "b" * 64 + "\n"
              "  nccl:\n    enabled: true\n    image: ghcr.io/azure/aks-rdma-infiniband/nccl-tests@sha256:" + "a" * 64
              + "\n")
# the operator's namespace and pull secrets (YAML-trap names), in the spec's networkOperator block
OPERATOR = "  namespace: nvidia-network-operator\n  imagePullSecrets: [ngc, 'true', '0']\n"
GPU_PEERMEM = "gpu: {driver: aks, rdma: peermem}\nimageRegistry: {docker.io: myacr.azurecr.io/hub}\n"
NETWORK = (
    "ipoib:\n  networkName: ib-fabric\n  namespace: training\n  master: ibs1\n  range: 10.20.0.0/16\n"
    "  gateway: 10.20.0.254\n  exclude: [10.20.0.0/24, 10.20.255.255/32, 10.20.7.128/25]\n  perNodeBlockSize: 128\n"
)
# the operator's admission webhook on: the SR-IOV resource takes a prefix the webhook accepts
WEBHOOK = "  values:\n    operator:\n      admissionController:\n        enabled: true\n"
DIGEST = "sha256:" + "ab" * 32


def mirrors(tag: str) -> str:
    """Private mirrors for every registry, and digests pinned for two of the release's components: the chart values
    must move and pin them as the overlay does."""
    images = catalog.load().release(tag).images
    pinned = [f"{images[c].repository}/{images[c].image}" for c in ("sriovDevicePlugin", "multus")]
    return ("imageRegistry:\n  nvcr.io/nvidia: myacr.azurecr.io/nvidia\n  ghcr.io: myacr.azurecr.io/ghcr\n"
            "  registry.k8s.io: myacr.azurecr.io/k8s\nimageDigests:\n"
            + "".join(f"  {name}: {DIGEST}\n" for name in pinned))


@dataclass(frozen=True)
class Case:
    mode: str
    release: str
    vm_size: str
    extra: str = ""  # spec fields (an ipoib: block last)
    ipam: str = ""  # "" : the release's default
    operator: str = ""  # networkOperator fields besides the version
    gpu: str = ""  # GPUDirect RDMA (dmabuf | peermem): set on the Cluster until the spec's gpu section lands

    @property
    def id(self) -> str:
        ipam = f"-{self.ipam}" if self.ipam else ""
        options = ("-gpu-operator" if "driver: operator" in self.extra else "-gpu-peermem" if "gpu:" in self.extra
                   else "-options" if self.extra else "")
        options += "-mirrored" if "imageRegistry" in self.extra else ""
        options += "-webhook" if "admissionController" in self.operator else ""
        gpu = f"-gpu-{self.gpu}" if self.gpu else ""
        return f"{self.mode}-{self.release}-{self.vm_size.removeprefix('Standard_')}{ipam}{options}{gpu}"

    def cluster(self) -> Cluster:
        extra = VM_SIZES.get(self.vm_size, "") + self.extra
        if self.ipam:
            extra += f"  ipam: {self.ipam}\n" if "ipoib:\n" in extra else f"ipoib:\n  ipam: {self.ipam}\n"
        text = spec_text(name="eq", mode=self.mode, version=self.release, vm_size=self.vm_size, extra=extra)
        version = f"  version: {self.release}\n"
        text = text.replace(version, version + self.operator, 1)
        cluster = checked_cluster(text.encode(), "clusters/eq.yaml", expected_name="eq")
        return dataclasses.replace(cluster, gpu=Gpu(driver="aks", rdma=self.gpu)) if self.gpu else cluster


def cases() -> list[Case]:
    cat = catalog.load()
    out = [Case(mode, tag, size) for tag in cat.release_tags for mode in MODES for size in VM_SIZES]
    # both IPAM back-ends where the release has both (its default is the first)
    out += [Case("ipoib", tag, size, ipam=ipam) for tag in cat.release_tags for size in VM_SIZES
            for ipam in cat.release(tag).ipam[1:]]
    # every option that changes the objects: tolerations, verify, pull secrets, another namespace, a network
    newest = cat.release_tags[-1]
    out += [Case(mode, newest, "Standard_ND96asr_v4", OPTIONS, operator=OPERATOR) for mode in MODES]
    for tag in cat.release_tags:
        out += [Case("ipoib", tag, "Standard_ND96isr_H100_v5", OPTIONS + NETWORK, ipam=ipam, operator=OPERATOR)
                for ipam in cat.release(tag).ipam]
    # private mirrors and pinned digests (ghcr.io images up to v25.4.0, nvcr.io after), every mode
    out += [Case(mode, tag, "Standard_ND96asr_v4", OPTIONS + mirrors(tag)) for tag in ("v25.4.0", newest)
            for mode in MODES]
    # the admission webhook on: every release's sriov (and a mirrored one)
    out += [Case("sriov", tag, "Standard_ND96asr_v4", OPTIONS, operator=WEBHOOK) for tag in cat.release_tags]
    out += [Case("sriov", newest, "Standard_ND96isr_H100_v5", OPTIONS + mirrors(newest), operator=WEBHOOK)]
    # the checks on GPU sizes: every HCA, NCCL, over host and GPU memory
    for size, kube in GPU_SIZES.items():
        out += [Case(mode, newest, size, kube + OPTIONS.split("verify:")[0] + GPU_CHECKS, gpu=gpu)
                for mode in MODES for gpu in ("", "dmabuf")]
    out.append(Case("sriov", newest, "Standard_ND96asr_v4", GPU_CHECKS, gpu="peermem"))
    # GPUDirect with AKS's driver and nvidia-peermem: the reloader is in the overlay, so in the chart too (with the
    # pool's tolerations, and moved to a mirror); the GPU Operator changes nothing in the overlay
    # (the verify Job measures GPU memory then: with a perftest image built with CUDA)
    gpu_options = OPTIONS.replace("verify:\n  enabled: true\n", "verify:\n  enabled: true\n  image: "
                                  "registry.example/perftest-cuda@sha256:" + "b" * 64 + "\n")
    out += [Case(mode, newest, "Standard_ND96isr_H100_v5", gpu_options + GPU_PEERMEM) for mode in MODES]
    out.append(Case("sriov", newest, "Standard_ND96isr_H100_v5", "gpu: {driver: operator}\n"))
    return out


CASES = cases()


@dataclass(frozen=True)
class Result:
    overlay: list[dict[str, Any]]
    chart: list[dict[str, Any]]
    error: str


def _helm(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = helm_command()
    assert command is not None, "helm is not installed: run scripts/setup.sh"
    home = Path("/nonexistent-helm-home")
    env = {"HOME": str(home), "XDG_CACHE_HOME": str(home), "XDG_CONFIG_HOME": str(home), "XDG_DATA_HOME": str(home),
           "PATH": "/usr/bin:/bin"}
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=120, cwd=cwd, env=env)


@pytest.fixture(scope="module")
def chart_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The chart, as gen chart writes it."""
    root = tmp_path_factory.mktemp("chart") / CHART_NAME
    for rel, data in chart_files(chart_defaults()).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


@pytest.fixture(scope="module")
def results(chart_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Result]:
    """Every case: its written bundle's mode overlay built with kustomize, and the chart rendered with its values file
    by helm (both in parallel)."""
    root = tmp_path_factory.mktemp("bundles")
    overlays, values = [], []
    for case in CASES:
        cluster = case.cluster()
        bundle = render_bundle(cluster)
        out = root / case.id
        for rel, data in bundle.files.items():
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_bytes(data)
        overlays.append(out / "overlays" / cluster.mode)
        values.append((out / VALUES_FILE, cluster.namespace))
    built = build_many(overlays)

    def template(item: tuple[Path, str]) -> subprocess.CompletedProcess[str]:
        return _helm("template", CHART_NAME, str(chart_dir), "--namespace", item[1], "--values", str(item[0]))

    with ThreadPoolExecutor(max_workers=4) as pool:
        rendered = list(pool.map(template, values))
    out: dict[str, Result] = {}
    for case, build, proc in zip(CASES, built, rendered, strict=True):
        assert not build.error, (case.id, build.error)
        chart = [d.value for d in load_documents(proc.stdout.encode(), case.id) if isinstance(d.value, dict)]
        out[case.id] = Result(build.objects, chart, proc.stderr if proc.returncode else "")
    return out


def test_the_matrix_covers_every_mode_release_size_and_ipam() -> None:
    cat = catalog.load()
    covered = {(c.mode, c.release, c.vm_size) for c in CASES}
    assert covered >= {(m, t, s) for m in MODES for t in cat.release_tags for s in VM_SIZES}
    assert len(VM_SIZES) >= 3 and len(cat.release_tags) == 6
    ipams = {(c.release, c.cluster().ipoib.ipam) for c in CASES if c.mode == "ipoib"}
    assert ipams == {(t, ipam) for t in cat.release_tags for ipam in cat.release(t).ipam}
    assert ("whereabouts" in {i for _, i in ipams}) and ("nv-ipam" in {i for _, i in ipams})


def _canonical(objects: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(o, sort_keys=True) for o in objects)


@pytest.mark.kustomize
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_chart_gives_the_overlays_objects(case: Case, results: dict[str, Result]) -> None:
    result = results[case.id]
    assert not result.error, result.error
    assert result.overlay, "the overlay built nothing"
    assert _canonical(result.chart) == _canonical(result.overlay), "\n".join(differences(result.overlay,
                                                                                        result.chart))
    # no Helm labels or annotations of its own: the objects are the overlay's, byte for byte as data
    assert "helm.sh" not in json.dumps(result.chart) and "app.kubernetes.io/managed-by" not in json.dumps(result.chart)


def test_helm_lint_strict_is_clean(chart_dir: Path) -> None:
    proc = _helm("lint", "--strict", str(chart_dir))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "[WARNING]" not in proc.stdout and "[ERROR]" not in proc.stdout
    assert "0 chart(s) failed" in proc.stdout


@pytest.mark.parametrize("mode", MODES)
def test_helm_lint_strict_is_clean_for_every_mode(chart_dir: Path, mode: str) -> None:
    proc = _helm("lint", "--strict", str(chart_dir), "--set", f"mode={mode}", "--set", "verify.enabled=true",
                 "--set", "ipoib.ipam=nv-ipam")
    assert proc.returncode == 0, proc.stdout + proc.stderr


BAD_VALUES = {
    "unknown mode": ("mode: sriovv\n", "at '/mode': value must be one of 'base', 'sriov', 'shared', 'ipoib'"),
    "wrong type": ("rdmaSharedDevicePlugin:\n  rdmaHcaMax: \"63\"\n",
                   "at '/rdmaSharedDevicePlugin/rdmaHcaMax': got string, want integer"),
    "wrong type (boolean)": ("namespace:\n  create: \"yes\"\n", "at '/namespace/create': got string, want boolean"),
    "missing required": ("ipoib:\n  range: null\n", "at '/ipoib': missing property 'range'"),
    "unknown key": ("mod: ipoib\n", "additional properties 'mod' not allowed"),
    "image the mode needs": ("mode: ipoib\nimages:\n  multus: null\n", "at '/images': missing property 'multus'"),
    "not a CIDR": ("ipoib:\n  range: 10.0.0.0\n", "at '/ipoib/range'"),
    "unknown IPAM": ("ipoib:\n  ipam: dhcp\n", "at '/ipoib/ipam': value must be one of 'whereabouts', 'nv-ipam'"),
}


@pytest.mark.parametrize("name", sorted(BAD_VALUES))
def test_bad_values_fail_helm_template_through_the_schema(chart_dir: Path, tmp_path: Path, name: str) -> None:
    text, message = BAD_VALUES[name]
    values = tmp_path / "values.yaml"
    values.write_text(text)
    proc = _helm("template", CHART_NAME, str(chart_dir), "--values", str(values))
    assert proc.returncode != 0 and proc.stdout == ""
    assert "values don't meet the specifications of the schema(s)" in proc.stderr, proc.stderr
    assert f"{CHART_NAME}:" in proc.stderr and message in proc.stderr, proc.stderr


# What gen refuses in a spec, refused by the chart's own checks (rdma.checks: `fail` with a message), so that helm
# template and helm install stop too; each from the chart's defaults (v26.4.1, sriov, 192.168.0.0/16, nv-ipam).
CROSS_FIELD = {
    "gateway outside the range": ("ipoib:\n  gateway: 10.0.0.1\n",
                                  "ipoib.gateway 10.0.0.1: not a usable address of ipoib.range 192.168.0.0/16"),
    "gateway is the network address": ("ipoib:\n  gateway: 192.168.0.0\n",
                                       "ipoib.gateway 192.168.0.0: not a usable address of ipoib.range"),
    "exclusion outside the range": ("ipoib:\n  exclude: [192.168.0.0/32, 10.1.0.0/24]\n",
                                    "ipoib.exclude[1] 10.1.0.0/24: outside ipoib.range 192.168.0.0/16"),
    "exclusions overlap": ("ipoib:\n  exclude: [192.168.0.0/24, 192.168.0.128/25]\n",
                           "ipoib.exclude[1] 192.168.0.128/25: overlaps another exclusion"),
    "block too large for a /24": ("ipoib:\n  range: 10.0.0.0/24\n  gateway: 10.0.0.1\n  exclude: [10.0.0.0/32]\n"
                                  "  perNodeBlockSize: 1000\n",
                                  "ipoib.perNodeBlockSize 1000: more than the 254 address(es) left in 10.0.0.0/24"),
    "block too large once excluded": ("ipoib:\n  range: 10.0.0.0/24\n  gateway: 10.0.0.1\n"
                                      "  exclude: [10.0.0.0/25]\n  perNodeBlockSize: 200\n",
                                      "ipoib.perNodeBlockSize 200: more than the 127 address(es) left in 10.0.0.0/24"),
    "a public range": ("ipoib:\n  range: 8.8.0.0/16\n  gateway: 8.8.0.1\n  exclude: []\n",
                       "ipoib.range 8.8.0.0/16: not a private range"),
    "host bits set": ("ipoib:\n  range: 192.168.0.1/16\n", "ipoib.range 192.168.0.1/16: host bits are set"),
    "SR-IOV resource name the webhook forbids": ("sriovDevicePlugin:\n  resourceName: rdma-ib\n",
                                                 "sriovDevicePlugin.resourceName rdma-ib: the operator's admission "
                                                 "webhook and the SR-IOV device plugin take only"),
    "whereabouts without ipamPlugin in the CRD": (
        "mode: ipoib\nipoib:\n  ipam: whereabouts\nimages:\n  whereabouts: {repository: ghcr.io/k8snetworkplumbingwg,"
        " image: whereabouts, version: v0.7.0}\n",
        "ipoib.ipam whereabouts: network-operator v26.4.1 does not deploy it (its NicClusterPolicy CRD has no "
        "spec.secondaryNetwork.ipamPlugin); it supports: nv-ipam"),
    "unknown release": ("release: v24.1.0\n", "release v24.1.0: not a network-operator release this chart knows"),
}


@pytest.mark.parametrize("name", sorted(CROSS_FIELD))
def test_what_gen_refuses_helm_refuses_through_the_chart_s_checks(chart_dir: Path, tmp_path: Path, name: str) -> None:
    text, message = CROSS_FIELD[name]
    values = tmp_path / "values.yaml"
    values.write_text(text)
    for command in ("template", "install"):  # install --dry-run: what helm install does before it talks to a cluster
        args = ["--dry-run=client"] if command == "install" else []
        proc = _helm(command, CHART_NAME, str(chart_dir), "--values", str(values), *args)
        assert proc.returncode != 0 and "execution error at (rdma-infiniband/templates/checks.yaml" in proc.stderr
        assert message in proc.stderr, proc.stderr


def test_whereabouts_passes_the_checks_with_a_release_that_deploys_it(chart_dir: Path, tmp_path: Path) -> None:
    images = catalog.load().release("v25.7.0").images
    values = tmp_path / "values.yaml"
    values.write_text(json.dumps({"mode": "ipoib", "release": "v25.7.0", "ipoib": {"ipam": "whereabouts"},
                                  "images": {name: image.as_dict() for name, image in images.items()}}))
    proc = _helm("template", CHART_NAME, str(chart_dir), "--values", str(values))
    assert proc.returncode == 0, proc.stderr
    assert "ipamPlugin:" in proc.stdout


def test_bad_values_on_the_command_line_fail_too(chart_dir: Path) -> None:
    proc = _helm("template", CHART_NAME, str(chart_dir), "--set", "mode=rdma")
    assert proc.returncode != 0 and "at '/mode': value must be one of" in proc.stderr


def test_without_argocd_the_objects_carry_no_argocd_annotations_and_verify_is_a_helm_test(chart_dir: Path) -> None:
    proc = _helm("template", CHART_NAME, str(chart_dir), "--set", "argocd.annotations=false", "--set",
                 "namespace.create=false", "--set", "verify.enabled=true", "--set", "mode=ipoib", "--set",
                 "ipoib.ipam=nv-ipam", "--set", "ipoib.createIPPool=false")
    assert proc.returncode == 0, proc.stderr
    objects = [d.value for d in load_documents(proc.stdout.encode(), "helm") if isinstance(d.value, dict)]
    kinds = sorted(o["kind"] for o in objects)
    assert kinds == ["IPoIBNetwork", "Job", "NicClusterPolicy", "NodeFeatureRule", "Service"]  # no Namespace, IPPool
    assert "argocd.argoproj.io" not in proc.stdout
    hooks = [o["metadata"]["annotations"]["helm.sh/hook"] for o in objects if o["kind"] in ("Job", "Service")]
    assert hooks == ["test", "test"]
