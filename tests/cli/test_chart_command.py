"""`gen chart` and `argocd.source: chart`, as a user runs them: the chart and the values files are written, owned and
kept current like every other output, the Application that delivers the chart passes gen bundle's checks (Argo CD
schemas, AppProject admission), gen bundle renders the chart with real helm and requires the overlay's objects, and
what cannot apply to a chart (overlays/<name>/) is refused naming the field."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from generator.check.project import check_project
from generator.check.validators.kinds import schemas_for
from generator.pipeline.chart_renders import chart_defaults
from generator.programs.helm import helm_command
from generator.programs.kustomize import kustomize_command
from generator.render.rdma_chart import chart_files
from generator.sources.schema_store import open_store
from generator.yamlio.load import load_documents
from tests.conftest import UPSTREAM, write_spec
from tests.helpers import run_gen

CHART = "output/charts/rdma-infiniband"
VALUES = "output/prod/helm/rdma-infiniband-values.yaml"


def _docs(data: bytes, where: str) -> list[dict]:  # type: ignore[type-arg]
    return [d.value for d in load_documents(data, where) if isinstance(d.value, dict)]


def _canonical(objects: list[dict]) -> list[str]:  # type: ignore[type-arg]
    return sorted(json.dumps(o, sort_keys=True) for o in objects)


def _source_chart(repo: Path, mode: str = "ipoib", version: str = "v26.4.1") -> None:
    write_spec(repo, mode=mode, version=version)
    spec = repo / "clusters" / "prod.yaml"
    spec.write_text(spec.read_text().replace("  targetRevision: main\n", "  targetRevision: main\n  source: chart\n"))


@pytest.mark.kustomize
def test_gen_chart_writes_the_chart_and_keeps_it_current(gitops_repo: Path) -> None:
    write_spec(gitops_repo, mode="sriov")
    proc = run_gen("chart", repo=gitops_repo)
    assert proc.code == 0, proc.err
    assert "output/charts: 18 written" in proc.out and f"gen chart: {CHART}/" in proc.out
    written = {p.relative_to(gitops_repo / CHART).as_posix(): p.read_bytes()
               for p in (gitops_repo / CHART).rglob("*") if p.is_file()}
    assert written == chart_files(chart_defaults())
    assert (gitops_repo / "output/charts/.gen-manifest.json").is_file()  # owned, like every output directory
    assert (gitops_repo / VALUES).is_file()
    # from now on gen bundle and gen check keep it current, and --prune keeps it
    assert run_gen("check", repo=gitops_repo).code == 0
    proc = run_gen("bundle", "--all", "--prune", repo=gitops_repo)
    assert proc.code == 0 and "output/charts: 0 written, 18 unchanged" in proc.out, proc.err
    assert "stale" not in proc.err
    template = gitops_repo / CHART / "templates/nicclusterpolicy.yaml"
    template.write_text(template.read_text().replace("nic-cluster-policy", "my-policy"))
    proc = run_gen("check", repo=gitops_repo)
    assert proc.code == 1
    assert f"{CHART}/templates/nicclusterpolicy.yaml: changed" in proc.out
    assert "run: gen bundle --all" in proc.err
    assert run_gen("bundle", "--all", repo=gitops_repo).code == 0
    assert run_gen("check", repo=gitops_repo).code == 0


def _helm_template(repo: Path) -> list[dict]:  # type: ignore[type-arg]
    command = helm_command()
    assert command is not None
    home = repo.parent / "helm-home"
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "XDG_CACHE_HOME": str(home), "XDG_CONFIG_HOME": str(home),
           "XDG_DATA_HOME": str(home)}
    out = subprocess.run([*command, "template", "rdma-infiniband", CHART, "--namespace", "network-operator",
                          "--values", VALUES], cwd=repo, capture_output=True, check=True, timeout=120, env=env)
    return _docs(out.stdout, "helm template")


@pytest.mark.kustomize
@pytest.mark.parametrize("mode", ["sriov", "ipoib"])
def test_source_chart_delivers_the_chart_with_the_overlays_objects(gitops_repo: Path, mode: str) -> None:
    _source_chart(gitops_repo, mode)
    proc = run_gen("bundle", "--cluster", "prod", repo=gitops_repo)  # checks the Application and the project
    assert proc.code == 0, proc.err
    assert "output/charts: 18 written" in proc.out  # no gen chart needed: the Application points at it
    [app] = _docs((gitops_repo / "output/prod/argocd/application.yaml").read_bytes(), "app")
    chart_source = app["spec"]["sources"][1]
    assert chart_source["path"] == CHART and chart_source["helm"]["releaseName"] == "rdma-infiniband"
    values = _docs((gitops_repo / VALUES).read_bytes(), VALUES)[0]
    assert chart_source["helm"]["valuesObject"] == values
    [project] = _docs((gitops_repo / "output/prod/argocd/project.yaml").read_bytes(), "project")
    assert chart_source["repoURL"] in project["spec"]["sourceRepos"]
    # what Argo CD renders from git is what the overlay builds, and the project admits all of it
    built = subprocess.run([*kustomize_command(), f"output/prod/overlays/{mode}"], cwd=gitops_repo,
                           capture_output=True, check=True, timeout=120).stdout
    rendered = _helm_template(gitops_repo)
    assert _canonical(rendered) == _canonical(_docs(built, "kustomize"))
    schemas = schemas_for("v26.4.1", None, open_store(UPSTREAM))
    assert check_project(project, list(enumerate(rendered)), "network-operator", schemas) == []
    appset = _docs((gitops_repo / "output/fleet/bootstrap.yaml").read_bytes(), "fleet")[-1]
    [element] = appset["spec"]["generators"][0]["list"]["elements"]
    assert element["path"] == CHART and element["gitHelm"] == chart_source["helm"]


@pytest.mark.kustomize
def test_a_user_overlay_cannot_apply_to_the_chart(gitops_repo: Path) -> None:
    _source_chart(gitops_repo, "sriov", "v26.1.2")
    (gitops_repo / "overlays/prod").mkdir(parents=True)
    (gitops_repo / "overlays/prod/kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n")
    proc = run_gen("bundle", "--cluster", "prod", repo=gitops_repo)
    assert proc.code == 2 and not (gitops_repo / "output").exists()
    # the last line, after the chart note (this machine has no network-operator chart at hand)
    assert proc.err.splitlines()[-1] == (
        "gen: error: clusters/prod.yaml: field 'argocd.source': 'chart' makes Argo CD apply the rdma-infiniband chart, "
        "not the overlay, so overlays/prod/ would never apply; move what it changes into the spec, or set "
        "argocd.source: overlay")
    assert "Traceback" not in proc.err and proc.err.count("gen: error:") == 1


@pytest.mark.kustomize
def test_gen_bundle_requires_the_chart_to_give_the_overlays_objects(gitops_repo: Path, tmp_path: Path) -> None:
    """A helm whose render differs from the overlay (here: one that renames the policy) fails gen bundle."""
    _source_chart(gitops_repo, "shared", "v26.1.2")
    command = helm_command()
    assert command is not None
    wrapper = tmp_path / "helm"
    wrapper.write_text(f"#!/bin/sh\n{' '.join(command)} \"$@\" | sed 's/name: nic-cluster-policy/name: other/'\n")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    proc = run_gen("bundle", "--cluster", "prod", repo=gitops_repo, env={"GEN_HELM": str(wrapper)})
    assert proc.code == 1, proc.err
    assert (f"{VALUES}: error chart-equivalence: the rdma-infiniband chart with these values does not give "
            "output/prod/overlays/shared: NicClusterPolicy nic-cluster-policy: only in the overlay") in proc.err
    assert "nothing written" in proc.err and not (gitops_repo / "output").exists()
