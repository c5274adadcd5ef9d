"""The rule registry: every rule gen lint can report, with its id, default severity and one-line doc.

Webhook rules mirror Mellanox/network-operator ``api/v1alpha1/validator/nicpolicy_webhook.go``
(NicClusterPolicy and NicNodePolicy) and ``hostdevicenetwork_webhook.go`` as of main (commit 22d44381;
the release tags' copies are subsets of it); each doc names the Go function it follows.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.model import Severity


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    doc: str
    group: str  # yaml | schema | webhook | cross | ipam | lint


_WH = "network-operator webhook"
RULES: dict[str, Rule] = {r.id: r for r in (
    # input
    Rule("yaml-syntax", "error", "the file is not valid YAML 1.2 / UTF-8 (syntax error, tab indentation, "
         "unsupported tag, NUL bytes)", "yaml"),
    Rule("yaml-duplicate-key", "error", "a mapping repeats a key (the API server's strict decoding rejects it)",
         "yaml"),
    Rule("yaml-too-large", "error", "the file is larger than the 16 MiB limit or expands too far through aliases",
         "yaml"),
    Rule("not-an-object", "warning", "a document in a manifest file is not a Kubernetes object "
         "(no apiVersion/kind)", "yaml"),
    Rule("kustomize-build", "error", "`kustomize build` of a directory failed", "yaml"),
    Rule("lint-directive", "warning", "a `# gen-lint: disable=` comment names an unknown rule id", "lint"),
    # schema
    Rule("schema", "error", "the object violates the strict schema of its apiVersion/kind (CRD of the release, "
         "Argo CD CRD or Kubernetes core schema): unknown field, type, pattern, enum, required", "schema"),
    Rule("unknown-kind", "warning", "no schema for the apiVersion/kind in this release (an error with --strict)",
         "schema"),
    Rule("duplicate-object", "error", "two objects with the same group, kind, namespace and name in one file",
         "schema"),
    # the operator's admission webhook
    Rule("webhook-config-json", "error", f"{_WH}: a device-plugin `config` is not a JSON object "
         "(validateRdmaSharedDevicePlugin / validateSriovNetworkDevicePlugin)", "webhook"),
    Rule("webhook-config-schema", "error", f"{_WH}: a device-plugin `config` fails the release's "
         "webhook-schemas/*.json "
         "(top level, then each resourceList item by deviceType)", "webhook"),
    Rule("webhook-resource-name", "error", f"{_WH}: resourceName must match ^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$ "
         "(no '-' for the SR-IOV plugin; also HostDeviceNetwork.spec.resourceName)", "webhook"),
    Rule("webhook-resource-prefix", "error", f"{_WH}: resourcePrefix must be an FQDN "
         "(^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\\.[a-zA-Z]{2,})+$; isValidFQDN)", "webhook"),
    Rule("webhook-driver-version", "error", f"{_WH}: ofedDriver.version must be an OFED, DOCA or sha256 version "
         "(isValidOFEDVersion)", "webhook"),
    Rule("webhook-safe-load", "error", f"{_WH}: upgradePolicy.safeLoad requires upgradePolicy.autoUpgrade "
         "(validateSafeLoad)", "webhook"),
    Rule("webhook-image-repository", "error", f"{_WH}: an image repository (or spec.global.repository) must "
         "parse as "
         "a container image name (reference.ParseNormalizedNamed; validateRepositories)", "webhook"),
    Rule("webhook-container-resources", "error", f"{_WH}: containerResources may set only cpu and memory "
         "(validateResources)", "webhook"),
    Rule("webhook-resource-zero", "error", f"{_WH}: a containerResources cpu/memory request or limit is zero "
         "(validateResources)", "webhook"),
    Rule("webhook-request-above-limit", "error", f"{_WH}: a containerResources request is greater than its limit "
         "(validateResources)", "webhook"),
    Rule("webhook-pkey-guid", "error", f"{_WH}: ibKubernetes pKeyGUIDPoolRangeStart/End must be "
         "xx:xx:xx:xx:xx:xx:xx:xx "
         "and start < end (ibKubernetesSpecWrapper.validate)", "webhook"),
    Rule("webhook-telemetry-configmap", "error", f"{_WH}: docaTelemetryService.config.fromConfigMap must be a DNS-1123 "
         "subdomain (docaTelemetryServiceWrapper.validate)", "webhook"),
    Rule("webhook-nicnodepolicy-name", "error", f"{_WH}: a NicNodePolicy name is at most 30 characters "
         "(validateNicNodePolicy)", "webhook"),
    # across objects
    Rule("nfd-label-unset", "error", "the NicClusterPolicy/NicNodePolicy selects nodes by an NFD label that no "
         "NodeFeatureRule sets (a warning when no NodeFeatureRule is linted)", "cross"),
    Rule("network-ref", "error", "a pod's k8s.v1.cni.cncf.io/networks names no IPoIBNetwork, MacvlanNetwork, "
         "HostDeviceNetwork or NetworkAttachmentDefinition (or is malformed)", "cross"),
    Rule("rdma-resource-unknown", "error", "a pod requests an RDMA resource that no device plugin config of the "
         "policy exposes", "cross"),
    Rule("rdma-resource-over-nics", "error", "a pod requests more RDMA devices than the VM size has InfiniBand NICs",
         "cross"),
    Rule("rdma-ipc-lock", "warning", "an RDMA container lacks the IPC_LOCK capability (memory registration fails)",
         "cross"),
    Rule("pod-extended-resource", "error", "an extended resource (rdma/..., nvidia.com/...) needs an integer limit "
         "equal to its request (Kubernetes ValidateResourceRequirements)", "cross"),
    Rule("psa-privileged", "error", "the operator's namespace lacks pod-security.kubernetes.io/enforce: privileged "
         "(its driver and device-plugin pods are privileged)", "cross"),
    # IPAM
    Rule("ipam-json", "error", "an `ipam` (or NetworkAttachmentDefinition `config`) string is not a JSON object",
         "ipam"),
    Rule("ipam-range", "error", "an IPAM range, subnet or address does not parse as an IP network/address", "ipam"),
    Rule("ipam-gateway", "error", "the IPAM gateway is not inside the range/subnet", "ipam"),
    Rule("ipam-exclude", "error", "an IPAM exclude or range start/end is not inside the range/subnet", "ipam"),
    Rule("ipam-pool-ref", "warning", "an nv-ipam poolName names no IPPool/CIDRPool among the linted objects", "ipam"),
)}


def severity(rule_id: str, *, strict: bool = False) -> Severity:
    if rule_id == "unknown-kind" and strict:
        return "error"
    rule = RULES.get(rule_id)
    return rule.severity if rule else "error"


def list_rules() -> str:
    width = max(len(r) for r in RULES)
    return "".join(f"{r.id:<{width}}  {r.severity:<7}  {r.doc}\n" for r in RULES.values())
