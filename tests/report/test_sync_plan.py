"""`gen plan`: Argo CD's apply order for every mode, from the kustomize-built objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from generator.check.project import is_cluster_scoped
from generator.cluster.model import MODES
from generator.programs.overlays import build_overlays
from generator.render.argocd import HEALTH_FILE, KUSTOMIZATION_FILE, application
from generator.render.cluster_bundle import render_bundle
from generator.report.sync_plan import CHART_KIND, plan, render
from tests.conftest import write_spec
from tests.helpers import make_cluster, run_gen

CHART_GROUPS = {"mellanox.com", "nfd.k8s-sigs.io", "nv-ipam.nvidia.com"}  # CRDs the chart/operator installs


@pytest.fixture(scope="module")
def built() -> dict[str, tuple[Any, list[dict[str, Any]]]]:
    specs = [make_cluster(f"p-{mode}", mode, extra="verify:\n  enabled: true\n") for mode in MODES]
    specs.append(make_cluster("p-ipam", "ipoib", extra="ipoib:\n  ipam: nv-ipam\n"))
    builds = build_overlays(Path("/nonexistent-repo"), [render_bundle(s) for s in specs])
    out = {}
    for spec in specs:
        result = builds[(spec.name, spec.mode)]
        assert not result.error, result.error
        out[spec.name] = (spec, result.objects)
    return out


def test_order(built: dict[str, tuple[Any, list[dict[str, Any]]]]) -> None:
    for spec, objects in built.values():
        rows = plan(spec, objects)
        kinds = [r.kind for r in rows]
        assert kinds[0] == "Namespace", rows
        chart = kinds.index(CHART_KIND)
        first_namespaced = min(i for i, r in enumerate(rows) if r.namespace or r.kind == CHART_KIND)
        assert kinds.index("Namespace") < first_namespaced
        for i, row in enumerate(rows):
            obj_group = next((o["apiVersion"].rpartition("/")[0] for o in objects
                              if o["kind"] == row.kind and o["metadata"]["name"] == row.name), "")
            if obj_group in CHART_GROUPS:
                assert i > chart, row  # the chart (and its CRDs) come first
                assert "SkipDryRunOnMissingResource=true" in row.sync_options, row
        phases = [r.phase for r in rows]
        assert phases == sorted(phases, key=["PreSync", "Sync", "PostSync"].index)
        waves = [r.wave for r in rows if r.phase == "Sync"]
        assert waves == sorted(waves)
        assert [r.kind for r in rows if r.phase == "PreSync"][1:] == [
            "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Job"]  # the chart's keep-ncp hooks
        if spec.verify.enabled:
            assert {r.kind for r in rows if r.phase == "PostSync"} == {"Job", "Service"}


def test_no_object_twice_and_one_owner(built: dict[str, tuple[Any, list[dict[str, Any]]]]) -> None:
    for spec, objects in built.values():
        keys = [(o["apiVersion"].rpartition("/")[0], o["kind"], o["metadata"].get("namespace", ""),
                 o["metadata"]["name"]) for o in objects]
        assert len(keys) == len(set(keys))
        for key in keys:
            assert not (key[1] in ("Application", "AppProject") or key[3] == "argocd-cm"), key
        sources = application(spec)["spec"]["sources"]
        assert [s["path"] for s in sources if "path" in s] == [f"output/{spec.name}/overlays/{spec.mode}"]
        bundle = render_bundle(spec)
        assert HEALTH_FILE.rsplit("/", 1)[1] not in bundle.objects[KUSTOMIZATION_FILE][0]["resources"]


def test_cluster_scoped_rows_have_no_namespace(built: dict[str, tuple[Any, list[dict[str, Any]]]]) -> None:
    _spec, objects = built["p-ipoib"]
    for o in objects:
        if is_cluster_scoped(o["apiVersion"].rpartition("/")[0], o["kind"]):
            assert "namespace" not in o["metadata"], o


def test_render_and_cli(gitops_repo: Path) -> None:
    spec, objects = make_cluster(), []
    text = render(plan(spec, objects))
    assert "network-operator 25.4.0 (CRDs first)" in text
    write_spec(gitops_repo, "prod", mode="ipoib")
    proc = run_gen("--repo", str(gitops_repo), "plan", "--cluster", "prod")
    assert proc.code == 0, proc.err
    lines = [line.split() for line in proc.out.splitlines()[2:]]
    # the chart is not at hand here: its hooks come from the chart facts (keep-ncp: PreSync, weights 0 and 1),
    # and the Namespace moves ahead of them, into PreSync, as gitops-engine's adjustDeps does
    assert [(line[0], line[1], line[2]) for line in lines] == [
        ("PreSync", "0", "Namespace"), ("PreSync", "0", "ServiceAccount"), ("PreSync", "0", "ClusterRole"),
        ("PreSync", "0", "ClusterRoleBinding"), ("PreSync", "1", "Job"), ("Sync", "0", "helm"),
        ("Sync", "1", "NodeFeatureRule"), ("Sync", "2", "NicClusterPolicy"), ("Sync", "3", "IPoIBNetwork")]
    assert "not in the cache or mirror; checked against the catalog's chart facts" in proc.err
    assert run_gen("--repo", str(gitops_repo), "plan", "--cluster", "nope").code == 2
