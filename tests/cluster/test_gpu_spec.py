"""The spec's gpu section: off when absent, its defaults, and every combination that cannot work refused at its line
with the fix (a SpecError, exit 2), never a traceback, whatever the section holds."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.cluster.parse import SpecError
from generator.core.errors import InputError
from generator.pipeline.clusters import checked_cluster
from tests.conftest import spec_text

H100 = "Standard_ND96isr_H100_v5"


def cluster(gpu: str, vm_size: str = H100, version: str = "v26.4.1", extra: str = ""):  # type: ignore[no-untyped-def]
    return checked_cluster(spec_text(version=version, vm_size=vm_size, extra=extra + gpu).encode(),
                           "clusters/prod.yaml", expected_name="prod")


def refused(gpu: str, **kwargs: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        cluster(gpu, **kwargs)
    return info.value


def test_absent_means_no_gpu_part() -> None:
    assert cluster("").gpu is None


def test_defaults_aks_driver_and_dma_buf() -> None:
    gpu = cluster("gpu: {}\n").gpu
    assert gpu is not None and (gpu.driver, gpu.rdma, gpu.operator) == ("aks", "dmabuf", None)
    operator = cluster("gpu: {driver: operator}\n").gpu
    assert operator is not None and operator.operator is not None
    assert operator.operator.release.tag == "v26.7.0" and operator.operator.namespace == "gpu-operator"


def test_the_operator_section_with_aks_s_driver_is_refused() -> None:
    error = refused("gpu: {driver: aks, operator: {version: v26.3.3}}\n")
    assert error.field == "gpu.operator" and error.line == 9
    assert "cannot both be on one pool" in error.message and "--gpu-driver none" in error.message


def test_a_release_gen_knows_but_does_not_deploy_is_refused_with_what_it_knows() -> None:
    error = refused("gpu: {driver: operator, operator: {version: v26.3.1}}\n")
    assert error.field == "gpu.operator.version"
    assert "injected every ibverbs device" in error.message and "set gpu.operator.version to v26.3.3" in error.message
    assert "accepted values" in refused("gpu: {driver: operator, operator: {version: v9.9.9}}\n").message


def test_sizes_without_nvidia_gpus_are_refused() -> None:
    assert "has no GPUs" in refused("gpu: {}\n", vm_size="Standard_HB120rs_v3").message
    assert "AMD" in refused("gpu: {}\n", vm_size="Standard_ND96isr_MI300X_v5").message


@pytest.mark.parametrize(("values", "field", "words"), [
    ("nfd: {enabled: true}", "gpu.operator.values.nfd.enabled", "already runs NFD"),
    ("driver: {rdma: {enabled: true}}", "gpu.operator.values.driver.rdma.enabled", "change gpu.rdma instead"),
    ("driver: {rdma: {useHostMofed: true}}", "gpu.operator.values.driver.rdma.useHostMofed", "in a container"),
    ("driver: {enabled: false}", "gpu.operator.values.driver.enabled", "gpu.driver: aks"),
    ("toolkit: {enabled: false}", "gpu.operator.values.toolkit.enabled", "no runtime"),
    ("operator: {upgradeCRD: true}", "gpu.operator.values.operator.upgradeCRD", "PreSync"),
    ("nfd: {enabled: 'false'}", "gpu.operator.values.nfd.enabled", "not a boolean"),
    ("drivr: {enabled: true}", "gpu.operator.values.drivr", "did you mean 'driver'"),
    ("daemonsets: {tolerations: {key: sku}}", "gpu.operator.values.daemonsets.tolerations", "Toleration"),
])
def test_values_that_undo_what_the_bundle_needs_are_refused(values: str, field: str, words: str) -> None:
    error = refused(f"gpu:\n  driver: operator\n  operator:\n    values: {{{values}}}\n")
    assert error.field == field and error.line == 12 and words in error.message, error


def test_values_that_agree_pass() -> None:
    gpu = cluster("gpu:\n  driver: operator\n  rdma: peermem\n  operator:\n    values: {driver: {rdma: {enabled: "
                  "true}}, dcgmExporter: {serviceMonitor: {enabled: true}}}\n").gpu
    assert gpu is not None and gpu.peermem and gpu.operator is not None


def test_notes_for_an_old_release_and_a_kubernetes_outside_its_range() -> None:
    notes = cluster("gpu: {driver: operator, operator: {version: v25.3.4}}\n", version="v25.1.0").notes
    assert any("field 'gpu.operator.version'" in n and "end of life" in n for n in notes)
    assert not any("supports Kubernetes" in n for n in notes)  # v25.3.4 runs on 1.29 to 1.33, and 1.31 is in it
    newest = cluster("gpu: {driver: operator}\n", version="v25.1.0").notes
    assert any("GPU Operator v26.7.0 supports Kubernetes 1.32 to 1.36, not 1.31" in n for n in newest)


GPU_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                          lambda children: st.dictionaries(st.text(max_size=8), children, max_size=4)
                          | st.lists(children, max_size=3), max_leaves=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(driver=st.sampled_from(["aks", "operator", "both", 3, None]), rdma=st.sampled_from(["dmabuf", "peermem", ""]),
       values=GPU_VALUES)
def test_any_gpu_section_gives_a_cluster_or_a_spec_error(driver: object, rdma: str, values: object) -> None:
    import json

    section = {"driver": driver, "rdma": rdma, "operator": {"values": values}}
    try:
        cluster(f"gpu: {json.dumps(section)}\n")
    except InputError as exc:
        assert "clusters/prod.yaml" in str(exc)
