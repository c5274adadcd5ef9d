"""The network-operator admission webhook's JSON Schemas for the device-plugin ``config`` strings.

``spec.rdmaSharedDevicePlugin.config`` and ``spec.sriovDevicePlugin.config`` of a NicClusterPolicy
are JSON documents inside a YAML string; the CRD says only ``type: string``. The operator's webhook
checks them against ``webhook-schemas/*.json`` of its release: the SR-IOV config against
``sriov_network_device_plugin.json``, then each ``resourceList`` item's selectors against the
schema of its ``deviceType`` (``netDevice`` when absent). This module does the same offline.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import jsonschema_rs

from generator.validate.engine import dotted_path, error_messages
from generator.validate.store import NETWORK_OPERATOR, SchemaStore, open_store

PluginKind = Literal["sriov", "rdma-shared"]

_TOP_LEVEL = {"sriov": "sriov_network_device_plugin.json", "rdma-shared": "rdma_shared_device_plugin.json"}
_BY_DEVICE_TYPE = {
    "netDevice": "net_device.json",
    "accelerator": "accelerator_selector.json",
    "auxNetDevice": "aux_net_device.json",
}


class WebhookSchemas:
    """Compiled webhook schemas of one network-operator release."""

    def __init__(self, release: str, store: SchemaStore | None = None):
        self.release = release
        store = store or open_store()
        self._validators: dict[str, Any] = {}
        for entry in store.files(NETWORK_OPERATOR, release, "webhook-schemas"):
            schema = json.loads(store.read(entry.path))
            name = entry.path.rsplit("/", 1)[1]
            # Draft 7, as the operator's Go validator (gojsonschema) reads these files
            self._validators[name] = jsonschema_rs.Draft7Validator(schema, validate_formats=True)

    def _check(self, schema_file: str, value: Any, prefix: tuple[str | int, ...]) -> list[tuple[str, str]]:
        validator = self._validators.get(schema_file)
        if validator is None:
            return [("", f"network-operator {self.release} ships no webhook schema {schema_file}")]
        out: list[tuple[str, str]] = []
        for error in validator.iter_errors(value):
            for path, message in error_messages(error):
                full = dotted_path(prefix)
                if path:
                    full = f"{full}{path if path.startswith('[') else '.' + path}" if full else path
                out.append((full, message))
        return out

    def validate_device_plugin_config(self, kind: PluginKind, config_text: str) -> list[tuple[str, str]]:
        """(path inside the config JSON, message) for each problem; [] when the config is valid."""
        try:
            config = json.loads(config_text)
        except (ValueError, TypeError) as exc:
            return [("", f"config is not valid JSON: {exc}")]
        problems = self._check(_TOP_LEVEL[kind], config, ())
        if kind == "sriov" and isinstance(config, dict) and isinstance(config.get("resourceList"), list):
            for index, item in enumerate(config["resourceList"]):
                if not isinstance(item, dict):
                    continue
                device_type = item.get("deviceType", "netDevice")
                schema_file = _BY_DEVICE_TYPE.get(device_type) if isinstance(device_type, str) else None
                if schema_file:  # an unknown deviceType is already reported by the enum
                    problems.extend(self._check(schema_file, item, ("resourceList", index)))
        return sorted(set(problems))


_CACHE: dict[str, WebhookSchemas] = {}


def validate_device_plugin_config(kind: PluginKind, config_text: str, *, release: str,
                                  store: SchemaStore | None = None) -> list[tuple[str, str]]:
    """Module-level shortcut: schemas of ``release`` loaded once per process (default store)."""
    if store is not None:
        return WebhookSchemas(release, store).validate_device_plugin_config(kind, config_text)
    if release not in _CACHE:
        _CACHE[release] = WebhookSchemas(release)
    return _CACHE[release].validate_device_plugin_config(kind, config_text)
