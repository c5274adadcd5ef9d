"""A spec's pools as the loader reads them: each pool's own fields, else the cluster's; the refusals that name the
release that has NicNodePolicies; the pins and drivers one image name cannot serve; hostile pool lists."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import catalog
from generator.cluster.model import Cluster
from generator.cluster.parse import SpecError, parse_cluster
from generator.cluster.pools import default_upgrade_policy
from generator.cluster.spec_schema import cluster_schema
from generator.render.data import template
from tests.conftest import spec_text

CAT = catalog.load()
H100 = ("- name: h100\n  vmSize: Standard_ND96isr_H100_v5\n  devicePlugin: shared\n"
        "  taints: [{key: sku, value: gpu, effect: NoSchedule}]\n"
        "  tolerations: [{key: sku, operator: Equal, value: gpu, effect: NoSchedule}]\n")
TWO = "pools:\n- name: a100\n  devicePlugin: sriov\n" + H100


def parse(extra: str, version: str = "v26.4.1", mode: str = "sriov") -> Cluster:
    return parse_cluster(spec_text(mode=mode, version=version, extra=extra).encode(), "clusters/prod.yaml", "prod")


def error(extra: str, version: str = "v26.4.1", mode: str = "sriov") -> SpecError:
    with pytest.raises(SpecError) as info:
        parse(extra, version, mode)
    return info.value


def test_each_pool_takes_its_own_fields_else_the_clusters() -> None:
    cluster = parse("tolerations: [{key: team, operator: Exists}]\n" + TWO)
    a100, h100 = cluster.pools
    assert cluster.node_policies
    assert (a100.name, a100.vm_size.name, a100.device_plugin) == ("a100", "Standard_ND96asr_v4", "sriov")
    assert a100.tolerations == ({"key": "team", "operator": "Exists"},) and a100.taints == ()
    assert (h100.vm_size.name, h100.device_plugin, h100.vm_size.nics) == ("Standard_ND96isr_H100_v5", "shared", 8)
    assert h100.taints == ({"key": "sku", "value": "gpu", "effect": "NoSchedule"},)
    # the cluster-wide parts tolerate every pool, and are checked against every pool's taints
    assert cluster.tolerations == (a100.tolerations[0], h100.tolerations[0])
    assert cluster.taints == h100.taints
    assert {"101c", "101e"} <= set(cluster.device_ids)
    assert a100.driver.version == h100.driver.version == CAT.release("v26.4.1").doca_driver
    assert not a100.driver.given
    assert (a100.policy_name, a100.selector) == ("rdma-a100", {"kubernetes.azure.com/agentpool": "a100"})


@pytest.mark.parametrize(("mode", "plugin", "pool_mode"), [
    ("base", "none", "base"), ("sriov", "sriov", "sriov"), ("shared", "shared", "shared"),
    ("ipoib", "shared", "ipoib")])
def test_a_pools_device_plugin_follows_the_mode(mode: str, plugin: str, pool_mode: str) -> None:
    [pool] = parse("pools:\n- name: gpu\n", mode=mode).pools
    assert pool.device_plugin == plugin and pool.mode(mode) == pool_mode


def test_the_default_upgrade_policy_is_the_cluster_policys() -> None:
    """The schema's defaults of pools[].driver.upgradePolicy are the NicClusterPolicy's (templates/ofed-driver.yaml):
    one policy, two places (editors read the schema)."""
    assert default_upgrade_policy() == template("ofed-driver.yaml")["upgradePolicy"]
    [pool] = parse("pools:\n- name: gpu\n  driver:\n    upgradePolicy:\n      maxParallelUpgrades: 3\n"
                   "      drain: {timeoutSeconds: 600}\n").pools
    assert pool.driver.upgrade_policy == {**default_upgrade_policy(), "maxParallelUpgrades": 3,
                                          "drain": {**default_upgrade_policy()["drain"], "timeoutSeconds": 600}}


def test_the_schema_example_is_a_valid_pools_section_with_two_pools() -> None:
    [example] = cluster_schema()["properties"]["pools"]["examples"]
    cluster = parse("pools: " + json.dumps(example) + "\n")
    assert len(cluster.pools) >= 2 and cluster.node_policies


@pytest.mark.parametrize("version", ["v25.10.0", "v26.1.2", "v25.1.0"])
def test_pools_with_their_own_policy_settings_need_v26_4_0(version: str) -> None:
    exc = error(TWO, version=version)
    assert exc.field == "pools[1].devicePlugin"
    assert "v26.4.0" in exc.message and "gen upgrade --cluster prod --to v26.4.1" in exc.message
    lines = spec_text(version=version, extra=TWO).splitlines()
    assert lines[exc.line - 1].strip() == "devicePlugin: shared"


def test_a_pools_own_driver_needs_v26_4_0_too() -> None:
    for pools, field in (("- name: a\n  driver: {version: doca3.4.1-26.04-1.1.0.0-1}\n", "pools[0].driver.version"),
                         ("- name: a\n  driver: {upgradePolicy: {maxParallelUpgrades: 2}}\n",
                          "pools[0].driver.upgradePolicy")):
        exc = error("pools:\n" + pools, version="v26.1.2")
        assert exc.field == field and "v26.4.0" in exc.message


def test_pools_that_differ_in_size_taints_and_tolerations_share_the_policy_before_v26_4_0() -> None:
    cluster = parse(TWO.replace("  devicePlugin: sriov\n", "").replace("  devicePlugin: shared\n", ""),
                    version="v26.1.2")
    assert len(cluster.pools) == 2 and not cluster.node_policies
    assert cluster.tolerations == cluster.pools[1].tolerations  # the one NicClusterPolicy tolerates every pool
    # a driver given but equal to the release's is no setting of its own
    same = f"pools:\n- name: a\n  driver: {{version: {CAT.release('v26.1.2').doca_driver}}}\n"
    assert not parse(same, version="v26.1.2").node_policies


@pytest.mark.parametrize(("extra", "field", "words"), [
    ("pools:\n- name: a100\n- name: a100\n", "pools[1].name", "pools[0] already"),
    ("pools:\n- name: A100\n", "pools[0].name", "does not match"),
    ("pools:\n- name: 1gpu\n", "pools[0].name", "does not match"),
    ("pools:\n- name: abcdefghijklm\n", "pools[0].name", "does not match"),
    ("pools: []\n", "pools", ""),
    ("pools:\n- vmSize: Standard_ND96asr_v4\n", "pools[0].name", "required"),
    ("pools:\n- name: a\n  devicePlugin: rdma\n", "pools[0].devicePlugin", "sriov, shared, none"),
    ("pools:\n- name: a\n  vmSize: Standard_X\n", "pools[0].vmSize", "unknown VM size"),
    ("pools:\n- name: a\n  driver: {version: 'latest'}\n", "pools[0].driver.version", "does not match"),
    ("pools:\n- name: a\n  driver: {version: 'sha256:" + "0" * 64 + "'}\n", "pools[0].driver.version",
     "does not match"),
    ("pools:\n- name: a\n  node: {osSku: AzureLinux}\n", "pools[0].node.osSku", "Azure Linux"),
    ("pools:\n- name: a\n  vmSize: Standard_ND128isr_NDR_GB200_v6\n  node: {arch: amd64}\n", "pools[0].node.arch",
     "arm64"),
    ("pools:\n- name: a\n  colour: blue\n", "pools[0].colour", "unknown field"),
])
def test_pool_mistakes_name_the_field(extra: str, field: str, words: str) -> None:
    exc = error(extra)
    assert exc.field == field, exc
    assert words in exc.message, exc


def test_a_pool_takes_its_own_platform() -> None:
    cluster = parse('kubernetes:\n  version: "1.35"\npools:\n- name: a\n  node: {osSku: Ubuntu2204}\n'
                    "- name: gb\n  vmSize: Standard_ND128isr_NDR_GB200_v6\n")
    assert [p.node.platform.name for p in cluster.pools] == ["ubuntu22.04-amd64", "ubuntu24.04-arm64"]
    assert cluster.platforms == tuple(p.node.platform for p in cluster.pools)


def test_a_canary_driver_gen_does_not_know_is_a_warning() -> None:
    cluster = parse("pools:\n- name: a\n- name: canary\n  driver: {version: doca3.5.0-26.07-0.5.0.0-0}\n")
    assert cluster.pools[1].driver.version == "doca3.5.0-26.07-0.5.0.0-0" and cluster.pools[1].driver.given
    [note] = [n for n in cluster.notes if "pools[1].driver.version" in n]
    assert "not the DOCA driver of a release gen knows" in note and "-ubuntu24.04-amd64" in note


def test_a_release_driver_not_published_for_the_pools_platform_is_refused() -> None:
    # v25.4.0's driver does not build on AKS's Ubuntu 24.04 arm64 (GB200) nodes (platform.yaml aksDriverSince)
    exc = error('kubernetes:\n  version: "1.35"\npools:\n- name: a\n- name: gb\n'
                "  vmSize: Standard_ND128isr_NDR_GB200_v6\n"
                f"  driver: {{version: {CAT.release('v25.4.0').doca_driver}}}\n")
    assert exc.field == "pools[1].driver.version" and "Ubuntu 24.04 arm64" in exc.message


def test_a_pinned_driver_cannot_serve_a_pool_of_another_version_or_two_platforms() -> None:
    pin = "imageDigests:\n  nvcr.io/nvidia/mellanox/doca-driver: sha256:" + "7" * 64 + "\n"
    exc = error(pin + "pools:\n- name: a\n- name: b\n  driver: {version: doca3.5.0-26.07-0.5.0.0-0}\n")
    assert exc.field == "pools[1].driver.version" and "per image name" in exc.message
    exc = error(pin + 'kubernetes:\n  version: "1.35"\npools:\n- name: a\n  node: {osSku: Ubuntu2204}\n- name: b\n')
    assert exc.field == "imageDigests.nvcr.io/nvidia/mellanox/doca-driver"
    assert "ubuntu22.04-amd64, ubuntu24.04-amd64" in exc.message


def test_one_ipoib_network_needs_one_master_name() -> None:
    pools = "pools:\n- name: a\n- name: b\n  nic: {ipoibInterface: ibP1p0s0}\n"
    exc = error(pools, mode="ipoib")
    assert exc.field == "ipoib.master" and "ibP1p0s0" in exc.message
    assert parse("ipoib:\n  master: ib0\n" + pools, mode="ipoib").ipoib.master == "ib0"


def test_the_rdma_infiniband_chart_is_refused_for_node_policies() -> None:
    text = spec_text(version="v26.4.1", extra="pools:\n- name: a\n").replace(
        "  targetRevision: main\n", "  targetRevision: main\n  source: chart\n")
    with pytest.raises(SpecError) as info:
        parse_cluster(text.encode(), "clusters/prod.yaml", "prod")
    assert info.value.field == "argocd.source" and "NicNodePolicies" in info.value.message


def test_nccl_runs_on_the_pools_that_can_and_is_refused_only_where_none_can() -> None:
    nccl = ("verify:\n  enabled: true\n  image: ghcr.io/azure/aks-rdma-infiniband/ibtools@sha256:" + "a" * 64 + "\n"
            "  nccl:\n    enabled: true\n    image: ghcr.io/azure/aks-rdma-infiniband/nccl-tests@sha256:" + "b" * 64
            + "\n")
    cluster = parse(nccl + "pools:\n- name: a\n- name: amd\n  vmSize: Standard_ND96isr_MI300X_v5\n")
    assert len(cluster.pools) == 2
    exc = error(nccl + "pools:\n- name: amd\n  vmSize: Standard_ND96isr_MI300X_v5\n")
    assert exc.field == "verify.nccl.enabled"


def test_a_hundred_pools_at_most() -> None:
    many = "pools:\n" + "".join(f"- name: p{i}\n" for i in range(100))
    assert len(parse(many).pools) == 100
    assert error(many + "- name: p100\n").field == "pools"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.fixed_dictionaries({
    "name": st.from_regex(r"\A[a-z][a-z0-9]{0,11}\Z"),
    "devicePlugin": st.sampled_from(["sriov", "shared", "none"]),
    "vmSize": st.sampled_from(["Standard_ND96asr_v4", "Standard_ND96isr_H100_v5", "Standard_HB120rs_v3"]),
}), min_size=1, max_size=6, unique_by=lambda p: p["name"]))
def test_any_valid_pools_give_one_pool_each_within_the_name_limits(pools: list[dict[str, str]]) -> None:
    cluster = parse("pools: " + json.dumps(pools) + "\n")
    assert [p.name for p in cluster.pools] == [p["name"] for p in pools]
    for pool in cluster.pools:  # the webhook's 30, and 26 with sriovDevicePlugin (its label's 63 characters)
        assert len(pool.policy_name) <= 26


def test_the_user_guides_pools_error_is_what_gen_says() -> None:
    """docs/user-guide.md quotes the refusal of per-pool settings before v26.4.0: gen's own words, byte for byte."""
    from tests.conftest import REPO

    guide = (REPO / "docs" / "user-guide.md").read_text()
    shown = next(line for line in guide.splitlines() if line.startswith("gen: error: ") and "pools[1]" in line)
    exc = error(TWO, version="v25.10.0")
    assert shown == f"gen: error: {exc}"


def test_a_huge_pool_list_or_value_is_said_by_its_size_not_echoed() -> None:
    """5,000 pools, or a 50,000-character VM size: the message counts them against the limit and quotes at most a
    little of the value (a hostile spec's value never fills the terminal or a CI log)."""
    exc = error("pools:\n" + "".join(f"- name: p{i}\n" for i in range(5000)))
    assert exc.field == "pools" and "has 5000 items, more than 100" in exc.message
    assert len(str(exc)) < 1200 and "p4999" not in exc.message
    exc = error("pools:\n- name: a\n  vmSize: " + "S" * 50_000 + "\n")
    assert exc.field == "pools[0].vmSize" and "is 50000 characters, longer than 100 characters" in exc.message
    assert len(str(exc)) < 1200
    exc = error("pools:\n- name: [" + ", ".join(["x" * 40] * 200) + "]\n")
    assert exc.field == "pools[0].name" and "is not of type" in exc.message and len(str(exc)) < 1200


# text as JSON escapes it (control characters too), within the BMP: YAML reads those \\u escapes as JSON does
_TEXT = st.text(st.characters(max_codepoint=0xFFFF, blacklist_categories=("Cs",)), max_size=30)
_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT,
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
                     max_leaves=20)
_POOL_KEYS = st.sampled_from(["name", "vmSize", "nic", "devicePlugin", "driver", "tolerations", "taints", "node"])


@settings(max_examples=150, deadline=None)
@given(st.one_of(_JSON, st.lists(st.dictionaries(_POOL_KEYS, _JSON, max_size=5), max_size=4)))
def test_any_pools_value_parses_or_is_a_spec_error_naming_pools(value: object) -> None:
    """Whatever ``pools`` holds (any JSON type, any pool fields of any type): a Cluster, or a SpecError at a field
    under pools (a pool that is a driver not found for a platform, a vmSize: at its field), never another exception."""
    try:
        parse("pools: " + json.dumps(value) + "\n")
    except SpecError as exc:
        assert exc.field.startswith(("pools", "imageDigests", "ipoib.master", "vmSize")), exc
        assert exc.line is not None and len(str(exc)) < 4000, exc
