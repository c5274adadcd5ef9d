"""The render policy: every release's real default render (../shared, with the chart's CRDs) passes; each way a
chart can render more than its defaults (privileges, placement, cluster-scoped RBAC, images) is one error naming
the object and the field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from generator import catalog
from generator.catalog.charts import chart_facts
from generator.check.chart_policy import check_chart_policy
from generator.cluster.model import Images
from generator.core.finding import Finding
from generator.yamlio.load import load_documents
from tests.conftest import UPSTREAM

NO_IMAGES = Images((), ())
WORKER = ("DaemonSet", "network-operator-node-feature-discovery-worker")


def default_render(tag: str, namespace: str = "network-operator") -> list[dict[str, Any]]:
    """The release's default render with its CRDs (what ``helm template --include-crds`` gives), moved to
    ``namespace`` as helm would render it there."""
    release = UPSTREAM / "network-operator" / tag
    files = [release / "chart-rendered.yaml", *sorted((release / "crds").glob("*.yaml"))]
    objects = [d.value for f in files for d in load_documents(f.read_bytes(), str(f)) if isinstance(d.value, dict)]
    if namespace != "network-operator":
        objects = [_moved(o, namespace) for o in objects]
    return objects


def _moved(obj: Any, namespace: str) -> Any:
    if isinstance(obj, dict):
        return {k: (namespace if k == "namespace" and v == "network-operator" else
                    f"system:serviceaccounts:{namespace}" if v == "system:serviceaccounts:network-operator" else
                    _moved(v, namespace)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_moved(v, namespace) for v in obj]
    return obj


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if (o["kind"], o["metadata"]["name"]) == (kind, name))


def policy(objects: list[dict[str, Any]], tag: str = "v26.4.1", values: dict[str, Any] | None = None,
           namespace: str = "network-operator", images: Images = NO_IMAGES) -> list[Finding]:
    return check_chart_policy(objects, chart_facts(tag), values or {}, namespace, images)


def shown(found: list[Finding]) -> list[tuple[str, str, str]]:
    return [(f.rule, f.dotted_path, f.message) for f in found]


@pytest.mark.parametrize("tag", catalog.load().release_tags)
@pytest.mark.parametrize("namespace", ["network-operator", "nvidia-network"])
def test_every_releases_default_render_passes(tag: str, namespace: str) -> None:
    objects = default_render(tag, namespace)
    assert any(o["kind"] == "CustomResourceDefinition" for o in objects)
    assert policy(objects, tag, namespace=namespace) == []


def test_a_default_render_in_another_namespace_is_placed_wrong_when_not_moved() -> None:
    found = policy(default_render("v26.4.1"), namespace="nvidia-network")
    assert {f.rule for f in found} == {"chart-namespace", "chart-rbac"}
    assert any("in namespace 'network-operator', outside the operator namespace 'nvidia-network'" in f.message
               for f in found)
    assert any("binds Group 'system:serviceaccounts:network-operator'" in f.message for f in found)


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = obj["spec"]["template"]["spec"]
    return spec


@pytest.mark.parametrize(("mutate", "path", "words"), [
    (lambda s: s.update(hostNetwork=True), "spec.template.spec.hostNetwork", "uses the node's network"),
    (lambda s: s.update(hostPID=True), "spec.template.spec.hostPID", "joins the node's PID namespace"),
    (lambda s: s.update(hostIPC=True), "spec.template.spec.hostIPC", "joins the node's IPC namespace"),
    (lambda s: s["volumes"].append({"name": "root", "hostPath": {"path": "/"}}), "spec.template.spec.volumes[8]"
     ".hostPath.path", "mounts the node's / (hostPath)"),
    (lambda s: s["containers"][0]["securityContext"].update(privileged=True),
     "spec.template.spec.containers[0].securityContext.privileged", "runs a privileged container"),
    (lambda s: s["containers"][0]["securityContext"]["capabilities"].update(add=["CAP_SYS_ADMIN"]),
     "spec.template.spec.containers[0].securityContext.capabilities.add[0]", "adds the capability SYS_ADMIN"),
    (lambda s: s["containers"][0]["securityContext"].update(runAsUser=0, runAsNonRoot=False),
     "spec.template.spec.containers[0].securityContext.runAsUser", "runs as root"),
    (lambda s: s.update(securityContext={"runAsUser": 0}), "spec.template.spec.containers[0]", "runs as root"),
])
def test_a_workload_more_privileged_than_its_default_is_an_error(mutate: Any, path: str, words: str) -> None:
    objects = default_render("v26.4.1")
    mutate(_pod_spec(find(objects, *WORKER)))
    [finding] = policy(objects)
    assert (finding.rule, finding.dotted_path) == ("chart-privilege", path)
    assert finding.message.startswith(f"{WORKER[0]}/{WORKER[1]}: {words}")
    assert "which the release's chart 26.4.1 does not do by default" in finding.message


def test_the_hostpaths_a_default_workload_mounts_stay_allowed_to_it_only() -> None:
    objects = default_render("v26.4.1")
    operator = find(objects, "Deployment", "network-operator")
    _pod_spec(operator).setdefault("volumes", []).append({"name": "sys", "hostPath": {"path": "/sys/"}})
    assert [f.message.split(":")[0] for f in policy(objects)] == ["Deployment/network-operator"]


EVIL_POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x", "namespace": "network-operator"},
            "spec": {"hostPID": True, "hostNetwork": True,
                     "containers": [{"name": "x", "image": "evil.example.com/x:1",
                                     "securityContext": {"privileged": True},
                                     "volumeMounts": [{"name": "root", "mountPath": "/host"}]}],
                     "volumes": [{"name": "root", "hostPath": {"path": "/"}}]}}


def test_a_new_privileged_pod_from_an_unknown_registry_is_named_for_every_class() -> None:
    objects = [*default_render("v26.4.1"), copy.deepcopy(EVIL_POD)]
    found = shown(policy(objects))
    assert sorted((rule, path) for rule, path, _ in found) == [
        ("chart-image-source", "spec.containers[0].image"), ("chart-privilege", "spec.containers[0].securityContext"
                                                                               ".privileged"),
        ("chart-privilege", "spec.hostNetwork"), ("chart-privilege", "spec.hostPID"),
        ("chart-privilege", "spec.volumes[0].hostPath.path")]
    assert "Pod/x: 'evil.example.com/x:1' is from neither a repository network-operator v26.4.1 publishes its " \
           "images in (ghcr.io/k8snetworkplumbingwg, nvcr.io/nvidia/cloud-native, nvcr.io/nvidia/doca, " \
           "nvcr.io/nvidia/mellanox)" in found[-1][2]


@pytest.mark.parametrize(("extra", "rule", "path", "words"), [
    ({**EVIL_POD, "metadata": {"name": "x", "namespace": "kube-system"}, "spec": {"containers": []}},
     "chart-namespace", "metadata.namespace", "Pod/x: in namespace 'kube-system', outside the operator namespace"),
    ({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
      "metadata": {"name": "inject"}}, "chart-namespace", "metadata.name",
     "a cluster-scoped object the release's chart 26.4.1 does not render"),
    ({"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"}}, "chart-namespace", "kind",
     "example.com/Thing is a kind the release's chart 26.4.1 does not render"),
    ({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "own"},
      "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"},
      "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "network-operator"}]},
     "chart-rbac", "metadata.name", "ClusterRoleBinding/own: cluster-scoped RBAC the release's chart"),
    ({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "all"},
      "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]},
     "chart-rbac", "metadata.name", "ClusterRole/all: cluster-scoped RBAC"),
])
def test_objects_the_chart_does_not_render_are_errors(extra: dict[str, Any], rule: str, path: str,
                                                      words: str) -> None:
    found = shown(policy([*default_render("v26.4.1"), extra]))
    assert [(r, p) for r, p, _ in found] == [(rule, path)], found
    assert words in found[0][2]


def test_a_widened_role_or_a_rebound_binding_is_an_error() -> None:
    objects = default_render("v26.4.1")
    find(objects, "ClusterRole", "network-operator")["rules"].append(
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "escalate"]})
    find(objects, "ClusterRole", "network-operator-node-feature-discovery")["rules"][0]["verbs"] = ["*"]
    binding = find(objects, "ClusterRoleBinding", "network-operator-node-feature-discovery")
    binding["roleRef"]["name"] = "cluster-admin"
    binding["subjects"].append({"kind": "ServiceAccount", "name": "default", "namespace": "default"})
    find(objects, "ClusterRole", "network-operator-hooks-role")["aggregationRule"] = {"clusterRoleSelectors": []}
    found = {(r, p): m for r, p, m in shown(policy(objects))}
    last = len(find(objects, "ClusterRole", "network-operator")["rules"]) - 1
    assert sorted(found) == [("chart-rbac", "aggregationRule"), ("chart-rbac", "roleRef"), ("chart-rbac", "rules[0]"),
                             ("chart-rbac", f"rules[{last}]"), ("chart-rbac", "subjects[1]")], found
    messages = "\n".join(found.values())
    assert "ClusterRole/network-operator: grants escalate core/secrets, beyond what the release's chart" in messages
    assert "ClusterRole/network-operator-node-feature-discovery: grants * core/namespaces" in messages
    assert "binds ClusterRole 'cluster-admin'; the release's chart binds ClusterRole/network-operator-node-feature-" \
           "discovery" in messages


def test_objects_a_chart_value_turns_on_are_known_by_name() -> None:
    webhook = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
               "metadata": {"name": "network-operator-validating-webhook-configuration"}}
    objects = [*default_render("v26.4.1"), webhook]
    assert [f.rule for f in policy(objects)] == ["chart-namespace"]
    assert policy(objects, values={"operator": {"admissionController": {"enabled": True}}}) == []


def test_a_crd_converting_through_a_webhook_is_an_error() -> None:
    objects = default_render("v26.4.1")
    crd = next(o for o in objects if o["kind"] == "CustomResourceDefinition")
    crd["spec"]["conversion"] = {"strategy": "Webhook", "webhook": {"clientConfig": {"url": "https://evil"}}}
    assert [(f.rule, f.dotted_path) for f in policy(objects)] == [("chart-namespace", "spec.conversion.strategy")]


def test_images_from_a_mirror_pass_and_staging_is_left_to_image_published() -> None:
    objects = default_render("v26.4.1")
    operator = find(objects, "Deployment", "network-operator")
    container = _pod_spec(operator)["containers"][0]
    container["image"] = "myacr.azurecr.io/nvidia/cloud-native/network-operator:v26.4.1"
    assert [f.rule for f in policy(objects)] == ["chart-image-source"]
    mirrors = Images((("nvcr.io/nvidia", "myacr.azurecr.io/nvidia"),), ())
    assert policy(objects, images=mirrors) == []
    container["image"] = "nvcr.io/nvstaging/mellanox/network-operator:v26.4.1"
    assert policy(objects) == []
    container["env"] = [{"name": "OFED_INIT_CONTAINER_IMAGE", "value": "quay.io/x/init:1"}]
    [finding] = policy(objects)
    assert finding.dotted_path == "spec.template.spec.containers[0].env[0].value"


def test_the_facts_hold_what_the_default_render_may_do() -> None:
    """An outside truth: the facts were derived from ../shared; the worker mounts what NFD reads, nothing runs
    privileged, and only the operator's role reaches RBAC."""
    facts = chart_facts("v25.4.0").privileges
    assert facts.workloads == {"DaemonSet/network-operator-node-feature-discovery-worker": frozenset(
        {"hostPath:/boot", "hostPath:/etc/kubernetes/node-feature-discovery/features.d", "hostPath:/etc/os-release",
         "hostPath:/lib", "hostPath:/proc/swaps", "hostPath:/sys", "hostPath:/usr/lib"})}
    assert facts.cluster_role_bindings["network-operator"] == (
        "ClusterRole/network-operator", ("Group//system:serviceaccounts:network-operator",))
    assert Path(UPSTREAM / "network-operator" / "v25.4.0" / "chart-rendered.yaml").is_file()
