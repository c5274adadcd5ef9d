"""What a spec's pools teach the checks: the generated policies strict-valid and accepted by every webhook rule; a
hand-written NicNodePolicy that selects no pool, a pool no NicNodePolicy covers, a pod pinned to a pool that asks for
another pool's resource or more devices than its nodes have; a pool's taints held against what runs on its nodes."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from generator.check.engine import Item, checker_for
from generator.check.pools import check_pool_taints, pinned, selects
from generator.cluster.model import Cluster
from generator.pipeline.clusters import checked_cluster
from generator.render import bundle_objects as objects
from generator.render import flux
from generator.sources.schema_store import SchemaStore
from tests.conftest import spec_text, write_spec
from tests.helpers import make_cluster, run_gen

POOLS = ("pools:\n- name: a100\n  devicePlugin: sriov\n"
         "- name: h100\n  vmSize: Standard_ND96isr_H100_v5\n  devicePlugin: shared\n"
         "  taints: [{key: sku, value: gpu, effect: NoSchedule}]\n"
         "  tolerations: [{key: sku, operator: Equal, value: gpu, effect: NoSchedule}]\n")
WEBHOOK_ON = "networkOperator:\n  version: v26.4.1\n  values:\n    operator:\n      admissionController:\n" \
             "        enabled: true\n"


def pool_cluster(webhook: bool = True, extra: str = "") -> Cluster:
    """The pools at v26.4.1; ``webhook``: with the operator's admission webhook on (every webhook rule applies, and
    the SR-IOV prefix is one it takes)."""
    text = spec_text(version="v26.4.1", extra=extra + POOLS)
    if webhook:
        text = text.replace("networkOperator:\n  version: v26.4.1\n", WEBHOOK_ON)
    return checked_cluster(text.encode(), "clusters/prod.yaml", expected_name="prod")


def findings(objs: list[Any], store: SchemaStore, c: Cluster | None = None) -> list[Any]:
    checker = checker_for("v26.4.1", store=store)
    items = [Item(obj, "policies.yaml") for obj in objs]
    everything = list(range(len(items)))
    return checker.findings(items, [(everything, everything)], pools=c.pools if c else ())


def test_the_generated_policies_are_strict_valid_and_accepted_by_every_webhook_rule(store: SchemaStore) -> None:
    c = pool_cluster()
    objs = [objects.namespace(c), objects.node_feature_rule(c), flux.mode_policy(c), *objects.nic_node_policies(c),
            *objects.example_pods(c)]
    assert [o["kind"] for o in objs].count("NicNodePolicy") == 2
    assert findings(objs, store, c) == []


def test_the_rules_catch_what_they_say(store: SchemaStore) -> None:
    """The same objects, broken one way each: the checks that pass above can fail."""
    c = pool_cluster()
    ncp, a100, h100 = flux.mode_policy(c), *objects.nic_node_policies(c)
    both = copy.deepcopy(ncp)
    both["spec"]["ofedDriver"] = a100["spec"]["ofedDriver"]  # a section in both kinds of policy
    assert {"webhook-section-conflict"} <= {f.rule for f in findings([both, a100, h100], store, c)}
    overlapping = copy.deepcopy(h100)
    overlapping["spec"]["nodeSelector"] = {"kubernetes.azure.com/agentpool": "a100"}
    assert "webhook-nnp-node-overlap" in {f.rule for f in findings([ncp, a100, overlapping], store, c)}


def test_a_node_policy_that_selects_no_pool_and_a_pool_no_policy_covers(store: SchemaStore) -> None:
    c = pool_cluster()
    ncp, a100, h100 = flux.mode_policy(c), *objects.nic_node_policies(c)
    stale = copy.deepcopy(h100)
    stale["spec"]["nodeSelector"] = {"kubernetes.azure.com/agentpool": "h200"}
    found = {(f.rule, f.severity): f.message for f in findings([ncp, a100, stale], store, c)}
    assert "h200" in found[("nicnodepolicy-no-pool", "warning")]
    assert "pool h100" in found[("pool-without-policy", "error")]
    # without the spec's pools nothing is known of them
    assert not {"nicnodepolicy-no-pool", "pool-without-policy"} & {f.rule for f in findings([ncp, a100, stale],
                                                                                              store)}


def test_a_pod_pinned_to_a_pool_gets_only_that_pools_resources(store: SchemaStore) -> None:
    c = pool_cluster()
    ncp, a100, h100 = flux.mode_policy(c), *objects.nic_node_policies(c)
    pods = {p["metadata"]["name"]: p for p in objects.example_pods(c)}
    wrong = copy.deepcopy(pods["ib-pod-h100"])
    wrong["spec"]["nodeSelector"] = {"kubernetes.azure.com/agentpool": "a100"}  # asks for rdma/shared_ib on a100
    found = [f for f in findings([ncp, a100, h100, wrong], store, c) if f.rule == "pool-resource"]
    assert len(found) == 1 and "pinned to pool a100" in found[0].message
    many = copy.deepcopy(pods["ib-pod-a100"])
    for part in ("requests", "limits"):
        many["spec"]["containers"][0]["resources"][part]["rdma/ib"] = 9
    assert "rdma-resource-over-nics" in {f.rule for f in findings([ncp, a100, h100, many], store, c)}


def test_selection_by_the_labels_gen_knows() -> None:
    [pool] = make_cluster(version="v26.4.1", extra="pools:\n- name: gpu\n").pools
    assert selects({"kubernetes.azure.com/agentpool": "gpu"}, pool) == "yes"
    assert selects({"node.kubernetes.io/instance-type": "Standard_ND96asr_v4"}, pool) == "yes"
    assert selects({"kubernetes.azure.com/agentpool": "gpu", "team": "a"}, pool) == "maybe"
    assert selects({"team": "a"}, pool) == "unknown"
    assert selects({"kubernetes.azure.com/agentpool": "cpu"}, pool) == "no"
    assert selects({}, pool) == "yes"
    assert pinned({"nodeSelector": {"kubernetes.azure.com/agentpool": "gpu"}}) == {"gpu"}
    affinity = {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.azure.com/agentpool", "operator": "In", "values": ["a", "b"]}]}]}}}}
    assert pinned(affinity) == {"a", "b"}
    assert pinned({}) is None


def test_each_pools_taints_against_what_runs_there() -> None:
    c = pool_cluster()
    ncp, a100, h100 = flux.mode_policy(c), *objects.nic_node_policies(c)
    pods = objects.example_pods(c)
    assert check_pool_taints(list(enumerate([ncp, a100, h100, *pods])), c.pools, c.spec_file) == []
    bare_h100 = copy.deepcopy(h100)
    del bare_h100["spec"]["tolerations"]
    bare_pod = copy.deepcopy(pods[1])
    del bare_pod["spec"]["tolerations"]
    bare_ncp = copy.deepcopy(ncp)
    del bare_ncp["spec"]["tolerations"]
    found = check_pool_taints(list(enumerate([bare_ncp, a100, bare_h100, pods[0], bare_pod])), c.pools,
                              c.spec_file)
    assert sorted(f.index for f in found) == [0, 2, 4]  # not the A100 pool's pod or policy: no taint there
    assert all("pool h100's taint sku=gpu:NoSchedule" in f.message and "pools[1].tolerations" in f.message
               for f in found)


def test_the_acceptance_cluster_bundles_and_checks_clean(gitops_repo: Path) -> None:
    """A v26.4.1 spec with an A100 pool (sriov) and a tainted H100 pool (shared): bundled, checked (every overlay
    built with the real kustomize, strict schemas, CEL, webhook and cross rules, the AppProject), gen check and gen
    lint of its output clean."""
    write_spec(gitops_repo, mode="sriov", version="v26.4.1", extra="verify:\n  enabled: true\n" + POOLS)
    result = run_gen("bundle", "--cluster", "prod", repo=gitops_repo)
    assert result.code == 0, result.err
    assert "error" not in result.err.replace("gen: note", "")
    out = gitops_repo / "output" / "prod"
    assert (out / "base" / "nicnodepolicies.yaml").is_file()
    assert run_gen("check", repo=gitops_repo).code == 0
    lint = run_gen("lint", str(out), repo=gitops_repo, cwd=gitops_repo)
    assert lint.code == 0 and "nothing found" in lint.out, lint.out


def test_gen_lint_with_a_cluster_spec_knows_its_pools(gitops_repo: Path) -> None:
    write_spec(gitops_repo, version="v26.4.1", extra=POOLS)
    (gitops_repo / "nnp.yaml").write_text(
        "apiVersion: mellanox.com/v1alpha1\nkind: NicNodePolicy\nmetadata:\n  name: gpu-b200\nspec:\n"
        "  nodeSelector:\n    kubernetes.azure.com/agentpool: b200\n")
    with_spec = run_gen("lint", "--cluster", "prod", "nnp.yaml", repo=gitops_repo, cwd=gitops_repo)
    assert "nicnodepolicy-no-pool" in with_spec.out and "a100 (Standard_ND96asr_v4)" in with_spec.out
    without = run_gen("lint", "nnp.yaml", repo=gitops_repo, cwd=gitops_repo)
    assert "nicnodepolicy-no-pool" not in without.out



def test_the_same_spec_at_v25_10_0_exits_2_naming_v26_4_0(gitops_repo: Path) -> None:
    write_spec(gitops_repo, mode="sriov", version="v25.10.0", extra=POOLS)
    result = run_gen("bundle", "--cluster", "prod", repo=gitops_repo)
    assert result.code == 2
    assert "field 'pools[1].devicePlugin'" in result.err and "v26.4.0" in result.err
    assert not (gitops_repo / "output").exists()  # nothing written
