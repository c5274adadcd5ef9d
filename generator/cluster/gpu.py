"""The spec's ``gpu`` section -> ``Gpu``: who installs the GPU driver on the InfiniBand pool (AKS or the GPU Operator)
and how the NICs reach GPU memory (DMA-BUF or nvidia-peermem), checked against the VM size and the GPU Operator
catalog. Pure, like the rest of the loader: what the schema cannot say is refused here with the field and the fix; the
chart values are checked by ``generator.check.gpu_spec`` once the spec is parsed."""

from __future__ import annotations

from typing import Any, Protocol

from generator import catalog
from generator.catalog.gpu import GpuRelease, load_gpu
from generator.cluster.model import Gpu, GpuOperator, Kubernetes
from generator.core.errors import InputError
from generator.core.finding import JsonPath


class Source(Protocol):  # generator.cluster.parse.SpecSource
    file: str

    def given(self, path: JsonPath) -> bool: ...

    def error(self, path: JsonPath, message: str) -> InputError: ...

    def note(self, path: JsonPath, message: str) -> str: ...


POOL_COMMAND = ("az aks nodepool add --resource-group <group> --cluster-name <cluster> --name <pool> "
                "--node-vm-size <size> --os-sku Ubuntu --gpu-driver none")


def version_error(value: Any) -> tuple[JsonPath, str] | None:
    """A ``gpu.operator.version`` gen knows but cannot deploy (no chart facts), said with what it knows of it (a known
    defect) and the releases it can deploy; before the schema, whose enum would only list those."""
    gpu = value.get("gpu") if isinstance(value, dict) else None
    operator = gpu.get("operator") if isinstance(gpu, dict) else None
    version = operator.get("version") if isinstance(operator, dict) else None
    gpu_cat = load_gpu()
    if not isinstance(version, str) or version not in gpu_cat.releases or version in gpu_cat.charted_tags:
        return None
    release = gpu_cat.release(version)
    defects = [i for i in gpu_cat.issues(release, peermem=True) if i.severity == "error"]
    why = "; ".join(f"it has a known GPUDirect RDMA defect: {i.summary} ({i.fix})" for i in defects)
    fixed = next((t for t in gpu_cat.charted_tags if catalog.version_key(t) > release.key), gpu_cat.default_release)
    return (("gpu", "operator", "version"),
            f"GPU Operator {version} is a release gen knows but does not deploy (no chart facts of it)"
            + (f"; {why}" if why else "") + f"; set gpu.operator.version to {fixed} (gen deploys "
            f"{', '.join(gpu_cat.charted_tags)})")


def gpu_of(value: dict[str, Any], vm: catalog.VmSize, known_size: bool, kubernetes: Kubernetes,
           spec: Source) -> tuple[Gpu | None, list[str]]:
    """The cluster's ``Gpu`` (None without a ``gpu`` section) and the warnings about it."""
    raw = value.get("gpu")
    if raw is None:
        return None, []
    gpu_cat = load_gpu()
    if known_size and vm.name in gpu_cat.other_vendor_sizes:
        raise spec.error(("gpu",), f"{vm.name} has {gpu_cat.other_vendor_sizes[vm.name]}: the NVIDIA GPU Operator and "
                                   "nvidia-peermem do not apply to them; remove gpu")
    if known_size and vm.gpus == 0:
        raise spec.error(("gpu",), f"{vm.name} has no GPUs ({vm.description}): GPUDirect RDMA needs GPU nodes; "
                                   "remove gpu, or set vmSize to an ND size")
    driver, rdma = raw["driver"], raw["rdma"]
    if driver == "aks":
        if spec.given(("gpu", "operator")):
            raise spec.error(("gpu", "operator"), "gpu.operator is the GPU Operator, which installs its own driver, "
                                                  "and gpu.driver is aks: AKS-managed and GPU Operator drivers cannot "
                                                  "both be on one pool. Remove gpu.operator, or set gpu.driver: "
                                                  f"operator on a pool created with --gpu-driver none ({POOL_COMMAND})")
        return Gpu(driver, rdma), []
    operator = raw["operator"]
    release = gpu_cat.release(operator["version"])  # the schema's enum checked it
    notes = [*_lifecycle(release, spec), *_kubernetes(release, kubernetes, spec)]
    return Gpu(driver, rdma, GpuOperator(release, dict(operator.get("values") or {}), gpu_cat.namespace)), notes


def _lifecycle(release: GpuRelease, spec: Source) -> list[str]:
    if release.status != "end-of-life":
        return []
    gpu_cat = load_gpu()
    return [spec.note(("gpu", "operator", "version"), f"GPU Operator {release.tag} is end of life per NVIDIA's "
                                                      f"lifecycle policy ({gpu_cat.status_as_of}); set "
                                                      f"gpu.operator.version to {gpu_cat.default_release}")]


def _kubernetes(release: GpuRelease, kubernetes: Kubernetes, spec: Source) -> list[str]:
    if release.supports_kubernetes(kubernetes.version):
        return []
    path: JsonPath = ("kubernetes", "version") if kubernetes.given else ("gpu", "operator", "version")
    able = [r.tag for r in load_gpu().releases.values() if r.charted and r.supports_kubernetes(kubernetes.version)]
    fix = f"; {', '.join(able)} support it" if able else ""
    assumed = "" if kubernetes.given else " (assumed: set kubernetes.version)"
    return [spec.note(path, f"GPU Operator {release.tag} supports Kubernetes {release.kubernetes_range}, not "
                            f"{kubernetes.version}{assumed}{fix}")]
