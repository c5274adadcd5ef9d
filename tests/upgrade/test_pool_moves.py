"""Moving a cluster from one NicClusterPolicy to a NicNodePolicy per pool without a driver outage: the order, replayed
apply by apply through gen's webhook rules against the policies stored before each; gen upgrade across v26.4.0
(each pool keeps its driver), one pool moved at a time (--pool), gen plan's move from what output/ holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from generator.check.engine import checker_for
from generator.check.nodepolicy import check_node_policies
from generator.cluster.model import Cluster
from generator.core.objects import get_in, group_kind, name_of
from generator.pipeline.clusters import checked_cluster
from generator.programs.overlays import build_overlays
from generator.render.cluster_bundle import render_bundle
from generator.sources.schema_store import SchemaStore, open_store
from generator.upgrade.pool_moves import SECTIONS, move_to_pools, replay
from tests.conftest import UPSTREAM, spec_text, write_spec
from tests.helpers import run_gen

WEBHOOK_ON = ("networkOperator:\n  version: v26.4.1\n  values:\n    operator:\n      admissionController:\n"
              "        enabled: true\n")
POOLS = ("pools:\n- name: a100\n  devicePlugin: sriov\n"
         "- name: h100\n  vmSize: Standard_ND96isr_H100_v5\n  devicePlugin: shared\n"
         "  taints: [{key: sku, value: gpu, effect: NoSchedule}]\n"
         "  tolerations: [{key: sku, operator: Equal, value: gpu, effect: NoSchedule}]\n")
NCP, NNP = ("mellanox.com", "NicClusterPolicy"), ("mellanox.com", "NicNodePolicy")


@pytest.fixture(scope="module")
def store() -> SchemaStore:
    return open_store(UPSTREAM)


def spec(extra: str = "", webhook: bool = True) -> Cluster:
    text = spec_text(version="v26.4.1", extra=extra)
    if webhook:
        text = text.replace("networkOperator:\n  version: v26.4.1\n", WEBHOOK_ON)
    return checked_cluster(text.encode(), "clusters/prod.yaml", expected_name="prod")


def built(tmp: Path, cluster: Cluster) -> list[Any]:
    """What Argo CD applies for the cluster's mode: its overlay, built with the real kustomize."""
    (tmp / "clusters").mkdir(parents=True, exist_ok=True)
    bundle = render_bundle(cluster)
    build = build_overlays(tmp, [bundle])[(cluster.name, cluster.mode)]
    assert not build.error, build.error
    return build.objects


def webhook_refusals(obj: dict[str, Any], stored: dict[str, dict[str, Any]], store: SchemaStore) -> list[str]:
    """The webhook of v26.4.1 on one apply, as gen's rules make it: the object's own rules, then the section and node
    rules against the stored policies (ValidateCreate / ValidateUpdate of nicpolicy_webhook.go)."""
    webhook = checker_for("v26.4.1", store=store).webhook
    found = webhook.check(obj, 0)
    cluster_policies = [o for o in stored.values() if group_kind(o) == NCP]
    node_policies = [o for o in stored.values() if group_kind(o) == NNP and name_of(o) != name_of(obj)]
    if group_kind(obj) == NNP:
        found += check_node_policies([(0, obj)], webhook.facts, cluster_policies, [*node_policies, obj])
    elif node_policies:
        found += [f for f in check_node_policies(list(enumerate(node_policies)), webhook.facts, [obj],
                                                 node_policies) if f.rule == "webhook-section-conflict"]
    return [f"{f.rule}: {f.message}" for f in found if f.severity == "error" or f.rule == "webhook-section-conflict"]


def stored_after(before: list[Any], applies: list[dict[str, Any]], store: SchemaStore
                 ) -> tuple[list[tuple[str, list[str]]], dict[str, dict[str, Any]]]:
    """Each apply replayed in order: (what, its refusals), and the policies stored at the end."""
    stored = {f"{o['kind']}/{name_of(o)}": o for o in before if group_kind(o) in (NCP, NNP)}
    verdicts = []
    for obj in applies:
        refused = webhook_refusals(obj, stored, store)
        verdicts.append((f"{obj['kind']}/{name_of(obj)}", refused))
        if not refused:
            stored[f"{obj['kind']}/{name_of(obj)}"] = obj
    return verdicts, stored


def test_the_move_to_two_pools_is_accepted_by_the_webhook_at_every_step(tmp_path: Path, store: SchemaStore) -> None:
    before = built(tmp_path / "old", spec())  # one NicClusterPolicy: the driver and the SR-IOV plugin
    after = built(tmp_path / "new", spec(POOLS))
    move = move_to_pools(before, after)
    assert move is not None
    assert [f"{a.action} {a.label}" for a in move.applies] == [
        "update NicClusterPolicy nic-cluster-policy", "create NicNodePolicy rdma-a100",
        "create NicNodePolicy rdma-h100"]
    assert move.sections == ("ofedDriver", "sriovDevicePlugin") and move.reloads == ()
    verdicts, stored = stored_after(before, [a.obj for a in move.applies], store)
    assert verdicts == [("NicClusterPolicy/nic-cluster-policy", []), ("NicNodePolicy/rdma-a100", []),
                        ("NicNodePolicy/rdma-h100", [])]
    # at every step each section is in one kind of policy only, and the end is what gen wrote
    assert stored == {f"{o['kind']}/{name_of(o)}": o for o in after if group_kind(o) in (NCP, NNP)}
    assert not any(get_in(stored["NicClusterPolicy/nic-cluster-policy"], ("spec", s)) for s in SECTIONS)
    # gen's own replay agrees
    assert replay(before, move.applies, checker_for("v26.4.1", store=store).webhook) == []


def test_the_other_order_is_refused(tmp_path: Path, store: SchemaStore) -> None:
    """The same applies with the NicNodePolicies first: the webhook refuses each while the NicClusterPolicy still has
    the driver (so the test above can fail)."""
    before = built(tmp_path / "old", spec())
    move = move_to_pools(before, built(tmp_path / "new", spec(POOLS)))
    assert move is not None
    reordered = [a.obj for a in move.applies[1:]] + [move.applies[0].obj]
    verdicts, _ = stored_after(before, reordered, store)
    refused = dict(verdicts)
    assert any("webhook-section-conflict" in r and "ofedDriver" in r for r in refused["NicNodePolicy/rdma-a100"])
    assert any("sriovDevicePlugin" in r for r in refused["NicNodePolicy/rdma-a100"])
    assert any("ofedDriver" in r for r in refused["NicNodePolicy/rdma-h100"])
    assert len(replay(before, [*move.applies[1:], move.applies[0]],
                      checker_for("v26.4.1", store=store).webhook)) == 2


def test_a_pool_on_another_driver_would_reload_undrained(tmp_path: Path) -> None:
    canary = POOLS.replace("  devicePlugin: sriov\n", "  devicePlugin: sriov\n  driver:\n"
                                                      "    version: doca3.5.0-26.07-0.5.0.0-0\n")
    move = move_to_pools(built(tmp_path / "old", spec()), built(tmp_path / "new", spec(canary)))
    assert move is not None and move.reloads == ("rdma-a100",)
    [a100] = [a for a in move.applies if name_of(a.obj) == "rdma-a100"]
    assert any("without a drain" in e for e in a100.effects)


def test_no_move_without_a_single_policy_before(tmp_path: Path) -> None:
    pools = built(tmp_path / "new", spec(POOLS))
    assert move_to_pools(pools, pools) is None
    assert move_to_pools(built(tmp_path / "old", spec()), built(tmp_path / "old2", spec())) is None


# -- gen upgrade and gen plan, as a user runs them ----------------------------------------------------------------

SHARED_POOLS = POOLS.replace("  devicePlugin: sriov\n", "").replace("  devicePlugin: shared\n", "")


@pytest.fixture
def pools_repo(gitops_repo: Path) -> Path:
    """A v26.1.2 cluster whose pools share the NicClusterPolicy (they differ in VM size, taints and tolerations)."""
    write_spec(gitops_repo, version="v26.1.2", extra='kubernetes:\n  version: "1.34"\n' + SHARED_POOLS)
    run_gen("bundle", "--cluster", "prod", repo=gitops_repo, check=True)
    return gitops_repo


def test_upgrade_across_v26_4_0_keeps_each_pools_driver(pools_repo: Path) -> None:
    proc = run_gen("upgrade", "--cluster", "prod", "--to", "v26.4.1", repo=pools_repo)
    assert proc.code == 0, proc.out + proc.err
    plan = proc.out
    assert "pools[0].driver.version: (not set) -> doca3.3.0-26.01-1.0.0.0-0" in plan
    assert "applied: each pool keeps the DOCA driver it runs" in plan
    assert "check: the pools move from the NicClusterPolicy to a NicNodePolicy each" in plan
    assert "accepts each apply in this order" in plan and "no node reloads the driver" in plan
    order = plan[plan.index("Order that avoids an outage:"):]
    assert order.index("update NicClusterPolicy") < order.index("create NicNodePolicy rdma-a100") < \
        order.index("create NicNodePolicy rdma-h100")
    text = (pools_repo / "clusters/prod.yaml").read_text()
    assert text.count("version: doca3.3.0-26.01-1.0.0.0-0") == 2
    policies = (pools_repo / "output/prod/base/nicnodepolicies.yaml").read_text()
    assert policies.count("version: doca3.3.0-26.01-1.0.0.0-0") == 2
    assert "ofedDriver" not in (pools_repo / "output/prod/base/nicclusterpolicy.yaml").read_text()

    # then one pool at a time: the canary moves, the other stays
    proc = run_gen("upgrade", "--cluster", "prod", "--pool", "a100", repo=pools_repo)
    assert proc.code == 0, proc.out + proc.err
    assert "pool a100 (Standard_ND96asr_v4) moves its DOCA driver doca3.3.0-26.01-1.0.0.0-0" in proc.out
    assert "untouched: h100" in proc.out and "NicNodePolicy rdma-a100 ofedDriver: image" in proc.out
    assert "NicNodePolicy rdma-h100" not in proc.out.split("Nodes and pods", 1)[1].split("Argo CD sync", 1)[0]
    after = (pools_repo / "clusters/prod.yaml").read_text()
    assert after.count("version: doca3.3.0-26.01-1.0.0.0-0") == 1  # h100 keeps its pin; a100 follows the release
    again = run_gen("upgrade", "--cluster", "prod", "--pool", "a100", repo=pools_repo)
    assert again.code == 0 and "nothing to do" in again.out


@pytest.mark.parametrize(("args", "words"), [
    (("--pool", "a100"), "NicNodePolicy came with v26.4.0"),
    (("--pool", "a100", "--to", "v26.4.1"), "not both"),
    (("--driver", "doca3.4.1-26.04-1.1.0.0-1"), "--driver goes with --pool"),
    ((), "give --to TAG"),
    (("--pool", "a100", "--gpu-to", "v26.7.0"), "--gpu-to moves the GPU Operator alone"),
    (("--to", "v26.4.1", "--gpu-to", "v26.7.0"), "--gpu-to moves the GPU Operator alone"),
])
def test_upgrade_refuses_what_it_cannot_do(pools_repo: Path, args: tuple[str, ...], words: str) -> None:
    before = (pools_repo / "clusters/prod.yaml").read_bytes()
    proc = run_gen("upgrade", "--cluster", "prod", *args, repo=pools_repo)
    assert proc.code == 2 and words in proc.err, proc.err
    assert (pools_repo / "clusters/prod.yaml").read_bytes() == before


def test_upgrade_of_an_unknown_pool_names_the_pools(gitops_repo: Path) -> None:
    write_spec(gitops_repo, version="v26.4.1", extra=POOLS)
    proc = run_gen("upgrade", "--cluster", "prod", "--pool", "b200", repo=gitops_repo)
    assert proc.code == 2 and "its pools: a100, h100" in proc.err


def test_gen_plan_shows_the_move_from_what_output_holds(gitops_repo: Path) -> None:
    write_spec(gitops_repo, version="v26.4.1")
    run_gen("bundle", "--cluster", "prod", repo=gitops_repo, check=True)
    write_spec(gitops_repo, version="v26.4.1", extra=POOLS)  # the spec gets its pools; output/ not yet written
    proc = run_gen("plan", "--cluster", "prod", repo=gitops_repo)
    assert proc.code == 0, proc.err
    assert "Moving to NicNodePolicies: 3 applies" in proc.out
    assert "Nodes that reload the DOCA driver: none" in proc.out
    assert "accepts every apply in this order" in proc.out
    run_gen("bundle", "--cluster", "prod", repo=gitops_repo, check=True)
    assert "Moving to NicNodePolicies" not in run_gen("plan", "--cluster", "prod", repo=gitops_repo).out


def test_upgrade_of_a_flux_cluster_shows_the_flux_chain(gitops_repo: Path) -> None:
    """gitops: flux: the step's sync is Flux's Kustomization chain (pools after the policy), not Argo CD's waves."""
    path = write_spec(gitops_repo, version="v26.1.2", extra='kubernetes:\n  version: "1.34"\n' + SHARED_POOLS)
    text = path.read_text()
    argo = text[text.index("argocd:\n"):text.index("\n", text.index("targetRevision:")) + 1]
    path.write_text(text.replace(argo, "gitops: flux\nflux:\n  repoURL: https://github.com/example/aks-gitops.git\n"))
    run_gen("bundle", "--cluster", "prod", repo=gitops_repo, check=True)
    proc = run_gen("upgrade", "--cluster", "prod", "--to", "v26.4.1", "--dry-run", repo=gitops_repo)
    assert proc.code == 0, proc.out + proc.err
    assert "Argo CD sync (phase wave" not in proc.out and "PreSync" not in proc.out
    flux = proc.out[proc.out.index("Flux (the Kustomizations in order"):]
    assert flux.index("rdma-operator") < flux.index("rdma-policy") < flux.index("rdma-pools")
    assert "NicNodePolicy          rdma-a100" in flux
