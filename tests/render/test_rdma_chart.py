"""The rdma-infiniband chart as gen writes it (golden files), its values (a pure function of the cluster, valid for
its schema), and the Application that delivers it (argocd.source: chart) for both pinned Argo CD releases."""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs
import pytest
import yaml

from generator import catalog, project_version
from generator.check.schema import check_schema
from generator.check.validators.kinds import Schemas
from generator.cluster.model import MODES
from generator.cluster.parse import SpecError
from generator.pipeline.chart_renders import chart_defaults
from generator.pipeline.clusters import checked_cluster
from generator.render.argocd import APPLICATION_FILE, application
from generator.render.cluster_bundle import render_bundle
from generator.render.data import text
from generator.render.gpu import RELOAD_SCRIPT
from generator.render.rdma_chart import CHART_NAME, chart_bundle, chart_files, default_values, values_schema
from generator.render.rdma_values import VALUES_FILE, chart_values
from tests.conftest import REPO, spec_text
from tests.helpers import assert_golden, make_cluster

GOLDEN = REPO / "tests" / "render" / "golden" / "chart-rdma-infiniband"
CHART_SPEC = "  source: chart\n"


def test_golden() -> None:
    """The chart's exact bytes (regenerate with GEN_UPDATE_GOLDEN=1 and review the diff)."""
    files = chart_files(chart_defaults(), "0.1.0")
    assert_golden(GOLDEN, files)


def test_the_chart_is_generic_and_versioned_with_the_project() -> None:
    files = chart_files(chart_defaults())
    meta = yaml.safe_load(files["Chart.yaml"])
    pyproject = (REPO / "pyproject.toml").read_text()
    version = re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1)  # type: ignore[union-attr]
    assert meta["name"] == CHART_NAME and meta["apiVersion"] == "v2"
    assert meta["version"] == meta["appVersion"] == version == project_version()
    assert sorted(files) == ["Chart.yaml", "README.md", "files/nccl.sh", "files/peermem-reload.sh",
                             "files/releases.json", "files/verify.sh", "templates/_helpers.tpl",
                             "templates/checks.yaml", "templates/ipoibnetwork.yaml", "templates/ippool.yaml",
                             "templates/namespace.yaml", "templates/nccl.yaml", "templates/nicclusterpolicy.yaml",
                             "templates/nodefeaturerule.yaml", "templates/peermem-reloader.yaml",
                             "templates/verify.yaml", "values.schema.json", "values.yaml"]
    assert files["files/verify.sh"].decode() == text("argocd-verify.sh")  # one script for the overlay and the chart
    assert files["files/nccl.sh"].decode() == text("argocd-nccl.sh")
    assert files["files/peermem-reload.sh"].decode() == RELOAD_SCRIPT  # and one for the nvidia-peermem reloader
    bundle = chart_bundle(chart_defaults())
    assert bundle.cluster == "charts" and set(bundle.files) == {f"{CHART_NAME}/{rel}" for rel in files}
    assert chart_files(chart_defaults()) == chart_files(chart_defaults())  # pure


def test_default_values_are_a_default_spec_s_with_the_schema_s_descriptions() -> None:
    values = yaml.safe_load(chart_files(chart_defaults())["values.yaml"])
    assert values == default_values(chart_defaults())
    assert values["mode"] == "sriov"
    # the newest supported release's images, never an end-of-life release's
    latest = catalog.load().latest
    assert latest.status.status == "latest" and values["release"] == latest.tag
    assert values["images"] == {k: v.as_dict() for k, v in latest.images.items()}
    text_ = chart_files(chart_defaults())["values.yaml"].decode()
    for key, node in values_schema()["properties"].items():
        if key not in ("global", "peermemReloader"):  # peermemReloader: only a peermem cluster's values have it
            assert f"\n{key}:" in text_ and node["description"].split()[0] in text_


def _validator() -> Any:
    return jsonschema_rs.Draft7Validator(values_schema())


@pytest.mark.parametrize("tag", catalog.load().release_tags)
@pytest.mark.parametrize("mode", MODES)
def test_every_cluster_s_values_meet_the_chart_s_schema(mode: str, tag: str) -> None:
    for ipam in catalog.load().release(tag).ipam:
        cluster = make_cluster(mode=mode, version=tag, extra=f"ipoib:\n  ipam: {ipam}\n")
        values = chart_values(cluster)
        errors = [e.message for e in _validator().iter_errors(values)]
        assert errors == []
        assert set(values) == set(values_schema()["required"])  # every value resolved, none left to defaults


def test_the_schema_refuses_what_the_mode_cannot_render() -> None:
    values = chart_values(make_cluster(mode="ipoib", version="v26.4.1"))  # nv-ipam, no whereabouts image
    assert _validator().is_valid(values)
    values["ipoib"]["ipam"] = "whereabouts"
    assert not _validator().is_valid(values)  # v26.4.1 has no whereabouts image
    values = chart_values(make_cluster(mode="sriov"))
    del values["images"]["sriovDevicePlugin"]
    assert not _validator().is_valid(values)
    values["mode"] = "base"
    assert _validator().is_valid(values)


def test_values_file_is_in_every_bundle_and_is_the_application_s_values() -> None:
    for source in ("overlay", "chart"):
        cluster = make_cluster(mode="ipoib", extra=f"  source: {source}\n")
        bundle = render_bundle(cluster)
        assert bundle.objects[VALUES_FILE] == [chart_values(cluster)]
        assert yaml.safe_load(bundle.files[VALUES_FILE]) == chart_values(cluster)
        git = bundle.objects[APPLICATION_FILE][0]["spec"]["sources"][1]
        if source == "chart":
            assert git["path"] == "output/charts/rdma-infiniband"
            assert git["helm"] == {"releaseName": CHART_NAME, "valuesObject": chart_values(cluster)}
        else:
            assert git["path"] == "output/prod/overlays/ipoib" and "helm" not in git


def test_the_chart_application_validates_for_every_argo_cd(validators: dict[str, Schemas]) -> None:
    for mode in MODES:
        app = application(make_cluster(mode=mode, extra=CHART_SPEC + "  automated: false\n"))
        assert [s.get("chart", s.get("path")) for s in app["spec"]["sources"]] == ["network-operator",
                                                                                  "output/charts/rdma-infiniband"]
        for version, validator in validators.items():
            assert check_schema(app, validator) == [], version


def test_chart_source_with_rendered_delivery_is_refused() -> None:
    text_ = spec_text(extra="  delivery: rendered\n  source: chart\n")
    with pytest.raises(SpecError, match=r"field 'argocd.source': .*set argocd.delivery to helm"):
        checked_cluster(text_.encode(), "clusters/prod.yaml")


def test_charts_is_not_a_cluster_name() -> None:
    with pytest.raises(SpecError, match=r"'charts' is reserved for output/charts/"):
        checked_cluster(spec_text(name="charts").encode(), "clusters/charts.yaml")


def test_an_unknown_source_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match=r"field 'argocd.source': \"helm\" is not accepted; accepted values: overlay, "
                                        r"chart"):
        checked_cluster(spec_text(extra="  source: helm\n").encode(), "clusters/prod.yaml")
