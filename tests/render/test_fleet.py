"""Fleet bootstrap: AppProjects + ApplicationSet, strictly valid for both pinned Argo CD versions, and
generating the same Applications as the per-cluster argocd/application.yaml."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from generator.check.schema import check_schema
from generator.check.validators.kinds import Schemas
from generator.cluster.model import MODES, Cluster
from generator.pipeline.clusters import checked_cluster
from generator.render.argocd import (
    APPLICATION_FILE,
    HEALTH_FILE,
    KUSTOMIZATION_FILE,
    PROJECT_FILE,
    application,
)
from generator.render.cluster_bundle import render_bundle
from generator.render.fleet import application_set, bootstrap
from tests.conftest import spec_text
from tests.helpers import make_cluster


@pytest.fixture(scope="module")
def fleet() -> list[Cluster]:
    return [
        make_cluster("west", "sriov", extra="  destination:\n    name: gpu-west\n"),
        make_cluster("east", "ipoib", extra="  automated: false\n  destination:\n"
                                          "    server: https://east.example.com:443\n"),
        checked_cluster(spec_text("lab", "shared", version="v26.4.1").replace(
            "  version: v26.4.1\n", "  version: v26.4.1\n  imagePullSecrets: [ngc]\n").encode(), "clusters/lab.yaml"),
        # the rdma-infiniband chart instead of the overlay
        make_cluster("helmy", "ipoib", extra="  source: chart\n  destination:\n    name: gpu-helmy\n"),
    ]


def test_bootstrap_validates_strictly(fleet: list[Cluster], validators: dict[str, Schemas]) -> None:
    docs = bootstrap(fleet)
    assert [d["kind"] for d in docs] == ["AppProject"] * 4 + ["ApplicationSet"]
    for version, validator in validators.items():
        findings = [f for doc in docs for f in check_schema(doc, validator)]
        assert findings == [], (version, findings)


def test_bundle_argocd_files_validate(mode_specs: dict[str, Cluster], validators: dict[str, Schemas]) -> None:
    for spec in mode_specs.values():
        bundle = render_bundle(spec)
        for rel in (APPLICATION_FILE, PROJECT_FILE, HEALTH_FILE):
            for doc in bundle.objects[rel]:
                for validator in validators.values():
                    assert check_schema(doc, validator) == []
        assert bundle.objects[KUSTOMIZATION_FILE][0]["resources"] == ["project.yaml", "application.yaml"]


def test_elements(fleet: list[Cluster]) -> None:
    appset = application_set(fleet)
    elements = appset["spec"]["generators"][0]["list"]["elements"]
    assert [e["cluster"] for e in elements] == ["east", "helmy", "lab", "west"]  # sorted: stable output
    for element in elements:
        assert {"name", "mode", "path", "project", "destinationName", "destinationServer", "gitHelm"} <= set(element)
        assert element["mode"] in MODES
        if element["cluster"] == "helmy":
            assert element["path"] == "output/charts/rdma-infiniband"
            assert element["gitHelm"]["valuesObject"]["mode"] == "ipoib"
        else:
            assert element["path"] == f"output/{element['cluster']}/overlays/{element['mode']}"
            assert element["gitHelm"] == {}
    assert appset["spec"]["goTemplate"] is True
    assert appset["spec"]["goTemplateOptions"] == ["missingkey=error"]


def test_one_argocd_namespace_per_application_set() -> None:
    specs = [make_cluster("a"), make_cluster("b", extra="  namespace: gitops\n")]
    with pytest.raises(ValueError, match="one Argo CD namespace"):
        application_set(specs)
    docs = bootstrap(specs)
    assert [(d["kind"], d["metadata"]["namespace"]) for d in docs] == [
        ("AppProject", "argocd"), ("AppProject", "gitops"), ("ApplicationSet", "argocd"), ("ApplicationSet", "gitops")]


# -- a small emulation of the ApplicationSet controller's Go templating, enough for this template


def _lookup(params: dict[str, Any], expr: str) -> Any:
    expr = expr.strip()
    if expr.startswith("toJson "):
        return json.dumps(_lookup(params, expr[len("toJson "):]), separators=(",", ":"))
    assert expr.startswith("."), expr
    return params[expr[1:]]  # missingkey=error


def _render(text: str, params: dict[str, Any]) -> str:
    def conditional(match: re.Match[str]) -> str:
        cond, then, other = match.group(1), match.group(2), match.group(4) or ""
        return then if _lookup(params, cond) else other

    # innermost blocks first (their bodies hold no `if`), until none is left
    body = r"((?:(?!\{\{-? if ).)*?)"
    block = re.compile(r"\{\{-? if (\.[A-Za-z]+) \}\}" + body + r"(\{\{-? else \}\}" + body
                       + r")?\{\{-? end \}\}", re.S)
    while block.search(text):
        text = block.sub(conditional, text)
    return re.sub(r"\{\{-? (.*?) \}\}", lambda m: str(_lookup(params, m.group(1))), text)


def _merge(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            out[key] = _merge(base.get(key), value) if key in base else value
        return out
    return patch  # lists and scalars are replaced


def generated_applications(appset: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for params in appset["spec"]["generators"][0]["list"]["elements"]:
        template = yaml.safe_load(_render(json.dumps(appset["spec"]["template"]), params))
        patch = yaml.safe_load(_render(appset["spec"]["templatePatch"], params))
        app = _merge(template, patch)
        app = {"apiVersion": appset["apiVersion"], "kind": "Application",
               "metadata": {**app["metadata"], "namespace": appset["metadata"]["namespace"]}, "spec": app["spec"]}
        out.append(app)
    return out


def test_generated_applications_equal_the_per_cluster_ones(fleet: list[Cluster],
                                                           validators: dict[str, Schemas]) -> None:
    generated = {a["metadata"]["name"]: a for a in generated_applications(application_set(fleet))}
    for spec in fleet:
        expected = application(spec)
        got = generated[expected["metadata"]["name"]]
        assert got["spec"] == expected["spec"]
        assert got["metadata"]["labels"] == expected["metadata"]["labels"]
        assert got["metadata"]["finalizers"] == expected["metadata"]["finalizers"]
        for validator in validators.values():
            assert check_schema(got, validator) == []
