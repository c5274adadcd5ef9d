"""The GPU Operator catalog (generator/catalog/gpu-operator.yaml) and the GPU Operator chart facts, held to outside
truth: the chart's own values and renders at each tag in ../shared/upstream/gpu-operator, and Azure's values."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from generator import catalog
from generator.catalog.gpu import STATUSES, gpu_chart_facts, load_gpu
from tests.conftest import UPSTREAM

GPU = load_gpu()
CHARTED = GPU.charted_tags
# Azure's GPU Operator values (Azure/aks-rdma-infiniband configs/values/gpu-operator/values.yaml at 700dabb4, as
# ../shared/upstream/gpu-operator/COMPAT.md section 6 gives them): what chart-rendered-aks.yaml was rendered with
AZURE_VALUES: dict[str, Any] = {
    "nfd": {"enabled": False}, "driver": {"rdma": {"enabled": True}}, "migManager": {"enabled": False},
    "vgpuDeviceManager": {"enabled": False}, "vfioManager": {"enabled": False},
    "sandboxDevicePlugin": {"enabled": False},
    "dcgmExporter": {"serviceMonitor": {"enabled": True, "additionalLabels": {"release": "kube-prometheus"}}},
}


def _render(tag: str, name: str) -> list[dict[str, Any]]:
    text = (UPSTREAM / "gpu-operator" / tag / name).read_text()
    return [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]


def test_every_release_has_its_facts_and_sources() -> None:
    text = (catalog.DATA_DIR / "gpu-operator.yaml").read_text()
    tags = list(GPU.releases)
    assert (tags[0], tags[-1], len(tags)) == ("v25.3.0", "v26.7.0", 12)
    for tag, release in GPU.releases.items():
        assert release.status in STATUSES and release.rdma_validated and release.driver
        assert catalog.minor_key(release.kubernetes[0]) < catalog.minor_key(release.kubernetes[1])
        block = text[text.index(f"  {tag}:"):]
        block = block[:block.index("\n  v", 5)] if "\n  v" in block[5:] else block
        assert re.search(r"driver: .*# GO@", block), f"{tag}: the default driver needs its source"
        assert re.search(r"kubernetes: .*# PS@", block) and re.search(r"rdmaValidated: +# PS@", block), tag
    assert set(CHARTED) == {"v25.3.4", "v25.10.1", "v26.3.3", "v26.7.0"}  # ../shared/upstream/gpu-operator
    assert GPU.default_release in CHARTED and GPU.release(GPU.default_release).status == "latest"
    assert {i for r in GPU.releases.values() for i in r.known_issues} <= set(GPU.known_issues)
    assert all(issue.source for issue in GPU.known_issues.values())
    assert set(GPU.other_vendor_sizes) <= set(catalog.load().vm_sizes)


def test_known_issues_as_the_release_notes_give_them() -> None:
    ibverbs = [t for t, r in GPU.releases.items() if "ibverbs-injection" in r.known_issues]
    assert ibverbs == ["v26.3.0", "v26.3.1", "v26.3.2"]  # fixed in 26.3.3 (RN:194-197)
    restart = [t for t, r in GPU.releases.items() if "peermem-restart" in r.known_issues]
    assert restart == ["v26.3.0", "v26.3.1", "v26.3.2", "v26.3.3", "v26.7.0"]  # RN:464-477, never marked fixed
    v2633 = GPU.release("v26.3.3")
    assert [i.id for i in GPU.issues(v2633, peermem=False)] == []  # the restart issue is peermem's only
    assert [i.id for i in GPU.issues(v2633, peermem=True)] == ["peermem-restart"]


def test_validated_pairs_compare_release_lines() -> None:
    v2633 = GPU.release("v26.3.3")
    assert v2633.validated_with("v26.1.2")  # NVIDIA names 26.1.0; a patch of the line goes with it
    assert v2633.validated_with("v25.10.0") and v2633.validated_with("v25.7.0")
    assert not v2633.validated_with("v26.4.1")  # Azure's guide's pair (26.4.0 with 26.3.3): not NVIDIA's
    assert [r.tag for r in GPU.validating("v26.4.1")] == []
    assert "v26.7.0" in [r.tag for r in GPU.validating("v26.1.2")]


@pytest.mark.parametrize("tag", CHARTED)
def test_the_catalog_driver_is_the_chart_s_default(tag: str) -> None:
    values = yaml.safe_load((UPSTREAM / "gpu-operator" / tag / "chart-values.yaml").read_text())
    assert GPU.release(tag).driver == str(values["driver"]["version"])
    assert gpu_chart_facts(tag).chart.values["driver.version"] == GPU.release(tag).driver


@pytest.mark.parametrize("tag", CHARTED)
def test_the_facts_clusterpolicy_with_azure_s_values_is_the_chart_s(tag: str) -> None:
    """The ClusterPolicy gen derives from the chart facts with Azure's values is the one the chart rendered with them
    (chart-rendered-aks.yaml), the git chart's appVersion and version aside (the published chart's are the tag)."""
    facts = gpu_chart_facts(tag)
    [real] = [d for d in _render(tag, "chart-rendered-aks.yaml") if d["kind"] == "ClusterPolicy"]
    git = yaml.safe_load((UPSTREAM / "gpu-operator" / tag / "Chart.yaml").read_text())
    for component in ("validator", "nodeStatusExporter"):
        if real["spec"].get(component, {}).get("version") == git["appVersion"]:
            real["spec"][component]["version"] = tag
    real["spec"]["daemonsets"]["labels"]["helm.sh/chart"] = f"gpu-operator-{tag}"
    assert facts.cluster_policy(AZURE_VALUES)["spec"] == real["spec"]
    # and with no values, the default render's
    [default] = [d for d in _render(tag, "chart-rendered.yaml") if d["kind"] == "ClusterPolicy"]
    assert facts.cluster_policy({})["spec"]["driver"] == default["spec"]["driver"]


@pytest.mark.parametrize("tag", CHARTED)
def test_the_facts_objects_with_nfd_off_are_the_aks_render_s(tag: str) -> None:
    """What the facts say the chart renders with Azure's values (NFD off) is what it rendered."""
    facts = gpu_chart_facts(tag).chart
    rendered = {(d["kind"], d["metadata"]["name"]) for d in _render(tag, "chart-rendered-aks.yaml")}
    assert {(o.kind, o.name) for o in facts.rendered_objects(AZURE_VALUES)} == rendered
    assert not [o for o in facts.rendered_objects(AZURE_VALUES) if "node-feature-discovery" in o.name]


@pytest.mark.parametrize("tag", CHARTED)
def test_values_keys_are_checked_against_the_release_s_chart(tag: str) -> None:
    facts = gpu_chart_facts(tag).chart
    assert facts.verdict("driver.rdma.useHostMofed").ok and facts.verdict("daemonsets.tolerations").ok
    assert facts.verdict("operator.version").ok  # read by the templates, not in the defaults
    wrong = facts.verdict("driver.rdma.useHostMOFED")
    assert not wrong.ok and "gpu-operator chart" in wrong.message and "did you mean 'driver.rdma.useHostMofed'" \
        in wrong.message
    assert facts.free_form_type("daemonsets.tolerations") == "io.k8s.api.core.v1.Toleration[]"


def test_a_key_gone_from_a_later_chart_is_retired_there() -> None:
    facts = gpu_chart_facts("v26.7.0").chart
    verdict = facts.verdict("operator.initContainer.repository")  # in v25.x's defaults, read up to v26.3.3
    assert not verdict.ok and "was removed in v26.7.0" in verdict.message


def test_the_reloader_image_is_pinned_by_a_cited_digest() -> None:
    reloader = GPU.reloader
    assert re.fullmatch(r"docker\.io/library/busybox:[0-9.]+@sha256:[0-9a-f]{64}", reloader.image)
    assert "NVIDIA/aicr" in reloader.image_source
    assert reloader.node_label == ("kubernetes.azure.com/accelerator", "nvidia")  # Azure's ds.yaml
