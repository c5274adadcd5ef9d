"""The per-cluster AppProject admits every object the Application syncs, and nothing cluster-wide besides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from generator import catalog
from generator.check.project import is_cluster_scoped, project_allows
from generator.check.validators.kinds import Schemas
from generator.cluster.model import MODES, Cluster
from generator.core.objects import group_kind
from generator.programs.overlays import build_overlays
from generator.render.argocd import app_project, application
from generator.render.cluster_bundle import render_bundle
from generator.yamlio.load import load_documents
from tests.conftest import UPSTREAM, write_spec
from tests.helpers import make_cluster, run_gen

# What the network-operator chart renders with the bundle's values (nfd on, admission controller,
# SR-IOV, maintenance and NIC configuration operators off): the operator and NFD workloads and RBAC,
# the keep-ncp / NFD post-delete hook Jobs, and the chart's crds/.
CHART_KINDS = [
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition", ""),
    ("rbac.authorization.k8s.io/v1", "ClusterRole", ""),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", ""),
    ("rbac.authorization.k8s.io/v1", "Role", "network-operator"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding", "network-operator"),
    ("v1", "ServiceAccount", "network-operator"),
    ("v1", "ConfigMap", "network-operator"),
    ("v1", "Service", "network-operator"),
    ("apps/v1", "Deployment", "network-operator"),
    ("apps/v1", "DaemonSet", "network-operator"),
    ("batch/v1", "Job", "network-operator"),
]


@pytest.fixture(scope="module")
def kinds(validators: dict[str, Schemas]) -> Schemas:
    return next(iter(validators.values()))


def allows(project: dict[str, Any], item: dict[str, Any], namespace: str, kinds: Schemas | None = None
           ) -> tuple[bool, str]:
    return project_allows(project, item, namespace, is_cluster_scoped(*group_kind(item), kinds))


def obj(api_version: str, kind: str, namespace: str = "", name: str = "x") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": api_version, "kind": kind, "metadata": meta}


@pytest.fixture(scope="module")
def built(mode_specs: dict[str, Cluster]) -> dict[tuple[str, str], Any]:
    return build_overlays(Path("/nonexistent-repo"), [render_bundle(spec) for spec in mode_specs.values()])


def test_application_uses_its_project(mode_specs: dict[str, Cluster]) -> None:
    for spec in mode_specs.values():
        project, app = app_project(spec), application(spec)
        assert app["spec"]["project"] == project["metadata"]["name"] == f"network-operator-{spec.name}"
        assert project["metadata"]["namespace"] == app["metadata"]["namespace"]
        repos = project["spec"]["sourceRepos"]
        assert repos == [spec.argocd.repo_url, "https://helm.ngc.nvidia.com/nvidia"]
        assert {s["repoURL"] for s in app["spec"]["sources"]} == set(repos)
        assert project["spec"]["destinations"] == [app["spec"]["destination"]]
        assert "*" not in str(project["spec"])  # no wildcard anywhere


def test_destination_name_or_server() -> None:
    named = make_cluster(extra="  destination:\n    name: gpu-west\n")
    assert app_project(named)["spec"]["destinations"] == [{"name": "gpu-west", "namespace": "network-operator"}]
    local = make_cluster()
    assert app_project(local)["spec"]["destinations"] == [
        {"server": "https://kubernetes.default.svc", "namespace": "network-operator"}]


@pytest.mark.parametrize("mode", MODES)
def test_every_built_object_is_allowed(mode: str, mode_specs: dict[str, Cluster],
                                       built: dict[tuple[str, str], Any], kinds: Schemas) -> None:
    spec = mode_specs[mode]
    result = built[(spec.name, mode)]
    assert not result.error, result.error
    project = app_project(spec)
    for item in result.objects:
        ok, why = allows(project, item, spec.namespace, kinds)
        assert ok, why


def test_every_mode_with_verify_and_nv_ipam_is_allowed(kinds: Schemas) -> None:
    specs = [make_cluster(f"v-{mode}", mode, extra="verify:\n  enabled: true\n") for mode in MODES]
    specs.append(make_cluster("v-ipam", "ipoib", extra="ipoib:\n  ipam: nv-ipam\nverify:\n  enabled: true\n"))
    builds = build_overlays(Path("/nonexistent-repo"), [render_bundle(s) for s in specs])
    for spec in specs:
        result = builds[(spec.name, spec.mode)]
        assert not result.error, result.error
        assert {"Job", "Service"} <= {o["kind"] for o in result.objects}
        for item in result.objects:
            ok, why = allows(app_project(spec), item, spec.namespace, kinds)
            assert ok, why


def test_chart_kinds_are_allowed(mode_specs: dict[str, Cluster]) -> None:  # the chart's, as named by kind
    spec = mode_specs["sriov"]
    project = app_project(spec)
    for api_version, kind, namespace in CHART_KINDS:
        ok, why = allows(project, obj(api_version, kind, namespace), spec.namespace)
        assert ok, why
        # namespaced chart objects without a namespace land in the destination namespace
        if namespace:
            assert allows(project, obj(api_version, kind), spec.namespace)[0]


def test_whitelist_is_exactly_what_is_needed(mode_specs: dict[str, Cluster],
                                             built: dict[tuple[str, str], Any], kinds: Schemas) -> None:
    """The bundle's cluster-scoped kinds (per mode), the chart's CRDs, the chart's ClusterRole/Binding: no more."""
    for spec in mode_specs.values():
        needed = {("apiextensions.k8s.io", "CustomResourceDefinition"), ("rbac.authorization.k8s.io", "ClusterRole"),
                  ("rbac.authorization.k8s.io", "ClusterRoleBinding")}
        for item in built[(spec.name, spec.mode)].objects:
            group, kind = item["apiVersion"].rpartition("/")[0], item["kind"]
            if is_cluster_scoped(group, kind, kinds):
                needed.add((group, kind))
        whitelist = app_project(spec)["spec"]["clusterResourceWhitelist"]
        assert {(e["group"], e["kind"]) for e in whitelist} == needed, spec.mode
    assert ("mellanox.com", "IPoIBNetwork") not in {
        (e["group"], e["kind"]) for e in app_project(mode_specs["sriov"])["spec"]["clusterResourceWhitelist"]}


@pytest.mark.parametrize("release", ["v25.1.0", "v25.4.0", "v25.7.0", "v25.10.0", "v26.1.2", "v26.4.1"])
def test_project_from_chart_facts_admits_the_real_chart_render(release: str, validators: dict[str, Schemas]) -> None:
    """From the chart facts alone, the AppProject admits every object each release's chart renders (the default
    render in ../shared, a superset of the bundle's values: it still has the CRD-upgrade hooks), and its CRDs."""
    spec = make_cluster("r", "ipoib", version=release)
    project = app_project(spec)
    rendered = UPSTREAM / "network-operator" / release / "chart-rendered.yaml"
    objs = [d.value for d in load_documents(rendered.read_bytes(), str(rendered)) if isinstance(d.value, dict)]
    crd_files = sorted((UPSTREAM / "network-operator" / release / "crds").glob("*.yaml"))
    objs += [d.value for f in crd_files for d in load_documents(f.read_bytes(), str(f))]
    schemas = next(iter(validators.values()))
    for obj in objs:
        ok, why = allows(project, obj, spec.namespace, schemas)
        assert ok, why
    whitelisted = {(e["group"], e["kind"]) for e in project["spec"]["clusterResourceWhitelist"]}
    rendered_kinds = {(o["apiVersion"].rpartition("/")[0], o["kind"]) for o in objs
                      if is_cluster_scoped(o["apiVersion"].rpartition("/")[0], o["kind"], schemas)}
    bundle_kinds = {("", "Namespace"), ("nfd.k8s-sigs.io", "NodeFeatureRule"), ("mellanox.com", "NicClusterPolicy"),
                    ("mellanox.com", "IPoIBNetwork")}
    assert whitelisted <= rendered_kinds | bundle_kinds  # nothing else


@pytest.mark.parametrize(("api_version", "kind"), [
    ("cert-manager.io/v1", "ClusterIssuer"),
    ("storage.k8s.io/v1", "StorageClass"),
    ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
    ("scheduling.k8s.io/v1", "PriorityClass"),
    ("example.com/v1", "Unknown"),
])
def test_other_cluster_scoped_kinds_are_refused(api_version: str, kind: str,
                                                mode_specs: dict[str, Cluster]) -> None:
    spec = mode_specs["shared"]
    ok, why = allows(app_project(spec), obj(api_version, kind), spec.namespace)
    assert not ok and kind in why


def test_other_namespaces_are_refused(mode_specs: dict[str, Cluster]) -> None:
    spec = mode_specs["ipoib"]
    ok, why = allows(app_project(spec), obj("v1", "ConfigMap", "kube-system"), spec.namespace)
    assert not ok and "kube-system" in why


def test_rules_follow_argo_cd() -> None:
    project = {"spec": {"destinations": [{"server": "*", "namespace": "team-*"}],
                        "clusterResourceWhitelist": [{"group": "*", "kind": "Namespace"}],
                        "clusterResourceBlacklist": [{"group": "", "kind": "Namespace", "name": "kube-*"}],
                        "namespaceResourceBlacklist": [{"group": "", "kind": "ResourceQuota"}]}}
    assert allows(project, obj("v1", "Namespace", name="team-a"), "team-a")[0]
    assert not allows(project, obj("v1", "Namespace", name="kube-public"), "team-a")[0]
    assert allows(project, obj("v1", "Secret"), "team-b")[0]
    assert not allows(project, obj("v1", "ResourceQuota"), "team-b")[0]
    project["spec"]["namespaceResourceWhitelist"] = [{"group": "apps", "kind": "*"}]
    assert not allows(project, obj("v1", "Secret"), "team-b")[0]
    assert allows(project, obj("apps/v1", "Deployment"), "team-b")[0]


def test_helm_repository_is_the_catalogs() -> None:
    assert catalog.load().chart_repository == "https://helm.ngc.nvidia.com/nvidia"


def test_gen_bundle_refuses_a_user_overlay_the_project_does_not_admit(gitops_repo: Path) -> None:
    """A user overlay may add objects; one that Argo CD would refuse to sync fails gen bundle, naming the file."""
    write_spec(gitops_repo)
    overlay = gitops_repo / "overlays" / "prod"
    overlay.mkdir(parents=True)
    (overlay / "kustomization.yaml").write_text("apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
                                                "resources:\n- storageclass.yaml\n- configmap.yaml\n")
    (overlay / "storageclass.yaml").write_text("apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n"
                                               "  name: fast\nprovisioner: disk.csi.azure.com\n")
    (overlay / "configmap.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\n"
                                            "  namespace: kube-system\n")
    proc = run_gen("bundle", "--cluster", "prod", repo=gitops_repo)
    assert proc.code == 1, proc.err
    assert "overlays/prod/storageclass.yaml:1:1: error argocd-project: AppProject 'network-operator-prod' does not " \
           "admit it: storage.k8s.io/StorageClass fast: cluster-scoped kind not in clusterResourceWhitelist" \
           in proc.err
    assert "overlays/prod/configmap.yaml:1:1: error argocd-project:" in proc.err
    assert "namespace 'kube-system' is not a destination of the project" in proc.err
    assert not (gitops_repo / "output").exists() or not any((gitops_repo / "output").rglob("*.yaml"))
