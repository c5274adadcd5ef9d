"""``networkOperator.values`` checked for meaning: each class refused at the value's line with why and the
alternative (or warned), for every release; what the chart's defaults already do passes."""

from __future__ import annotations

import pytest

from generator import catalog
from generator.cluster.parse import SpecError
from generator.pipeline.clusters import checked_cluster
from tests.conftest import spec_text

PEM = "|\n            -----BEGIN EC PRIVATE KEY-----\n            MHcCAQEEIB\n            -----END EC PRIVATE KEY-----"


def check(values: str, version: str = "v26.4.1", extra: str = "") -> list[str]:
    """The notes of the checked spec whose ``networkOperator.values`` are ``values`` (indented 4)."""
    text = spec_text(version=version, extra=extra).replace(
        f"  version: {version}\n", f"  version: {version}\n  values:\n" + values)
    return list(checked_cluster(text.encode(), "clusters/prod.yaml").notes)


def refused(values: str, version: str = "v26.4.1", extra: str = "") -> SpecError:
    with pytest.raises(SpecError) as caught:
        check(values, version, extra)
    return caught.value


@pytest.mark.parametrize(("values", "field", "words"), [
    # namespace
    ("    node-feature-discovery:\n      namespaceOverride: kube-system\n",
     "node-feature-discovery.namespaceOverride", "moves it to the namespace 'kube-system', out of the operator "
                                                 "namespace 'network-operator'"),
    # privilege
    ("    node-feature-discovery:\n      worker:\n        hostNetwork: true\n",
     "node-feature-discovery.worker.hostNetwork", "gives the workload the node's network"),
    ("    node-feature-discovery:\n      worker:\n        securityContext: {privileged: true}\n",
     "node-feature-discovery.worker.securityContext.privileged", "privileged: true makes the workload more "
                                                                 "privileged than the chart's default"),
    ("    node-feature-discovery:\n      worker:\n        securityContext: {runAsUser: 0}\n",
     "node-feature-discovery.worker.securityContext.runAsUser", "runs the workload as root"),
    ("    node-feature-discovery:\n      master:\n        podSecurityContext: {runAsUser: 0}\n",
     "node-feature-discovery.master.podSecurityContext.runAsUser", "runs the workload as root"),
    ("    node-feature-discovery:\n      worker:\n        securityContext: {capabilities: {add: [SYS_ADMIN]}}\n",
     "node-feature-discovery.worker.securityContext.capabilities.add", "adds the capabilities SYS_ADMIN"),
    ("    node-feature-discovery:\n      worker:\n        securityContext: {capabilities: {drop: []}}\n",
     "node-feature-discovery.worker.securityContext.capabilities.drop", "no longer drops ALL"),
    ("    node-feature-discovery:\n      worker:\n        securityContext: {allowPrivilegeEscalation: true}\n",
     "node-feature-discovery.worker.securityContext.allowPrivilegeEscalation", "more privileged"),
    ("    node-feature-discovery:\n      gc:\n        initContainers:\n"
     "        - {name: x, image: nvcr.io/nvidia/mellanox/x:1, securityContext: {privileged: true}}\n",
     "node-feature-discovery.gc.initContainers[0].securityContext.privileged", "more privileged"),
    # image source
    ("    operator:\n      repository: quay.io/someone\n", "operator.repository",
     "'quay.io/someone/network-operator:v26.4.1' is from neither a repository network-operator v26.4.1 publishes "
     "its images in (ghcr.io/k8snetworkplumbingwg, nvcr.io/nvidia/cloud-native, nvcr.io/nvidia/doca, "
     "nvcr.io/nvidia/mellanox)"),
    ("    operator:\n      ofedDriver:\n        initContainer: {repository: docker.io/x}\n",
     "operator.ofedDriver.initContainer.repository", "'docker.io/x/network-operator-init-container:"),
    ("    node-feature-discovery:\n      image: {repository: docker.io/x/nfd}\n",
     "node-feature-discovery.image.repository", "'docker.io/x/nfd:network-operator-v26.4.1' is from neither"),
    ("    operator:\n      repository: nvcr.io/nvstaging/mellanox\n", "operator.repository",
     "is from the staging registry, which nodes cannot pull from"),
    ("    node-feature-discovery:\n      worker:\n        initContainers: [{name: x, image: 'docker.io/x:1'}]\n",
     "node-feature-discovery.worker.initContainers[0].image", "'docker.io/x:1' is from neither"),
    # re-enabled
    ("    nfd:\n      deployNodeFeatureRules: true\n", "nfd.deployNodeFeatureRules",
     "turns back on the chart's own NodeFeatureRule"),
    ("    upgradeCRDs: true\n", "upgradeCRDs", "turns back on the chart's pre-install/pre-upgrade Job"),
    # truthiness
    ("    nfd:\n      enabled: 'false'\n", "nfd.enabled", "is the string 'false', where the chart takes true or "
                                                          "false"),
    ("    node-feature-discovery:\n      gc:\n        enable: 'no'\n", "node-feature-discovery.gc.enable",
     "write false without quotes"),
    ("    operator:\n      admissionController:\n        enabled: 1\n", "operator.admissionController.enabled",
     "is 1, where the chart takes true or false"),
    # secrets
    (f"    operator:\n      admissionController:\n        certificate:\n          tlsKey: {PEM}\n",
     "operator.admissionController.certificate.tlsKey", "holds a private key; secrets are never written to "
                                                        "committed output"),
    ("    operator:\n      admissionController:\n        certificate: {tlsKey: not-pem-but-still-a-key}\n",
     "operator.admissionController.certificate.tlsKey", "holds a private key"),
    (f"    node-feature-discovery:\n      worker:\n        extraEnvs:\n        - name: CERT\n          value: {PEM}\n",
     "node-feature-discovery.worker.extraEnvs[0].value", "holds a private key"),
    ("    node-feature-discovery:\n      master:\n        extraEnvs: [{name: REGISTRY_PASSWORD, value: hunter2}]\n",
     "node-feature-discovery.master.extraEnvs[0].value", "'REGISTRY_PASSWORD' looks like a secret and has a "
                                                         "literal value"),
])
def test_values_that_mean_something_refused_name_the_field(values: str, field: str, words: str) -> None:
    error = refused(values)
    assert error.field == f"networkOperator.values.{field}", str(error)
    assert words in error.message, error.message
    assert error.line and error.line >= 7
    assert "hunter2" not in str(error) and "MHcCAQEEIB" not in str(error)  # a secret is never echoed


@pytest.mark.parametrize("tag", catalog.load().release_tags)
def test_each_release_refuses_a_namespace_move_and_a_foreign_image(tag: str) -> None:
    assert refused("    node-feature-discovery:\n      namespaceOverride: kube-system\n", tag).field.endswith(
        "namespaceOverride")
    assert refused("    operator:\n      repository: quay.io/someone\n", tag).field.endswith("operator.repository")


@pytest.mark.parametrize("values", [
    "    operator:\n      repository: nvcr.io/nvidia/cloud-native\n      tag: v26.4.1\n",
    "    node-feature-discovery:\n      namespaceOverride: network-operator\n",
    "    node-feature-discovery:\n      worker:\n        securityContext: {runAsUser: 1000, privileged: false}\n",
    "    node-feature-discovery:\n      worker:\n        hostNetwork: false\n",
    "    nfd:\n      enabled: false\n      deployNodeFeatureRules: false\n    upgradeCRDs: false\n",
    "    node-feature-discovery:\n      worker:\n        extraEnvs: [{name: TOKEN_FILE, valueFrom: {secretKeyRef: "
    "{name: s, key: k}}}, {name: LOG_LEVEL, value: debug}]\n",
    "    operator:\n      admissionController:\n        certificate: {tlsKey: ''}\n",
])
def test_what_the_defaults_allow_passes(values: str) -> None:
    assert not [n for n in check(values) if "networkOperator.values" in n]


def test_images_through_a_mirror_pass_and_a_repository_under_a_mirror_too() -> None:
    mirror = "imageRegistry:\n  nvcr.io/nvidia: myacr.azurecr.io/nvidia\n"
    assert check("    operator:\n      repository: myacr.azurecr.io/nvidia/cloud-native\n", extra=mirror) == []
    assert refused("    operator:\n      repository: myacr.azurecr.io/other\n").field.endswith("operator.repository")


def test_less_hardened_but_not_more_privileged_is_a_warning() -> None:
    notes = check("    node-feature-discovery:\n      worker:\n        securityContext:\n"
                  "          readOnlyRootFilesystem: false\n          runAsNonRoot: false\n")
    assert [n.split(": field ")[1].split("'")[1] for n in notes] == [
        "networkOperator.values.node-feature-discovery.worker.securityContext.readOnlyRootFilesystem",
        "networkOperator.values.node-feature-discovery.worker.securityContext.runAsNonRoot"]
    assert all("less hardened than the chart's default" in n for n in notes)
