"""The opt-in PostSync ib_write_bw Job: only when enabled, only in the selected mode, strictly valid."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from generator.check.schema import check_schema
from generator.check.validators.kinds import Schemas
from generator.cluster.model import MODES, Cluster
from generator.render.cluster_bundle import render_bundle
from generator.render.data import TEMPLATES
from generator.render.verify import VERIFY_FILE, bandwidth_floor, verify_objects
from tests.helpers import make_cluster

ENABLED = "verify:\n  enabled: true\n"


def _container(objs: list[dict[str, Any]]) -> dict[str, Any]:
    job = next(o for o in objs if o["kind"] == "Job")
    return job["spec"]["template"]["spec"]["containers"][0]


def test_disabled_by_default(mode_specs: dict[str, Cluster]) -> None:
    for spec in mode_specs.values():
        assert not any(rel.endswith(VERIFY_FILE) for rel in render_bundle(spec).files)


@pytest.mark.parametrize("mode", MODES)
def test_enabled_only_in_the_selected_mode(mode: str, validators: dict[str, Schemas]) -> None:
    spec = make_cluster(f"v-{mode}", mode, extra=ENABLED)
    bundle = render_bundle(spec)
    assert [rel for rel in bundle.files if rel.endswith(VERIFY_FILE)] == [f"overlays/{mode}/{VERIFY_FILE}"]
    assert VERIFY_FILE in bundle.objects[f"overlays/{mode}/kustomization.yaml"][0]["resources"]
    validator = next(iter(validators.values()))
    for obj in bundle.objects[f"overlays/{mode}/{VERIFY_FILE}"]:
        assert check_schema(obj, validator) == []
        annotations = obj["metadata"]["annotations"]
        assert annotations["argocd.argoproj.io/hook"] == "PostSync"
        assert annotations["argocd.argoproj.io/hook-delete-policy"] == "BeforeHookCreation"
        assert obj["metadata"]["namespace"] == spec.namespace  # privileged PSA namespace, project destination


def test_job_shape() -> None:
    spec = make_cluster("v", "sriov", extra=ENABLED)
    service, job = verify_objects(spec)
    assert service["spec"]["clusterIP"] == "None"
    assert job["spec"]["completionMode"] == "Indexed" and job["spec"]["completions"] == 2
    assert job["spec"]["backoffLimit"] == 0
    pod = job["spec"]["template"]["spec"]
    assert pod["subdomain"] == service["metadata"]["name"]
    anti = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    assert anti["topologyKey"] == "kubernetes.io/hostname"
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms[0]["matchExpressions"][0]["key"] == "feature.node.kubernetes.io/pci-15b3.present"


@pytest.mark.parametrize(("mode", "resource"), [("sriov", "rdma/ib"), ("shared", "rdma/shared_ib"),
                                                ("ipoib", "rdma/shared_ib")])
def test_resources_and_capabilities(mode: str, resource: str) -> None:
    container = _container(verify_objects(make_cluster("v", mode, extra=ENABLED)))
    assert container["resources"]["limits"] == {resource: "1"}
    assert container["securityContext"] == {"capabilities": {"add": ["IPC_LOCK"]}}


def test_base_mode_is_privileged_and_ipoib_attaches_the_network() -> None:
    base = _container(verify_objects(make_cluster("v", "base", extra=ENABLED)))
    assert base["securityContext"] == {"privileged": True}
    job = verify_objects(make_cluster("v", "ipoib", extra=ENABLED))[1]
    annotations = job["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {"k8s.v1.cni.cncf.io/networks": "default/aks-infiniband"}


def test_floor_from_the_catalog_or_the_spec() -> None:
    spec = make_cluster("v", "sriov", extra=ENABLED)
    assert bandwidth_floor(spec) == spec.vm_size.bandwidth_floor_gbps == 160
    env = {e["name"]: e.get("value") for e in _container(verify_objects(spec))["env"]}
    assert env["FLOOR_GBPS"] == "160"
    custom = make_cluster("v", "sriov", extra=ENABLED + "  bandwidthFloorGbps: 100\n  image: registry.example/ib:1\n")
    assert bandwidth_floor(custom) == 100
    assert _container(verify_objects(custom))["image"] == "registry.example/ib:1"


def test_script_is_valid_bash_and_fails_below_the_floor(tmp_path: Any) -> None:
    script = TEMPLATES / "argocd-verify.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    # the floor comparison alone, with ib_write_bw output as perftest prints it
    output = (" #bytes     #iterations    BW peak[Gb/sec]    BW average[Gb/sec]   MsgRate[Mpps]\n"
              " 65536      2278000          0.00               150.12               0.286300\n")
    parse = "awk '$1 ~ /^[0-9]+$/ && NF >= 4 {v = $4} END {print v}'"
    assert parse in script.read_text()
    got = subprocess.run(["bash", "-c", parse], input=output, capture_output=True, text=True, check=True)
    assert got.stdout.strip() == "150.12"
