"""The network-operator admission webhook's checks, offline.

Mirrors Mellanox/network-operator ``api/v1alpha1/validator/nicpolicy_webhook.go`` (validateNicClusterPolicy,
validateNicNodePolicy) and ``hostdevicenetwork_webhook.go`` at main (22d44381), including their order:
a config that fails its top-level schema gets no per-resource checks; an SR-IOV resource with a bad name gets
no prefix or selector check. Not mirrored: containerResources ``name`` against the rendered manifests' container
names (needs the operator's templates) and the NicNodePolicy/NicClusterPolicy overlap checks (need the cluster).
"""

from __future__ import annotations

import json
from typing import Any

from generator.check.formats import (
    DNS1123_SUBDOMAIN,
    FQDN,
    OFED_VERSION,
    PKEY_GUID,
    RDMA_RESOURCE_NAME,
    SRIOV_RESOURCE_NAME,
    go_match,
    image_reference_error,
    parse_quantity,
)
from generator.check.objects import Path, as_dict, as_list, as_str, get_in, group_kind, name_of
from generator.check.rules import Rule, define
from generator.check.schemas.webhook import WebhookSchemas
from generator.report.finding import Finding

_WH = "network-operator webhook"
WEBHOOK_CONFIG_JSON = define(
    "webhook-config-json", "error",
    f"{_WH}: a device-plugin `config` is not a JSON object (validateRdmaSharedDevicePlugin / "
    "validateSriovNetworkDevicePlugin)",
    "webhook")
WEBHOOK_CONFIG_SCHEMA = define(
    "webhook-config-schema", "error",
    f"{_WH}: a device-plugin `config` fails the release's webhook-schemas/*.json (top level, then each "
    "resourceList item by deviceType)",
    "webhook")
WEBHOOK_RESOURCE_NAME = define(
    "webhook-resource-name", "error",
    f"{_WH}: resourceName must match ^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$ (no '-' for the SR-IOV plugin;"
    " also HostDeviceNetwork.spec.resourceName)",
    "webhook")
WEBHOOK_RESOURCE_PREFIX = define(
    "webhook-resource-prefix", "error",
    f"{_WH}: resourcePrefix must be an FQDN "
    "(^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\\.[a-zA-Z]{2,})+$; isValidFQDN)",
    "webhook")
WEBHOOK_DRIVER_VERSION = define(
    "webhook-driver-version", "error",
    f"{_WH}: ofedDriver.version must be an OFED, DOCA or sha256 version (isValidOFEDVersion)",
    "webhook")
WEBHOOK_SAFE_LOAD = define(
    "webhook-safe-load", "error",
    f"{_WH}: upgradePolicy.safeLoad requires upgradePolicy.autoUpgrade (validateSafeLoad)",
    "webhook")
WEBHOOK_IMAGE_REPOSITORY = define(
    "webhook-image-repository", "error",
    f"{_WH}: an image repository (or spec.global.repository) must parse as a container image name "
    "(reference.ParseNormalizedNamed; validateRepositories)",
    "webhook")
WEBHOOK_CONTAINER_RESOURCES = define(
    "webhook-container-resources", "error",
    f"{_WH}: containerResources may set only cpu and memory (validateResources)",
    "webhook")
WEBHOOK_RESOURCE_ZERO = define(
    "webhook-resource-zero", "error",
    f"{_WH}: a containerResources cpu/memory request or limit is zero (validateResources)",
    "webhook")
WEBHOOK_REQUEST_ABOVE_LIMIT = define(
    "webhook-request-above-limit", "error",
    f"{_WH}: a containerResources request is greater than its limit (validateResources)",
    "webhook")
WEBHOOK_PKEY_GUID = define(
    "webhook-pkey-guid", "error",
    f"{_WH}: ibKubernetes pKeyGUIDPoolRangeStart/End must be xx:xx:xx:xx:xx:xx:xx:xx and start < end "
    "(ibKubernetesSpecWrapper.validate)",
    "webhook")
WEBHOOK_TELEMETRY_CONFIGMAP = define(
    "webhook-telemetry-configmap", "error",
    f"{_WH}: docaTelemetryService.config.fromConfigMap must be a DNS-1123 subdomain "
    "(docaTelemetryServiceWrapper.validate)",
    "webhook")
WEBHOOK_NICNODEPOLICY_NAME = define(
    "webhook-nicnodepolicy-name", "error",
    f"{_WH}: a NicNodePolicy name is at most 30 characters (validateNicNodePolicy)",
    "webhook")

# components whose image repository validateRepositories checks (spec.<name> / spec.secondaryNetwork.<name>)
IMAGE_COMPONENTS = ("ofedDriver", "rdmaSharedDevicePlugin", "sriovDevicePlugin", "ibKubernetes", "nvIpam",
                    "nicFeatureDiscovery", "docaTelemetryService")
SECONDARY_IMAGE_COMPONENTS = ("cniPlugins", "ipoib", "multus", "ipamPlugin")  # ipamPlugin: releases up to v25.7
# components whose containerResources validateContainerResources checks (no docaTelemetryService)
_RES_TOP = ("ofedDriver", "rdmaSharedDevicePlugin", "sriovDevicePlugin", "ibKubernetes", "nvIpam",
            "nicFeatureDiscovery")
_SELECTOR_SCHEMAS = {"accelerator": "accelerator_selector.json", "auxNetDevice": "aux_net_device.json"}
_NNP_NAME_MAX = 30  # maxNicNodePolicyNameLength


class WebhookRules:
    def __init__(self, schemas: WebhookSchemas):
        self.schemas = schemas

    def check(self, obj: dict[str, Any], index: int) -> list[Finding]:
        group, kind = group_kind(obj)
        if group != "mellanox.com":
            return []
        spec = as_dict(obj.get("spec"))
        out: list[Finding] = []

        def add(rule: Rule, path: Path, message: str) -> None:
            out.append(rule.at(path, message, index))

        if kind == "NicClusterPolicy":
            self._repositories(spec, add)
            self._container_resources(spec, add)
            self._ib_kubernetes(spec, add)
        if kind in ("NicClusterPolicy", "NicNodePolicy"):
            self._ofed(spec, add)
            self._rdma_config(spec, add)
            self._sriov_config(spec, add)
        if kind == "NicClusterPolicy":
            self._telemetry(spec, add)
        if kind == "NicNodePolicy" and len(name_of(obj)) > _NNP_NAME_MAX:
            add(WEBHOOK_NICNODEPOLICY_NAME, ("metadata", "name"),
                f"NicNodePolicy name {name_of(obj)!r} is {len(name_of(obj))} characters; at most {_NNP_NAME_MAX} "
                "(the operator derives DaemonSet names and label values from it)")
        if kind == "HostDeviceNetwork" and "resourceName" in spec:
            name = as_str(spec.get("resourceName"))
            if not go_match(RDMA_RESOURCE_NAME, name):
                add(WEBHOOK_RESOURCE_NAME, ("spec", "resourceName"), _bad_name(name, RDMA_RESOURCE_NAME.pattern))
        return out

    # -- images and resources ----------------------------------------------------------------

    def _repositories(self, spec: dict[str, Any], add: Any) -> None:
        global_repo = as_str(get_in(spec, ("global", "repository")))
        places: list[tuple[Path, Any]] = [(("spec", n), spec.get(n)) for n in IMAGE_COMPONENTS]
        secondary = as_dict(spec.get("secondaryNetwork"))
        places += [(("spec", "secondaryNetwork", n), secondary.get(n)) for n in SECONDARY_IMAGE_COMPONENTS]
        for path, component in places:
            if not isinstance(component, dict):
                continue
            repo = as_str(component.get("repository")) or global_repo
            problem = image_reference_error(repo)
            if problem:
                where = "repository" if component.get("repository") else "(spec.global.repository)"
                add(WEBHOOK_IMAGE_REPOSITORY, (*path, "repository"),
                    f"invalid container image repository {repo!r} {where}: {problem}")

    def _container_resources(self, spec: dict[str, Any], add: Any) -> None:
        secondary = as_dict(spec.get("secondaryNetwork"))
        places: list[tuple[Path, Any]] = [(("spec", n), spec.get(n)) for n in _RES_TOP]
        places += [(("spec", "secondaryNetwork", n), secondary.get(n)) for n in SECONDARY_IMAGE_COMPONENTS]
        for path, component in places:
            for i, reqs in enumerate(as_list(as_dict(component).get("containerResources"))):
                reqs = as_dict(reqs)
                base = (*path, "containerResources", i)
                requests = as_dict(reqs.get("requests"))
                for kind_name in ("requests", "limits"):
                    for resource, raw in as_dict(reqs.get(kind_name)).items():
                        where = (*base, kind_name, resource)
                        if resource not in ("cpu", "memory"):
                            add(WEBHOOK_CONTAINER_RESOURCES, where,
                                f"{kind_name} {resource!r} is not supported; supported values: \"cpu\", \"memory\"")
                        quantity = parse_quantity(raw)
                        if resource in ("cpu", "memory") and quantity == 0:
                            add(WEBHOOK_RESOURCE_ZERO, where, f"resource {kind_name} for {resource} is zero")
                        if kind_name == "limits" and resource in requests:
                            request = parse_quantity(requests[resource])
                            if quantity is not None and request is not None and quantity < request:
                                add(WEBHOOK_REQUEST_ABOVE_LIMIT, (*base, "requests", resource),
                                    f"resource request for {resource} ({requests[resource]}) is greater than the "
                                    f"limit ({raw})")

    def _ib_kubernetes(self, spec: dict[str, Any], add: Any) -> None:
        ibk = spec.get("ibKubernetes")
        if not isinstance(ibk, dict):
            return
        base = ("spec", "ibKubernetes")
        start, end = as_str(ibk.get("pKeyGUIDPoolRangeStart")), as_str(ibk.get("pKeyGUIDPoolRangeEnd"))
        bad = [(f, v) for f, v in (("pKeyGUIDPoolRangeStart", start), ("pKeyGUIDPoolRangeEnd", end))
               if not go_match(PKEY_GUID, v)]
        for field, value in bad:
            add(WEBHOOK_PKEY_GUID, (*base, field),
                f"{field} {value!r} must be a valid GUID format: xx:xx:xx:xx:xx:xx:xx:xx with hex digits")
        if not bad and int(end.replace(":", ""), 16) <= int(start.replace(":", ""), 16):
            add(WEBHOOK_PKEY_GUID, (*base, "pKeyGUIDPoolRangeEnd"),
                "pKeyGUIDPoolRangeStart-pKeyGUIDPoolRangeEnd must be a valid range (end after start)")

    def _ofed(self, spec: dict[str, Any], add: Any) -> None:
        ofed = spec.get("ofedDriver")
        if not isinstance(ofed, dict):
            return
        version = as_str(ofed.get("version"))
        if not go_match(OFED_VERSION, version):
            add(WEBHOOK_DRIVER_VERSION, ("spec", "ofedDriver", "version"),
                f"invalid OFED version {version!r}; supported formats: \"24.01-0.3.3.1-0\", "
                "\"doca3.1.0-25.07-0.9.7.0-0\", \"doca3.6.0-26.10-016000-ubuntu24.04-amd64\", \"sha256:<64 hex>\"")
        policy = as_dict(ofed.get("upgradePolicy"))
        if policy.get("safeLoad") is True and policy.get("autoUpgrade") is not True:
            add(WEBHOOK_SAFE_LOAD, ("spec", "ofedDriver", "upgradePolicy", "safeLoad"),
                "safeLoad requires spec.ofedDriver.upgradePolicy.autoUpgrade to be true")

    def _telemetry(self, spec: dict[str, Any], add: Any) -> None:
        config = get_in(spec, ("docaTelemetryService", "config"))
        if isinstance(config, dict):
            name = as_str(config.get("fromConfigMap"))
            if len(name) > 253 or not go_match(DNS1123_SUBDOMAIN, name):
                add(WEBHOOK_TELEMETRY_CONFIGMAP, ("spec", "docaTelemetryService", "config", "fromConfigMap"),
                    f"{name!r} is not a DNS-1123 subdomain (lowercase letters, digits, '-' and '.')")

    # -- device plugin configs ---------------------------------------------------------------

    def _config(self, spec: dict[str, Any], component: str, add: Any) -> tuple[Path, Any] | None:
        raw = get_in(spec, (component, "config"))
        if not isinstance(raw, str):
            return None
        path = ("spec", component, "config")
        try:
            value = json.loads(raw)
        except ValueError as exc:
            add(WEBHOOK_CONFIG_JSON, path, f"invalid JSON in {component}.config: {exc}")
            return None
        if not isinstance(value, dict):
            add(WEBHOOK_CONFIG_JSON, path, f"{component}.config must be a JSON object, got {type(value).__name__}")
            return None
        return path, value

    def _schema(self, schema_file: str, value: Any, prefix: tuple[str | int, ...], path: Path, add: Any) -> bool:
        problems = self.schemas.problems(schema_file, value, prefix)
        for inner, message in sorted(set(problems)):
            add(WEBHOOK_CONFIG_SCHEMA, path, f"{message} (at {inner or 'the top level'} of the config JSON; "
                f"webhook schema {schema_file})")
        return not problems

    def _rdma_config(self, spec: dict[str, Any], add: Any) -> None:
        found = self._config(spec, "rdmaSharedDevicePlugin", add)
        if found is None:
            return
        path, config = found
        if not self._schema("rdma_shared_device_plugin.json", config, (), path, add):
            return
        for i, item in enumerate(as_list(config.get("configList"))):
            item = as_dict(item)
            name = as_str(item.get("resourceName"))
            if not go_match(RDMA_RESOURCE_NAME, name):
                add(WEBHOOK_RESOURCE_NAME, path, f"configList[{i}]: " + _bad_name(name, RDMA_RESOURCE_NAME.pattern))
            if "resourcePrefix" in item and not go_match(FQDN, as_str(item["resourcePrefix"])):
                add(WEBHOOK_RESOURCE_PREFIX, path, f"configList[{i}]: " + _bad_prefix(item["resourcePrefix"]))
                return  # the webhook stops at the first bad prefix

    def _sriov_config(self, spec: dict[str, Any], add: Any) -> None:
        found = self._config(spec, "sriovDevicePlugin", add)
        if found is None:
            return
        path, config = found
        if not self._schema("sriov_network_device_plugin.json", config, (), path, add):
            return
        for i, item in enumerate(as_list(config.get("resourceList"))):
            item = as_dict(item)
            name = as_str(item.get("resourceName"))
            if not go_match(SRIOV_RESOURCE_NAME, name):
                add(WEBHOOK_RESOURCE_NAME, path, f"resourceList[{i}]: " + _bad_name(name, SRIOV_RESOURCE_NAME.pattern)
                    + " (the SR-IOV plugin allows no '-')")
                continue
            if "resourcePrefix" in item and not go_match(FQDN, as_str(item["resourcePrefix"])):
                add(WEBHOOK_RESOURCE_PREFIX, path, f"resourceList[{i}]: " + _bad_prefix(item["resourcePrefix"]))
                continue
            device_type = item.get("deviceType")
            schema_file = _SELECTOR_SCHEMAS.get(device_type, "net_device.json") if isinstance(device_type, str) \
                else "net_device.json"
            self._schema(schema_file, item, ("resourceList", i), path, add)


def _bad_name(name: str, pattern: str) -> str:
    return (f"invalid resource name {name!r}: alphanumeric characters, '-', '_' or '.', starting and ending with an "
            f"alphanumeric character (webhook regex {pattern})")


def _bad_prefix(prefix: Any) -> str:
    return (f"invalid resource prefix {prefix!r}: it must be an FQDN with at least one dot, e.g. 'nvidia.com' "
            "(webhook regex ^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\\.[a-zA-Z]{2,})+$)")
