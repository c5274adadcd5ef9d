"""Each release's own admission webhook: the rules that differ between releases, passing and failing, per release;
containerResources names; NicNodePolicy (v26.4): name limits, strict schema, overlaps with the NicClusterPolicy."""

from __future__ import annotations

from typing import Any

import pytest

from generator import catalog
from generator.catalog.webhook_facts import all_webhook_facts, webhook_facts
from generator.check.engine import Item, checker_for
from generator.check.infer import infer_release
from generator.check.nodepolicy import policy_overlap, selector_overlap
from generator.check.validators.webhook_configs import webhook_schemas_for
from generator.check.webhook import WebhookRules
from generator.core.finding import Finding
from generator.sources.schema_store import SchemaStore

RELEASES = ("v25.1.0", "v25.4.0", "v25.7.0", "v25.10.0", "v26.1.2", "v26.4.1")
SHA = "sha256:" + "0" * 64

# driver version -> the releases whose webhook takes it (read off each tag's isValidOFEDVersion, independently of
# generator/catalog/webhook.yaml, which must agree)
DRIVERS: dict[str, set[str]] = {
    "25.01-0.6.0.0-0": set(RELEASES),
    "25.04-0.6.1.0-2": set(RELEASES),
    "doca3.1.0-25.07-0.9.7.0-0": {"v25.7.0", "v25.10.0", "v26.1.2", "v26.4.1"},
    "doca3.2.0-25.10-1.2.8.0-2": {"v25.7.0", "v25.10.0", "v26.1.2", "v26.4.1"},  # the guide's
    "doca3.4.1-26.04-1.1.0.0-1": {"v25.7.0", "v25.10.0", "v26.1.2", "v26.4.1"},
    "doca3.1-25.07-0.9.7.0-0-5.14.0-427.87.1.el9_4.x86_64-rhcos4.18-amd64": {"v25.10.0", "v26.1.2", "v26.4.1"},
    "25.01-0.6.0.0-0-6.8.0-1019-oracle-ubuntu22.04-arm64": {"v25.10.0", "v26.1.2", "v26.4.1"},
    SHA: {"v25.10.0", "v26.1.2", "v26.4.1"},
    "doca3.6.0-26.10-016000-ubuntu24.04-amd64": set(),  # DOCA-Host build numbers: upstream main only
    "doca3.6.0-26.10-028000-0": set(),
    "doca3.3.1-26.01-1.0.0.0.500-0": set(),
    "doca3.1-25.07": set(),
    "25.04-0.6.1.0-2\n": set(),  # Go's $ does not match before a final newline
}


@pytest.fixture(scope="module")
def rules(store: SchemaStore) -> dict[str, WebhookRules]:
    return {tag: WebhookRules(webhook_schemas_for(tag, store), webhook_facts(tag)) for tag in RELEASES}


def policy(kind: str = "NicClusterPolicy", name: str = "nic-cluster-policy", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "mellanox.com/v1alpha1", "kind": kind, "metadata": {"name": name}, "spec": spec}


def ofed(version: str = "25.04-0.6.1.0-2", **more: Any) -> dict[str, Any]:
    return {"repository": "nvcr.io/nvidia/mellanox", "image": "doca-driver", "version": version, **more}


def image(name: str, **more: Any) -> dict[str, Any]:
    return {"repository": "nvcr.io/nvidia/mellanox", "image": name, "version": "network-operator-v25.7.0", **more}


def found(rules: WebhookRules, obj: dict[str, Any], rule: str = "") -> list[Finding]:
    return [f for f in rules.check(obj, 0) if not rule or f.rule == rule]


def test_facts_cover_every_catalog_release():
    assert tuple(all_webhook_facts()) == catalog.load().release_tags == RELEASES


@pytest.mark.parametrize("release", RELEASES)
def test_facts_name_fields_of_the_releases_crds(schemas: Any, release: str):
    """Every component the facts name is a field of that release's NicClusterPolicy CRD, with containerResources where
    its names are listed; NicNodePolicy facts exactly where the release has the kind."""
    facts = webhook_facts(release)
    custom = schemas(release).custom
    spec = custom("mellanox.com/v1alpha1", "NicClusterPolicy").schema["properties"]["spec"]
    for component in {*facts.repositories, *facts.containers}:
        node = spec
        for part in component.split("."):
            node = node["properties"][part]
        assert "repository" in node["properties"], component
        if component in facts.containers:
            assert "name" in node["properties"]["containerResources"]["items"]["properties"]
    assert ("NicNodePolicy" in facts.kinds) == (facts.node_policy is not None) == bool(
        custom("mellanox.com/v1alpha1", "NicNodePolicy"))
    if facts.node_policy is not None:
        nnp = custom("mellanox.com/v1alpha1", "NicNodePolicy").schema["properties"]["spec"]["properties"]
        assert set(facts.node_policy.sections) <= set(nnp)


@pytest.mark.parametrize("version", DRIVERS, ids=lambda v: v[:40].replace("\n", "\\n"))
@pytest.mark.parametrize("release", RELEASES)
def test_driver_version_per_release(rules: dict[str, WebhookRules], release: str, version: str):
    hits = found(rules[release], policy(ofedDriver=ofed(version)), "webhook-driver-version")
    assert (not hits) == (release in DRIVERS[version])
    if hits:
        assert hits[0].path == ("spec", "ofedDriver", "version") and release in hits[0].message


def test_driver_message_names_the_release_that_takes_it(rules: dict[str, WebhookRules]):
    [hit] = found(rules["v25.4.0"], policy(ofedDriver=ofed("doca3.2.0-25.10-1.2.8.0-2")), "webhook-driver-version")
    assert "OFED-style versions only" in hit.message and "v25.7.0 and later take it" in hit.message
    [hit] = found(rules["v25.7.0"], policy(ofedDriver=ofed(SHA)), "webhook-driver-version")
    assert "v25.10.0 and later take it" in hit.message
    [hit] = found(rules["v26.4.1"], policy(ofedDriver=ofed("doca3.6.0-26.10-016000-0")), "webhook-driver-version")
    assert "later take it" not in hit.message and "DOCA-Host" in hit.message


@pytest.mark.parametrize("release", RELEASES)
def test_each_release_takes_its_own_driver(rules: dict[str, WebhookRules], release: str):
    own = catalog.load().release(release).doca_driver
    assert not found(rules[release], policy(ofedDriver=ofed(own)))
    nnp = policy("NicNodePolicy", "pool-a", nodeSelector={"agentpool": "gpu"}, ofedDriver=ofed(own))
    assert not found(rules[release], nnp)


@pytest.mark.parametrize("release", RELEASES)
def test_ipam_plugin_repository_and_resources_up_to_v25_7(rules: dict[str, WebhookRules], release: str):
    checked = release in ("v25.1.0", "v25.4.0", "v25.7.0")
    bad = policy(secondaryNetwork={"ipamPlugin": image("whereabouts", repository="Ghcr.io/Bad",
                                                       containerResources=[{"name": "whereabouts",
                                                                            "requests": {"cpu": 0}}])})
    rule_ids = {f.rule for f in found(rules[release], bad)}
    assert rule_ids == ({"webhook-image-repository", "webhook-resource-zero"} if checked else set())


@pytest.mark.parametrize("release", RELEASES)
def test_global_repository_from_v26_4(rules: dict[str, WebhookRules], release: str):
    """v26.4 falls back to spec.global.repository for an empty component repository; before, an empty one is refused
    as it is (the CRD requires it, and has no spec.global)."""
    obj = policy(**{"global": {"repository": "nvcr.io/nvidia/mellanox"},
                    "secondaryNetwork": {"multus": {"image": "multus-cni", "version": "v4.1.0"}}})
    hits = found(rules[release], obj, "webhook-image-repository")
    assert bool(hits) == (release != "v26.4.1")
    obj["spec"]["global"]["repository"] = "NVCR.io/UPPER"
    [hit] = found(rules[release], obj, "webhook-image-repository")
    assert ("from spec.global.repository" in hit.message) == (release == "v26.4.1")


@pytest.mark.parametrize("release", RELEASES)
def test_ofed_repository_error_path_quirk(rules: dict[str, WebhookRules], release: str):
    [hit] = found(rules[release], policy(ofedDriver=ofed(repository="Bad Repo")), "webhook-image-repository")
    assert hit.path == ("spec", "ofedDriver", "repository")  # our finding points at the field to fix
    assert ("reports it at spec.nicFeatureDiscovery.repository" in hit.message) == (release != "v26.4.1")


CONTAINER_NAMES = [  # (component path, name, releases whose webhook takes it)
    ("ofedDriver", "mofed-container", set(RELEASES)),
    ("ofedDriver", "doca-driver", set()),
    ("ofedDriver", "network-operator-init-container", set()),  # an init container never counts
    ("rdmaSharedDevicePlugin", "rdma-shared-dp", set(RELEASES)),
    ("rdmaSharedDevicePlugin", "ofed-driver-validation", set()),
    ("sriovDevicePlugin", "kube-sriovdp", set(RELEASES)),
    ("nvIpam", "nv-ipam-controller", set(RELEASES)),
    ("nvIpam", "nv-ipam-node", set(RELEASES)),
    ("nvIpam", "nv-ipam", set()),
    ("ibKubernetes", "ib-kubernetes", set(RELEASES)),
    ("nicFeatureDiscovery", "nic-feature-discovery", set(RELEASES)),
    ("secondaryNetwork.multus", "kube-multus", set(RELEASES)),
    ("secondaryNetwork.multus", "install-multus-binary", set()),
    ("secondaryNetwork.cniPlugins", "cni-plugins", set(RELEASES)),
    ("secondaryNetwork.ipoib", "ipoib-cni", set(RELEASES)),
    ("secondaryNetwork.ipamPlugin", "whereabouts", {"v25.1.0", "v25.4.0", "v25.7.0"}),
    ("secondaryNetwork.ipamPlugin", "whereabouts-node-slice-controller", {"v25.7.0"}),
]


def _with_resources(component: str, name: str, **fields: Any) -> dict[str, Any]:
    entry = {**image(component.rsplit(".", 1)[-1]), **fields, "containerResources": [{"name": name,
                                                                                        "requests": {"cpu": "100m"}}]}
    if "." in component:
        parent, child = component.split(".")
        return policy(**{parent: {child: entry}})
    return policy(**{component: entry})


@pytest.mark.parametrize(("component", "name", "takes"), CONTAINER_NAMES, ids=lambda v: v if isinstance(v, str) else "")
@pytest.mark.parametrize("release", RELEASES)
def test_container_resources_names_per_release(rules: dict[str, WebhookRules], release: str, component: str,
                                               name: str, takes: set[str]):
    hits = found(rules[release], _with_resources(component, name), "webhook-container-name")
    if component == "secondaryNetwork.ipamPlugin" and release not in ("v25.1.0", "v25.4.0", "v25.7.0"):
        assert not hits  # the field is gone: the schema refuses it, the webhook does not look
        return
    assert (not hits) == (release in takes)
    if hits:
        assert hits[0].path[-1] == "name" and release in hits[0].message


def test_telemetry_resources_are_not_checked(rules: dict[str, WebhookRules]):
    obj = policy(docaTelemetryService={"repository": "nvcr.io/nvidia/doca", "image": "doca_telemetry",
                                       "version": "1.22.5-doca3.1.0-host",
                                       "containerResources": [{"name": "anything", "requests": {"cpu": 0}}]})
    assert not found(rules["v26.4.1"], obj)


@pytest.mark.parametrize("release", RELEASES)
def test_force_precompiled_refuses_every_driver_resource(rules: dict[str, WebhookRules], release: str):
    """The webhook renders the driver with a dummy catalog that has no precompiled image: with forcePrecompiled the
    render fails and no name is accepted, unless the version is a digest the release takes."""
    obj = _with_resources("ofedDriver", "mofed-container", version=catalog.load().release(release).doca_driver,
                          forcePrecompiled=True)
    [hit] = found(rules[release], obj, "webhook-container-name")
    assert "forcePrecompiled: true" in hit.message
    obj["spec"]["ofedDriver"]["version"] = SHA
    assert bool(found(rules[release], obj, "webhook-container-name")) == (release in ("v25.1.0", "v25.4.0", "v25.7.0"))


@pytest.mark.parametrize("release", RELEASES)
def test_host_device_network_needs_a_resource_name(rules: dict[str, WebhookRules], release: str):
    network = {"apiVersion": "mellanox.com/v1alpha1", "kind": "HostDeviceNetwork", "metadata": {"name": "h"},
               "spec": {"networkNamespace": "default"}}
    [hit] = found(rules[release], network, "webhook-resource-name")
    assert "missing or empty" in hit.message
    network["spec"]["resourceName"] = "hostdev"
    assert not found(rules[release], network)


@pytest.mark.parametrize("release", RELEASES)
def test_nic_node_policy_name_limit(rules: dict[str, WebhookRules], release: str):
    for length, refused in ((30, False), (31, True)):
        obj = policy("NicNodePolicy", "p" * length, nodeSelector={"agentpool": "gpu"})
        hits = found(rules[release], obj, "webhook-nicnodepolicy-name")
        assert bool(hits) == (refused and release == "v26.4.1")  # no NicNodePolicy webhook before v26.4


# -- NicNodePolicy through the whole checker: schema, derived names, overlaps -----------------------------------------


def lint(release: str, *objects: dict[str, Any]) -> list[Finding]:
    items = [Item(obj, "policies.yaml") for obj in objects]
    everything = list(range(len(items)))
    return checker_for(release).run(items, [(everything, everything)])


def rules_of(findings: list[Finding]) -> dict[str, str]:
    return {f.rule: f.severity for f in findings}


def test_nic_node_policy_schema_is_strict_at_v26_4_only():
    nnp = policy("NicNodePolicy", "pool-a", nodeSelector={"agentpool": "gpu"}, ofedDriver=ofed(), bogus=1)
    found_v26_4 = lint("v26.4.1", nnp)
    assert any(f.rule == "schema" and f.path == ("spec", "bogus") for f in found_v26_4)
    nnp["spec"].pop("bogus")
    nnp["spec"]["nodeSelector"] = "agentpool=gpu"
    assert any(f.rule == "schema" and f.path == ("spec", "nodeSelector") for f in lint("v26.4.1", nnp))
    nnp["spec"]["nodeSelector"] = {"agentpool": "gpu"}
    assert not lint("v26.4.1", nnp)
    [older] = lint("v26.1.2", nnp)  # no such CRD before v26.4: the API server refuses the kind
    assert (older.rule, older.severity) == ("unknown-kind", "error") and "v26.4.1 and later" in older.message
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert rules_of(lint("v26.1.2", widget)) == {"unknown-kind": "warning"}


@pytest.mark.parametrize(("length", "sriov", "refused"), [(26, True, False), (27, True, True), (30, True, True),
                                                          (30, False, False)])
def test_nic_node_policy_name_fits_the_sriov_daemonset_label(length: int, sriov: bool, refused: bool):
    sections: dict[str, Any] = {"ofedDriver": ofed()}
    if sriov:
        sections["sriovDevicePlugin"] = {
            "repository": "nvcr.io/nvidia/mellanox", "image": "sriov-network-device-plugin",
            "version": "network-operator-v26.4.1",
            "config": '{"resourceList": [{"resourceName": "ib", "resourcePrefix": "nvidia.com", '
                      '"selectors": {"vendors": ["15b3"]}}]}'}
    nnp = policy("NicNodePolicy", "a" * length, nodeSelector={"agentpool": "gpu"}, **sections)
    hits = [f for f in lint("v26.4.1", nnp) if f.rule == "nicnodepolicy-derived-name"]
    assert bool(hits) == refused
    if hits:
        assert f"{37 + length} characters where at most 63 fit" in hits[0].message and "at most 26" in hits[0].message


AFFINITY = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
    {"matchExpressions": [{"key": "feature.node.kubernetes.io/pci-15b3.present", "operator": "In",
                           "values": ["true"]},
                          {"key": "agentpool", "operator": "NotIn", "values": ["cpu"]}]}]}}}


@pytest.mark.parametrize(("ncp_extra", "selector", "expected"), [
    ({}, {"agentpool": "gpu"}, {"webhook-section-conflict": "error"}),  # no affinity: every node
    (AFFINITY, {"agentpool": "gpu"}, {"webhook-section-conflict": "error"}),  # can overlap
    (AFFINITY, {"agentpool": "cpu"}, {"webhook-section-conflict": "warning"}),  # cannot overlap: the webhook refuses
])
def test_section_conflict_with_the_cluster_policy(ncp_extra: dict[str, Any], selector: dict[str, str],
                                                  expected: dict[str, str]):
    ncp = policy(ofedDriver=ofed(), **ncp_extra)
    nnp = policy("NicNodePolicy", "pool-a", nodeSelector=selector, ofedDriver=ofed())
    assert rules_of(f for f in lint("v26.4.1", ncp, nnp) if f.rule.startswith("webhook-")) == expected
    ncp["spec"].pop("ofedDriver")  # the cluster policy keeps other sections: fine
    ncp["spec"]["secondaryNetwork"] = {"multus": image("multus-cni", version="network-operator-v26.4.1")}
    assert not [f for f in lint("v26.4.1", ncp, nnp) if f.rule != "nfd-label-unset"]


def test_node_overlap_between_node_policies():
    a = policy("NicNodePolicy", "pool-a", nodeSelector={"agentpool": "gpua"}, ofedDriver=ofed())
    b = policy("NicNodePolicy", "pool-b", nodeSelector={"agentpool": "gpub"}, ofedDriver=ofed())
    assert not lint("v26.4.1", a, b)
    b["spec"]["nodeSelector"] = {}  # every node
    assert rules_of(lint("v26.4.1", a, b)) == {"webhook-nnp-node-overlap": "error"}
    b["spec"]["nodeSelector"] = {"kubernetes.azure.com/accelerator": "nvidia"}  # a node could carry both labels
    assert rules_of(lint("v26.4.1", a, b)) == {"webhook-nnp-node-overlap": "warning"}


@pytest.mark.parametrize(("a", "b", "expected"), [
    ({}, {}, "all"), ({"x": "1"}, {}, "all"), ({"x": "1"}, {"x": "1", "y": "2"}, "all"),
    ({"x": "1"}, {"x": "2"}, "none"), ({"x": "1"}, {"y": "2"}, "some"),
])
def test_selector_overlap(a: dict[str, str], b: dict[str, str], expected: str):
    assert selector_overlap(a, b) == expected == selector_overlap(b, a)


@pytest.mark.parametrize(("expressions", "labels", "expected"), [
    ([{"key": "x", "operator": "In", "values": ["1"]}], {"x": "1"}, "all"),
    ([{"key": "x", "operator": "In", "values": ["1"]}], {"x": "2"}, "none"),
    ([{"key": "x", "operator": "In", "values": ["1"]}], {"y": "2"}, "some"),
    ([{"key": "x", "operator": "NotIn", "values": ["1"]}], {"x": "1"}, "none"),
    ([{"key": "x", "operator": "Exists"}], {"x": "1"}, "all"),
    ([{"key": "x", "operator": "DoesNotExist"}], {"x": "1"}, "none"),
    ([{"key": "x", "operator": "Gt", "values": ["4"]}], {"x": "8"}, "all"),
    ([{"key": "x", "operator": "Lt", "values": ["4"]}], {"x": "8"}, "none"),
])
def test_policy_overlap(expressions: list[dict[str, Any]], labels: dict[str, str], expected: str):
    ncp = policy(nodeAffinity={"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": expressions}]}})
    assert policy_overlap(labels, ncp) == expected


# -- the release a directory of plain manifests is written for ---------------------------------------------------------


def test_infer_release_from_image_versions():
    guide = policy(ofedDriver=ofed("doca3.2.0-25.10-1.2.8.0-2"), secondaryNetwork={
        "multus": image("multus-cni", version="network-operator-v25.10.0")},
        docaTelemetryService={"repository": "nvcr.io/nvidia/doca", "image": "doca_telemetry",
                              "version": "1.22.5-doca3.1.0-host"})
    assert infer_release([guide]) == ("v25.10.0", "from the image versions of NicClusterPolicy 'nic-cluster-policy'")
    old = policy(secondaryNetwork={"multus": {"repository": "ghcr.io/k8snetworkplumbingwg", "image": "multus-cni",
                                              "version": "v4.1.0"}})
    assert infer_release([old])[0] == "v25.4.0"  # type: ignore[index]  # a v25.1/v25.4 tie: the newer
    assert infer_release([policy(ofedDriver=ofed("24.10-0.7.0.0-0"))]) is None
    assert infer_release([{"kind": "ConfigMap"}, "not an object"]) is None
