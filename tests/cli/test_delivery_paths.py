"""Every delivery path right together (issue 20): with the rdma-infiniband chart written once (`gen chart`), a fleet
mixing `helm` and `rendered` delivery, private mirrors, pinned digests, the operator's admission webhook and
`argocd.source: chart` passes `gen bundle --all` and `gen check`; the chart values of a mirrored cluster name no public
image; the CRDs committed for `rendered` delivery are never deleted or pruned by Argo CD; and with the webhook on, the
SR-IOV resource takes a prefix the webhook accepts, everywhere the resource is named."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from generator import catalog
from generator.catalog.webhook_facts import webhook_facts
from generator.check.bundles import _equivalence_findings
from generator.check.validators.webhook_configs import webhook_schemas_for
from generator.check.webhook import WebhookRules
from generator.cluster.model import Cluster
from generator.cluster.parse import SpecError
from generator.core.formats import FQDN, go_match
from generator.core.kube import SYNC_OPTIONS
from generator.pipeline.clusters import checked_cluster
from generator.programs.helm import FilesRender
from generator.programs.overlays import OverlayBuild
from generator.render.cluster_bundle import render_bundle
from generator.render.rdma_values import chart_values
from generator.render.resources import webhook_enabled
from generator.sources.schema_store import open_store
from generator.yamlio.load import load_documents
from tests.conftest import UPSTREAM, spec_text, write_spec
from tests.helpers import run_gen

DIGEST = "sha256:" + "cd" * 32
MIRRORS = ("imageRegistry:\n  nvcr.io/nvidia: myacr.azurecr.io/nvidia\n  ghcr.io: myacr.azurecr.io/ghcr\n"
           "  registry.k8s.io: myacr.azurecr.io/k8s\n")
PUBLIC = ("nvcr.io/", "ghcr.io/", "registry.k8s.io/", "docker.io/", "quay.io/")
WEBHOOK = "networkOperator:\n  values:\n    operator:\n      admissionController:\n        enabled: true\n"


def _argocd(spec: Path, extra: str) -> None:
    spec.write_text(spec.read_text().replace("  targetRevision: main\n", f"  targetRevision: main\n{extra}", 1))


def _with_operator_values(spec: Path, values: str) -> None:
    """networkOperator.values into the spec's networkOperator block (after its version)."""
    text = spec.read_text()
    head, _, rest = text.partition("  version: ")
    version, _, tail = rest.partition("\n")
    spec.write_text(f"{head}  version: {version}\n{values.split(chr(10), 1)[1]}{tail}")


def _images(values: Any) -> list[str]:
    """Every image reference a values file composes (repository/image:version, and the verify image)."""
    refs = [f"{i['repository']}/{i['image']}:{i['version']}" for i in values["images"].values()]
    return [*refs, values["verify"]["image"]]


@pytest.fixture
def fleet(gitops_repo: Path) -> Path:
    """Six clusters, each on its own destination: helm delivery; rendered delivery (the fixture chart of v25.4.0);
    mirrors; digests; the admission webhook on; and the chart as the Application's source."""
    write_spec(gitops_repo, "plain", mode="shared", version="v26.4.1")
    _argocd(write_spec(gitops_repo, "rendered", mode="sriov", version="v25.4.0"), "  delivery: rendered\n")
    write_spec(gitops_repo, "mirrored", mode="ipoib", version="v26.4.1", extra=MIRRORS + "verify:\n  enabled: true\n")
    write_spec(gitops_repo, "pinned", mode="sriov", version="v25.4.0",
               extra=f"imageDigests:\n  ghcr.io/k8snetworkplumbingwg/sriov-network-device-plugin: {DIGEST}\n")
    _with_operator_values(write_spec(gitops_repo, "webhook", mode="sriov", version="v26.4.1",
                                     extra="verify:\n  enabled: true\n"), WEBHOOK)
    _argocd(write_spec(gitops_repo, "viachart", mode="ipoib", version="v26.4.1"), "  source: chart\n")
    return gitops_repo


@pytest.mark.kustomize
def test_gen_chart_once_never_blocks_a_mixed_fleet(fleet: Path, chart_mirror: Path) -> None:
    env = {"GEN_SCHEMA_MIRROR": str(chart_mirror)}
    run_gen("bundle", "--all", repo=fleet, env=env, check=True)
    chart = run_gen("chart", "--cluster", "plain", repo=fleet, env=env)
    assert chart.code == 0, chart.out + chart.err
    for args in (("bundle", "--all"), ("check",), ("bundle", "--cluster", "rendered"),
                 ("check", "--cluster", "pinned")):
        proc = run_gen(*args, repo=fleet, env=env)
        assert proc.code == 0, (args, proc.out, proc.err)
        assert "chart-equivalence" not in proc.out + proc.err, (args, proc.out)
    # the values Helm and Flux users install with: mirrored and pinned as the overlay is
    mirrored = load_documents((fleet / "output/mirrored/helm/rdma-infiniband-values.yaml").read_bytes(), "v")[0].value
    assert not [ref for ref in _images(mirrored) if ref.startswith(PUBLIC)], _images(mirrored)
    assert all(ref.startswith("myacr.azurecr.io/") for ref in _images(mirrored))
    pinned = load_documents((fleet / "output/pinned/helm/rdma-infiniband-values.yaml").read_bytes(), "v")[0].value
    assert pinned["images"]["sriovDevicePlugin"]["version"].endswith(f"@{DIGEST}")
    webhook = load_documents((fleet / "output/webhook/helm/rdma-infiniband-values.yaml").read_bytes(), "v")[0].value
    assert webhook["sriovDevicePlugin"] == {"resourcePrefix": "nvidia.com", "resourceName": "ib"}


@pytest.mark.kustomize
def test_rendered_crds_are_never_deleted_or_pruned(fleet: Path, chart_mirror: Path) -> None:
    run_gen("bundle", "--all", repo=fleet, env={"GEN_SCHEMA_MIRROR": str(chart_mirror)}, check=True)
    text = (fleet / "output/network-operator-v25.4.0/crds.yaml").read_text()
    crds = [d.value for d in load_documents(text.encode(), "crds.yaml")]
    assert len(crds) >= 3 and all(crd["kind"] == "CustomResourceDefinition" for crd in crds)
    for crd in crds:
        options = crd["metadata"]["annotations"][SYNC_OPTIONS].split(",")
        assert {"Delete=false", "Prune=false"} <= set(options), crd["metadata"]["name"]
        assert crd["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "-2"
    assert "docs/argocd.md" in text.split("\n---", 1)[0]  # how to remove them on purpose
    # the other clusters' CRDs come from the chart through Argo CD: nothing of theirs is committed
    assert not (fleet / "output/network-operator-v26.4.1").exists()


def _cluster(mode: str = "sriov", values: str = "", extra: str = "") -> Cluster:
    """A v26.4.1 cluster with ``values`` (YAML lines, indented as under networkOperator.values) and other fields."""
    text = spec_text(mode=mode, version="v26.4.1", extra=extra)
    if values:
        text = text.replace("  version: v26.4.1\n", f"  version: v26.4.1\n  values:\n{values}", 1)
    return checked_cluster(text.encode(), "clusters/prod.yaml", expected_name="prod")


WEBHOOK_ON = "    operator:\n      admissionController:\n        enabled: true\n"


def test_with_the_webhook_on_the_sriov_resource_is_one_the_webhook_accepts() -> None:
    on = _cluster(values=WEBHOOK_ON, extra="verify:\n  enabled: true\n")
    off = _cluster(extra="verify:\n  enabled: true\n")
    assert on.chart_values == {"operator": {"admissionController": {"enabled": True}}}
    bundle = render_bundle(on)
    [patch] = bundle.objects["overlays/sriov/sriov-device-plugin.yaml"]
    [resource] = json.loads(patch["spec"]["sriovDevicePlugin"]["config"])["resourceList"]
    assert resource["resourcePrefix"] == "nvidia.com" and go_match(FQDN, resource["resourcePrefix"])
    # every release's webhook accepts the policy as Argo CD applies it (the base policy with the SR-IOV patch)
    policy = copy.deepcopy(bundle.objects["base/nicclusterpolicy.yaml"][0])
    policy["spec"].update(patch["spec"])
    store = open_store(UPSTREAM)
    for tag in catalog.load().release_tags:
        rules = WebhookRules(webhook_schemas_for(tag, store), webhook_facts(tag))
        assert [f for f in rules.check(policy, 0) if f.rule.startswith("webhook-resource")] == [], tag
        guide = copy.deepcopy(policy)
        guide["spec"]["sriovDevicePlugin"]["config"] = guide["spec"]["sriovDevicePlugin"]["config"].replace(
            '"nvidia.com"', '"rdma"')
        refused = [f.rule for f in rules.check(guide, 0) if f.rule.startswith("webhook-resource")]
        assert refused == ["webhook-resource-prefix"], tag  # what it refuses: the guide's prefix
    # the example pod and the verify Job ask for it; the file says why, and disables no rule
    pod = bundle.objects["examples/pod.yaml"][0]["spec"]["containers"][0]["resources"]
    wanted = {"nvidia.com/gpu": 8, "nvidia.com/ib": 8}  # every GPU of the size, with every VF
    assert pod == {"requests": wanted, "limits": wanted}
    job = next(o for o in bundle.objects["overlays/sriov/verify.yaml"] if o["kind"] == "Job")
    assert job["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] == {"nvidia.com/ib": "8"}
    sriov_file = bundle.files["overlays/sriov/sriov-device-plugin.yaml"].decode()
    assert "gen-lint: disable" not in sriov_file and "pods request nvidia.com/ib" in sriov_file
    assert chart_values(on)["sriovDevicePlugin"] == {"resourcePrefix": "nvidia.com", "resourceName": "ib"}
    # with the webhook off, the guide's rdma/ib, and the rule that would refuse it disabled in that file only
    plain = render_bundle(off)
    guide_file = plain.files["overlays/sriov/sriov-device-plugin.yaml"].decode()
    assert "# gen-lint: disable=webhook-resource-prefix" in guide_file
    assert "rdma/ib" in plain.files["examples/pod.yaml"].decode()
    assert "nvidia.com/ib" not in b"".join(plain.files.values()).decode()


@pytest.mark.parametrize(("value", "on"), [("true", True), ("false", False), ('"false"', True), ("1", True),
                                          ("0", False), ("null", False), ("{}", False)])
def test_the_webhook_is_on_as_the_chart_s_if_takes_the_value(value: str, on: bool) -> None:
    """`{{- if .Values.operator.admissionController.enabled }}` in the chart: Go templates' truth, not YAML's."""
    values = WEBHOOK_ON.replace("enabled: true", f"enabled: {value}")
    try:
        cluster = _cluster(values=values)
    except SpecError:  # the chart facts refuse a value of the wrong type: nothing to decide
        assert value not in ("true", "false")
        return
    assert webhook_enabled(cluster) is on
    prefix = "nvidia.com" if on else "rdma"
    assert chart_values(cluster)["sriovDevicePlugin"]["resourcePrefix"] == prefix


def test_a_chart_difference_is_an_error_only_where_argo_cd_applies_the_chart() -> None:
    for source, severity in (("overlay", "warning"), ("chart", "error")):
        cluster = _cluster(mode="ipoib")
        cluster = dataclasses.replace(cluster, argocd=dataclasses.replace(cluster.argocd, source=source))
        bundle = render_bundle(cluster)
        objects = bundle.objects["base/namespace.yaml"] + bundle.objects["overlays/ipoib/ipoib-network.yaml"]
        build = OverlayBuild(cluster.name, cluster.mode, objects, "")
        [finding] = _equivalence_findings(cluster, bundle, build, FilesRender(objects[:1]))
        assert finding.rule == "chart-equivalence" and finding.severity == severity
        assert "IPoIBNetwork aks-infiniband: only in the overlay" in finding.message
