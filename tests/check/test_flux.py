"""gitops: flux: the Flux objects against the Flux CRDs, the chain's order and its hook for later steps, the checks
that guard them (flux-health, flux-chain, flux-steps), and a fleet mixing Argo CD and Flux clusters end to end with
the real kustomize."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.check.engine import Item
from generator.check.flux import (
    chain_findings,
    check_flux_objects,
    health_findings,
    steps_findings,
    unguarded,
)
from generator.cluster.model import MODES, Cluster
from generator.cluster.parse import SpecError
from generator.pipeline.clusters import checked_cluster
from generator.render import flux
from generator.render.cluster_bundle import render_bundle
from generator.render.fleet import fleet_bundle
from tests.conftest import spec_text, write_spec
from tests.helpers import run_gen

FLUX = "gitops: flux\nflux:\n  repoURL: https://github.com/example/aks-gitops.git\n"
ARGO = "argocd:\n  repoURL: https://github.com/example/aks-gitops.git\n  targetRevision: main\n"


def flux_text(name: str = "prod", mode: str = "sriov", version: str = "v25.4.0", extra: str = "") -> str:
    return spec_text(name=name, mode=mode, version=version, extra=extra).replace(ARGO, FLUX)


def flux_cluster(mode: str = "sriov", version: str = "v25.4.0", extra: str = "", name: str = "prod") -> Cluster:
    return checked_cluster(flux_text(name, mode, version, extra).encode(), f"clusters/{name}.yaml", name)


def names(cluster: Cluster) -> list[tuple[str, tuple[str, ...]]]:
    return [(link.step.name, link.depends_on) for link in flux.chain(cluster)]


# -- the spec ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "field", "words"), [
    (spec_text().replace(ARGO, "gitops: flux\n"), "flux", "'flux' is missing (Where Flux reads this repo"),
    (spec_text().replace(ARGO, "gitops: flux\n"), "flux", "flux: {repoURL: https://"),  # the fix, not only the fault
    (spec_text().replace(ARGO, FLUX + ARGO), "argocd", "nothing would read it"),
    (spec_text() + "flux:\n  repoURL: https://x/y\n", "flux", "only with gitops: flux"),
    (spec_text().replace(ARGO, FLUX.replace("https://github.com/", "git@github.com:")), "flux.repoURL", "scp form"),
    (spec_text().replace(ARGO, FLUX.replace("https://", "https://user:token@")), "flux.repoURL", "credentials"),
    (spec_text().replace(ARGO, FLUX + "  ref: {branch: main, tag: v1}\n"), "flux.ref", "more than 1"),
    (spec_text().replace(ARGO, "gitops: fluxcd\n" + FLUX[13:]), "gitops", "argocd, flux"),
    (spec_text().replace(ARGO, FLUX + "  ref: {semver: '>=1.0 <'}\n"), "flux.ref.semver", "improper constraint"),
    (spec_text().replace(ARGO, FLUX + "  ref: {semver: latest}\n"), "flux.ref.semver", "cannot parse"),
    (spec_text().replace(ARGO, FLUX + "  ref: {commit: abc123}\n"), "flux.ref.commit", "40 hex digits"),
])
def test_spec_mistakes_name_the_field(text: str, field: str, words: str) -> None:
    with pytest.raises(SpecError) as caught:
        checked_cluster(text.encode(), "clusters/prod.yaml", "prod")
    assert caught.value.field == field and words in caught.value.message, caught.value


def test_flux_ref_and_names() -> None:
    cluster = flux_cluster(extra="")
    assert cluster.flux is not None and cluster.flux.ref == ("branch", "main")
    tagged = checked_cluster(flux_text().replace("aks-gitops.git\n", "aks-gitops.git\n  ref: {tag: v1.2.0}\n  "
                                                 "namespace: gitops\n  gitRepository: platform\n").encode(),
                             "clusters/prod.yaml", "prod")
    [source, root] = flux.bootstrap(tagged)
    assert source["spec"]["ref"] == {"tag": "v1.2.0"} and source["metadata"] == {
        "name": "platform", "namespace": "gitops", "labels": source["metadata"]["labels"]}
    assert root["spec"]["sourceRef"] == {"kind": "GitRepository", "name": "platform"}
    assert root["spec"]["path"] == "./output/prod/flux"


# -- the chain -----------------------------------------------------------------------------------------------------


def test_the_chain_orders_operator_policy_network_verify() -> None:
    assert names(flux_cluster("ipoib", extra="verify: {enabled: true}\n")) == [
        ("operator", ()), ("policy", ("operator",)), ("network", ("policy",)), ("verify", ("network",))]
    # no IPoIB network outside ipoib mode: verify waits on the policy
    assert names(flux_cluster("sriov", extra="verify: {enabled: true}\n")) == [
        ("operator", ()), ("policy", ("operator",)), ("verify", ("policy",))]
    assert names(flux_cluster("base")) == [("operator", ()), ("policy", ("operator",))]


def test_a_later_step_plugs_in_with_one_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    """The GPU Operator's step (and the pools') are one builder each: CHAIN already orders them."""
    gpu = flux.Step("gpu-operator", {"helmrelease.yaml": []}, health=(), why="the GPU Operator")
    pools = flux.Step("pools", {"nicnodepolicies.yaml": []}, health=("mellanox.com/v1alpha1/NicNodePolicy",))
    monkeypatch.setitem(flux.STEPS, "gpu-operator", lambda cluster, _user: gpu)
    monkeypatch.setitem(flux.STEPS, "pools", lambda cluster, _user: pools)
    assert names(flux_cluster("ipoib", extra="verify: {enabled: true}\n")) == [
        ("operator", ()), ("policy", ("operator",)), ("pools", ("policy",)), ("network", ("pools",)),
        ("gpu-operator", ("network",)), ("verify", ("gpu-operator",))]
    assert names(flux_cluster("sriov")) == [
        ("operator", ()), ("policy", ("operator",)), ("pools", ("policy",)), ("gpu-operator", ("pools",))]
    kustomizations = render_bundle(flux_cluster("sriov")).objects[flux.CHAIN_FILE]
    gpu_kust = next(k for k in kustomizations if k["metadata"]["name"] == "rdma-gpu-operator")
    assert gpu_kust["spec"]["dependsOn"] == [{"name": "rdma-pools"}]
    pools_kust = next(k for k in kustomizations if k["metadata"]["name"] == "rdma-pools")
    assert [c["kind"] for c in pools_kust["spec"]["healthCheckExprs"]] == ["NicNodePolicy"]


def test_the_policy_step_waits_on_the_policys_state() -> None:
    kustomizations = render_bundle(flux_cluster("ipoib")).objects[flux.CHAIN_FILE]
    by_name = {k["metadata"]["name"]: k["spec"] for k in kustomizations}
    assert by_name["rdma-policy"]["wait"] is True
    assert [c["kind"] for c in by_name["rdma-policy"]["healthCheckExprs"]] == ["NicClusterPolicy"]
    assert [c["kind"] for c in by_name["rdma-network"]["healthCheckExprs"]] == ["IPoIBNetwork"]
    assert by_name["rdma-operator"]["path"] == "./output/prod/flux/operator"


# -- the objects against the Flux CRDs -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("version", ["v25.1.0", "v25.10.0", "v26.4.1"])
def test_every_flux_object_is_strictly_valid(mode: str, version: str) -> None:
    cluster = flux_cluster(mode, version, "verify: {enabled: true}\n")
    bundle = render_bundle(cluster)
    items = [Item(doc, rel) for rel, docs in bundle.objects.items() for doc in docs if flux.is_flux_object(doc)]
    items += [Item(doc, "fleet") for doc in fleet_bundle([cluster]).objects["flux/prod.yaml"]]
    kinds = {item.obj["kind"] for item in items}
    assert kinds == {"Kustomization", "HelmRelease", "HelmRepository", "GitRepository"}
    assert check_flux_objects(items, version, None) == []


def test_the_flux_crds_catch_mistakes() -> None:
    """Strict: an unknown field; and the CRD's own CEL rule (a HelmRelease needs chart or chartRef)."""
    release = flux.helm_release(flux_cluster())
    typo = copy.deepcopy(release)
    typo["spec"]["install"]["crd"] = "Create"
    no_chart = copy.deepcopy(release)
    del no_chart["spec"]["chart"]
    found = check_flux_objects([Item(typo, "a"), Item(no_chart, "b")], "v25.4.0", None)
    assert {(f.rule, f.index) for f in found} >= {("schema", 0), ("cel", 1)}, found
    assert any("either chart or chartRef" in f.message for f in found)


def test_the_helm_release_is_the_checked_chart_and_values() -> None:
    cluster = flux_cluster("shared", "v25.10.0")
    release = flux.helm_release(cluster)
    bundle = render_bundle(cluster)
    assert release["spec"]["values"] == bundle.objects["helm/values.yaml"][0]
    assert release["spec"]["chart"]["spec"]["version"] == cluster.release.chart_version
    for action in ("install", "upgrade"):
        assert release["spec"][action]["crds"] == "CreateReplace" and release["spec"][action]["disableHooks"]
        assert release["spec"][action]["disableSchemaValidation"]  # v25.10.0's NFD schema $refs the web
    assert "disableSchemaValidation" not in flux.helm_release(flux_cluster())["spec"]["install"]


# -- the checks fire -----------------------------------------------------------------------------------------------


def _policy_kustomization() -> dict[str, Any]:
    kustomizations = render_bundle(flux_cluster()).objects[flux.CHAIN_FILE]
    return copy.deepcopy(next(k for k in kustomizations if k["metadata"]["name"] == "rdma-policy"))


def test_flux_health_refuses_an_unguarded_or_wrong_expression() -> None:
    assert health_findings(0, _policy_kustomization()) == []
    naive = _policy_kustomization()
    naive["spec"]["healthCheckExprs"][0] = {"apiVersion": "mellanox.com/v1alpha1", "kind": "NicClusterPolicy",
                                           "current": "!has(status.state) || status.state != 'notReady'"}
    messages = [f.message for f in health_findings(0, naive)]
    assert any("status 'error'" in m and "would conclude current" in m for m in messages), messages
    broken = _policy_kustomization()
    broken["spec"]["healthCheckExprs"][0]["failed"] = "status.state =="
    [finding] = health_findings(0, broken)
    assert finding.path == ("spec", "healthCheckExprs", 0, "failed") and "does not parse" in finding.message


def test_flux_health_wants_an_expression_for_what_a_step_waits_on() -> None:
    kust = _policy_kustomization()
    policy = flux.mode_policy(flux_cluster())
    assert unguarded(0, kust, [policy]) == []
    del kust["spec"]["healthCheckExprs"]
    [finding] = unguarded(0, kust, [policy])
    assert "NicClusterPolicy" in finding.message and "as soon as it is applied" in finding.message


def test_flux_chain_catches_a_missing_dependency_an_order_and_a_path() -> None:
    cluster = flux_cluster("ipoib")
    kustomizations = list(enumerate(copy.deepcopy(render_bundle(cluster).objects[flux.CHAIN_FILE])))
    dirs = {"flux/operator", "flux/policy", "flux/network"}
    assert chain_findings(kustomizations, "prod", dirs) == []
    kustomizations[2][1]["spec"]["dependsOn"] = [{"name": "rdma-operator"}]  # network no longer waits on policy
    kustomizations[1][1]["spec"]["path"] = "./output/prod/flux/nowhere"
    messages = sorted(f.message for f in chain_findings(kustomizations, "prod", dirs))
    assert any("rdma-network does not wait on rdma-policy" in m for m in messages), messages
    assert any("nowhere" in m for m in messages)
    kustomizations[0][1]["spec"]["dependsOn"] = [{"name": "rdma-verify"}]
    assert any("no Kustomization of the chain" in f.message for f in chain_findings(kustomizations, "prod", dirs))


def test_flux_steps_deliver_exactly_the_overlay() -> None:
    cluster = flux_cluster("ipoib")
    bundle = render_bundle(cluster)
    links = flux.chain(cluster)
    overlay = [o for link in links for docs in link.step.files.values() for o in docs if not flux.is_flux_object(o)]
    overlay = [copy.deepcopy(o) for o in overlay]
    overlay[0]["metadata"]["annotations"].pop(flux.PRUNE)  # the overlay's Namespace: without Flux's annotation
    builds = {"overlays/ipoib": (overlay, "")}
    builds.update({link.step.directory: ([o for docs in link.step.files.values() for o in docs], "")
                   for link in links})
    assert steps_findings(cluster, bundle, builds) == []
    changed = copy.deepcopy(builds)
    changed["flux/policy"][0][1]["spec"]["ofedDriver"]["version"] = "other"
    changed["flux/network"] = ([], "")
    messages = [f.message for f in steps_findings(cluster, bundle, changed)]
    assert any("NicClusterPolicy nic-cluster-policy (mellanox.com) differs" in m for m in messages), messages
    missing = "IPoIBNetwork aks-infiniband (mellanox.com) is in overlays/ipoib but no Flux step applies it"
    assert any(missing in m for m in messages)
    twice = copy.deepcopy(builds)
    twice["flux/network"][0].append(copy.deepcopy(twice["flux/policy"][0][0]))
    assert any("applied by two steps" in f.message for f in steps_findings(cluster, bundle, twice))


# -- a fleet of both, end to end -----------------------------------------------------------------------------------


def test_a_fleet_mixing_argocd_and_flux_bundles_and_checks_clean(gitops_repo: Path) -> None:
    write_spec(gitops_repo, "prod", mode="sriov")
    (gitops_repo / "clusters" / "gpu-flux.yaml").write_text(flux_text("gpu-flux", "ipoib", "v26.4.1", (
        "verify: {enabled: true}\nipoib: {ipam: nv-ipam}\n")))
    (gitops_repo / "clusters" / "lab-flux.yaml").write_text(flux_text("lab-flux", "shared", "v25.10.0"))
    # a user overlay on a Flux cluster applies with the policy
    overlay = gitops_repo / "overlays" / "lab-flux"
    overlay.mkdir(parents=True)
    (overlay / "kustomization.yaml").write_text("apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
                                                "patches:\n- path: telemetry.yaml\n")
    (overlay / "telemetry.yaml").write_text("apiVersion: mellanox.com/v1alpha1\nkind: NicClusterPolicy\nmetadata:\n"
                                            "  name: nic-cluster-policy\nspec:\n  docaTelemetryService: null\n")
    result = run_gen("bundle", "--all", repo=gitops_repo)
    assert result.code == 0, result.err
    out = gitops_repo / "output"
    assert (out / "prod" / "argocd" / "application.yaml").is_file() and not (out / "prod" / "flux").exists()
    assert not (out / "gpu-flux" / "argocd").exists()
    bootstrap = list(yaml.safe_load_all((out / "fleet" / "bootstrap.yaml").read_text()))
    assert [d["kind"] for d in bootstrap] == ["AppProject", "ApplicationSet"]
    assert [e["cluster"] for e in bootstrap[1]["spec"]["generators"][0]["list"]["elements"]] == ["prod"]
    for name in ("gpu-flux", "lab-flux"):
        docs = list(yaml.safe_load_all((out / "fleet" / "flux" / f"{name}.yaml").read_text()))
        assert [d["kind"] for d in docs] == ["GitRepository", "Kustomization"]
    policy = yaml.safe_load((out / "lab-flux" / "flux" / "policy" / "kustomization.yaml").read_text())
    assert policy["components"] == ["../../../../overlays/lab-flux"]
    assert run_gen("check", repo=gitops_repo).code == 0
    plan = run_gen("plan", "--cluster", "gpu-flux", repo=gitops_repo)
    assert plan.code == 0, plan.err
    order = [line.split()[1] for line in plan.out.splitlines() if line[:1].isdigit()]
    assert order == ["rdma-operator", "rdma-policy", "rdma-network", "rdma-verify"]
    assert "IPPool" in plan.out and "network-operator 26.4.1" in plan.out


def test_the_argocd_clusters_output_is_the_same_beside_flux_clusters(tmp_path: Path) -> None:
    alone, mixed = tmp_path / "alone", tmp_path / "mixed"
    for repo in (alone, mixed):
        write_spec(repo, "prod", mode="ipoib")
    (mixed / "clusters" / "fx.yaml").write_text(flux_text("fx", "sriov"))
    for repo in (alone, mixed):
        run_gen("bundle", "--all", repo=repo, check=True)
    for path in (alone / "output").rglob("*"):
        if path.is_file() and ".gen" not in path.name:
            assert path.read_bytes() == (mixed / path.relative_to(alone)).read_bytes(), path


def test_a_broken_step_fails_the_bundle(gitops_repo: Path) -> None:
    """A user overlay that patches what the policy step does not hold fails that step's kustomize build, and
    gen bundle says which directory (nothing written)."""
    (gitops_repo / "clusters" / "prod.yaml").write_text(flux_text("prod", "ipoib"))
    overlay = gitops_repo / "overlays" / "prod"
    overlay.mkdir(parents=True)
    (overlay / "kustomization.yaml").write_text("apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
                                                "patches:\n- path: net.yaml\n")
    (overlay / "net.yaml").write_text("apiVersion: mellanox.com/v1alpha1\nkind: IPoIBNetwork\nmetadata:\n"
                                      "  name: aks-infiniband\nspec:\n  networkNamespace: team-a\n")
    result = run_gen("bundle", "--all", repo=gitops_repo)
    assert result.code == 1
    assert "output/prod/flux/policy" in result.out + result.err
    assert not (gitops_repo / "output" / "prod").exists()


def test_gen_diff_says_it_does_not_model_flux(gitops_repo: Path) -> None:
    (gitops_repo / "clusters" / "prod.yaml").write_text(flux_text("prod", "sriov"))
    run_gen("bundle", "--all", repo=gitops_repo, check=True)
    for argv in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"]):
        subprocess.run(["git", *argv], cwd=gitops_repo, check=True)
    result = run_gen("diff", "--cluster", "prod", repo=gitops_repo)
    assert result.code == 2 and "delivered by Flux" in result.err and "Traceback" not in result.err


@pytest.mark.kustomize
def test_flux_delivers_the_gpu_half_in_its_chain(gitops_repo: Path) -> None:
    """Flux composes with GPUDirect: the GPU Operator as a HelmRelease that is Ready only when its ClusterPolicy is,
    after the network drivers; the nvidia-peermem reloader after the policy; the NCCL check with the verify step."""
    taint = "tolerations:\n- {key: sku, operator: Equal, value: gpu, effect: NoSchedule}\n" \
            "taints:\n- {key: sku, value: gpu, effect: NoSchedule}\n"
    (gitops_repo / "clusters" / "op.yaml").write_text(flux_text("op", "sriov", "v26.4.1", (
        "vmSize: Standard_ND96isr_H100_v5\ngpu: {driver: operator, rdma: dmabuf}\n" + taint)).replace(
        "vmSize: Standard_ND96asr_v4\n", "", 1))
    (gitops_repo / "clusters" / "aks.yaml").write_text(flux_text("aks", "ipoib", "v26.4.1", (
        "gpu: {driver: aks, rdma: peermem}\nipoib: {ipam: nv-ipam}\n"
        "verify:\n  enabled: true\n  image: registry.example/perftest-cuda@sha256:" + "b" * 64 + "\n"
        "  nccl:\n    enabled: true\n    image: ghcr.io/azure/aks-rdma-infiniband/nccl-tests@sha256:" + "a" * 64
        + "\n")))
    result = run_gen("bundle", "--all", repo=gitops_repo)
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    out = gitops_repo / "output"
    assert not (out / "op" / "argocd").exists()  # no Argo CD Application, AppProject or argocd-cm for a Flux cluster
    release = yaml.safe_load((out / "op" / "flux" / "gpu-operator" / "helmrelease.yaml").read_text())
    assert release["spec"]["chart"]["spec"]["chart"] == "gpu-operator"
    assert release["spec"]["waitStrategy"] == {"name": "poller"}
    assert [c["kind"] for c in release["spec"]["healthCheckExprs"]] == ["ClusterPolicy"]
    values = yaml.safe_load((out / "op" / "helm" / "gpu-operator-values.yaml").read_text())
    assert release["spec"]["values"] == values and values["nfd"]["enabled"] is False
    note = (out / "op" / "flux" / "gpu-operator" / "helmrelease.yaml").read_text()
    assert "must be created with --gpu-driver none" in note and "waits on the network steps" in note
    order = {}
    for name in ("op", "aks"):
        plan = run_gen("plan", "--cluster", name, repo=gitops_repo)
        assert plan.code == 0, plan.err
        order[name] = [line.split()[1] for line in plan.out.splitlines() if line[:1].isdigit()]
    assert order["op"] == ["rdma-operator", "rdma-policy", "rdma-gpu-operator"]
    assert order["aks"] == ["rdma-operator", "rdma-policy", "rdma-network", "rdma-peermem", "rdma-verify"]
    verify = (out / "aks" / "flux" / "verify" / "kustomization.yaml").read_text()
    assert "nccl.yaml" in verify and "verify.yaml" in verify
    assert run_gen("check", repo=gitops_repo).code == 0


def test_gen_lint_reads_a_flux_chain_as_one_cluster(gitops_repo: Path) -> None:
    """gen lint of a Flux cluster's output (the pre-commit hook's run): the verify step's Job names the IPoIB network
    the network step applies; both land in one cluster, so the reference holds. A step directory copied out of its
    chain is checked alone, and the same reference is an error there."""
    (gitops_repo / "clusters" / "prod.yaml").write_text(flux_text("prod", "ipoib", "v26.4.1",
                                                                  "verify:\n  enabled: true\n"))
    run_gen("bundle", "--all", repo=gitops_repo, check=True)
    result = run_gen("lint", "--strict", "output/prod", repo=gitops_repo, cwd=gitops_repo)
    assert result.code == 0, result.out + result.err
    alone = gitops_repo / "alone"
    alone.mkdir()
    for path in (gitops_repo / "output/prod/flux/verify").iterdir():
        (alone / path.name).write_bytes(path.read_bytes())
    result = run_gen("lint", "alone", repo=gitops_repo, cwd=gitops_repo)
    assert result.code == 1 and "network-ref" in result.out, result.out + result.err
