"""The network-operator admission webhook's checks, offline, as each release's own webhook makes them.

A function of the object and the release's webhook facts (``generator/catalog/webhook.yaml``: the driver version
pattern, the components whose image repository and container resources it checks, the container names of each
component's workloads, NicNodePolicy's name limit), mirroring Mellanox/network-operator
``api/v1alpha1/validator/nicclusterpolicy_webhook.go`` (``nicpolicy_webhook.go`` from v26.4.0) and
``hostdevicenetwork_webhook.go`` at that tag, including their order: a config that fails its top-level schema gets
no per-resource checks; an SR-IOV resource with a bad name gets no prefix or selector check. The checks that need
other objects (a NicNodePolicy against the NicClusterPolicy and other NicNodePolicies) are in ``nodepolicy.py``.
"""

from __future__ import annotations

from typing import Any

from generator import catalog
from generator.catalog.webhook_facts import WebhookFacts, all_webhook_facts
from generator.check.validators.webhook_configs import WebhookSchemas
from generator.core.finding import Finding
from generator.core.formats import (
    DNS1123_SUBDOMAIN,
    FQDN,
    PKEY_GUID,
    RDMA_RESOURCE_NAME,
    SRIOV_RESOURCE_NAME,
    go_match,
    image_reference_error,
    json_value,
    parse_quantity,
)
from generator.core.objects import Path, as_dict, as_list, as_str, get_in, group_kind, name_of
from generator.core.rules import Rule, define

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
    f"{_WH}: ofedDriver.version must be a version the release's webhook takes: OFED-style up to v25.4.0, DOCA "
    "from v25.7.0, precompiled (kernel-suffixed) and sha256 from v25.10.0 (isValidOFEDVersion)",
    "webhook")
WEBHOOK_SAFE_LOAD = define(
    "webhook-safe-load", "error",
    f"{_WH}: upgradePolicy.safeLoad requires upgradePolicy.autoUpgrade (validateSafeLoad)",
    "webhook")
WEBHOOK_IMAGE_REPOSITORY = define(
    "webhook-image-repository", "error",
    f"{_WH}: an image repository (or, from v26.4.0, spec.global.repository) must parse as a container image name "
    "(reference.ParseNormalizedNamed; validateRepositories)",
    "webhook")
WEBHOOK_CONTAINER_RESOURCES = define(
    "webhook-container-resources", "error",
    f"{_WH}: containerResources may set only cpu and memory (validateResources)",
    "webhook")
WEBHOOK_CONTAINER_NAME = define(
    "webhook-container-name", "error",
    f"{_WH}: a containerResources name is not a container of the component's workloads at this release (e.g. "
    "mofed-container for ofedDriver; validateResourceRequirements)",
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
    f"{_WH}: a NicNodePolicy name is at most 30 characters (v26.4.0 on; validateNicNodePolicy)",
    "webhook")

_SELECTOR_SCHEMAS = {"accelerator": "accelerator_selector.json", "auxNetDevice": "aux_net_device.json"}


def _places(spec: dict[str, Any], components: Any) -> list[tuple[Path, Any]]:
    """(path, value) of each dotted component path under spec (``secondaryNetwork.multus``)."""
    return [(("spec", *name.split(".")), get_in(spec, tuple(name.split(".")))) for name in components]


class WebhookRules:
    """The webhook of one release: its facts, and the JSON Schemas it checks device-plugin configs against."""

    def __init__(self, schemas: WebhookSchemas, facts: WebhookFacts):
        self.schemas = schemas
        self.facts = facts

    def check(self, obj: dict[str, Any], index: int) -> list[Finding]:
        group, kind = group_kind(obj)
        if group != "mellanox.com" or kind not in self.facts.kinds:
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
        nnp = self.facts.node_policy
        if kind == "NicNodePolicy" and nnp is not None and len(name_of(obj)) > nnp.name_max:
            add(WEBHOOK_NICNODEPOLICY_NAME, ("metadata", "name"),
                f"NicNodePolicy name {name_of(obj)!r} is {len(name_of(obj))} characters; the webhook of "
                f"network-operator {self.facts.tag} takes at most {nnp.name_max} (the operator derives DaemonSet "
                "names and label values from it)")
        if kind == "HostDeviceNetwork":  # always checked: a missing or empty resourceName is refused too
            name = as_str(spec.get("resourceName"))
            if not go_match(RDMA_RESOURCE_NAME, name):
                add(WEBHOOK_RESOURCE_NAME, ("spec", "resourceName") if "resourceName" in spec else ("spec",),
                    _bad_name(name, RDMA_RESOURCE_NAME.pattern) if name else
                    "spec.resourceName is missing or empty; the webhook requires a resource name (the device "
                    "plugin resource the network's pods request)")
        return out

    # -- images and resources ----------------------------------------------------------------

    def _repositories(self, spec: dict[str, Any], add: Any) -> None:
        global_repo = as_str(get_in(spec, ("global", "repository"))) if self.facts.global_repository else ""
        for path, component in _places(spec, self.facts.repositories):
            if not isinstance(component, dict):
                continue
            repo = as_str(component.get("repository")) or global_repo
            problem = image_reference_error(repo)
            if problem:
                where = "" if component.get("repository") or not self.facts.global_repository \
                    else " (from spec.global.repository)"
                said = ""
                if path == ("spec", "ofedDriver") and self.facts.ofed_repository_reported_as:
                    said = (f"; the webhook of {self.facts.tag} reports it at "
                            f"{self.facts.ofed_repository_reported_as}")
                add(WEBHOOK_IMAGE_REPOSITORY, (*path, "repository"),
                    f"invalid container image repository {repo!r}{where}: {problem}{said}")

    def _container_resources(self, spec: dict[str, Any], add: Any) -> None:
        for name, containers in self.facts.containers.items():
            path: Path = ("spec", *name.split("."))
            component = as_dict(get_in(spec, tuple(name.split("."))))
            unrendered = self._unrendered(component, containers.unrendered_when)
            for i, reqs in enumerate(as_list(component.get("containerResources"))):
                reqs = as_dict(reqs)
                base: Path = (*path, "containerResources", i)
                self._container_name(name, containers.names, unrendered, as_str(reqs.get("name")),
                                     (*base, "name") if "name" in reqs else base, add)
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

    def _unrendered(self, component: dict[str, Any], field: str) -> str:
        """Why the webhook cannot render the component's workloads ("" when it can): ``forcePrecompiled`` finds no
        precompiled driver in the webhook's test render, unless the version is a digest the release takes."""
        if not field or component.get(field) is not True:
            return ""
        cat = catalog.load()
        release = cat.releases.get(self.facts.tag)
        if as_str(component.get("version")).startswith("sha256:") and release and cat.takes_driver_digest(release):
            return ""
        return (f"with {field}: true the webhook of network-operator {self.facts.tag} cannot render the component "
                "(its test render has no precompiled driver image), so it refuses every containerResources entry")

    def _container_name(self, component: str, names: tuple[str, ...], unrendered: str, name: str, path: Path,
                        add: Any) -> None:
        if unrendered:
            add(WEBHOOK_CONTAINER_NAME, path, f"{component}.containerResources name {name!r}: {unrendered}")
        elif name not in names:
            add(WEBHOOK_CONTAINER_NAME, path,
                f"{component}.containerResources name {name!r} is not a container of its workloads at "
                f"network-operator {self.facts.tag}; supported values: " + ", ".join(f'"{n}"' for n in names)
                + " (the resources of an unknown name are applied to nothing)")

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
        if not self.facts.takes_driver(version):
            add(WEBHOOK_DRIVER_VERSION, ("spec", "ofedDriver", "version"),
                f"invalid OFED version {version!r}: the webhook of network-operator {self.facts.tag} takes "
                f"{self.facts.driver_takes}{self._taken_later(version)}")
        policy = as_dict(ofed.get("upgradePolicy"))
        if policy.get("safeLoad") is True and policy.get("autoUpgrade") is not True:
            add(WEBHOOK_SAFE_LOAD, ("spec", "ofedDriver", "upgradePolicy", "safeLoad"),
                "safeLoad requires spec.ofedDriver.upgradePolicy.autoUpgrade to be true")

    def _taken_later(self, version: str) -> str:
        """``; network-operator v25.7.0 and later take it`` when a newer release's webhook takes the version."""
        mine = catalog.version_key(self.facts.tag)
        later = [f.tag for f in all_webhook_facts().values()
                 if catalog.version_key(f.tag) > mine and f.takes_driver(version)]
        if not later:
            return ""
        first = min(later, key=catalog.version_key)
        return f"; network-operator {first} and later take it (use the driver of this release, or upgrade)"

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
            value = json_value(raw)
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
