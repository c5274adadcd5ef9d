"""Device-plugin config strings against the release's webhook schemas."""

from __future__ import annotations

import json

import pytest

from generator.validate.store import SchemaStore
from generator.validate.webhook_schemas import WebhookSchemas
from generator.yamlio.load import load_documents

from .conftest import SHARED

AZURE = SHARED / "reference/aks-rdma-infiniband/configs/nicclusterpolicy"


@pytest.fixture(scope="module")
def hooks(store: SchemaStore) -> WebhookSchemas:
    return WebhookSchemas("v25.10.0", store)


@pytest.mark.parametrize(
    ("folder", "key", "kind"),
    [
        ("rdma-shared-device-plugin", "rdmaSharedDevicePlugin", "rdma-shared"),
        ("sriov-device-plugin", "sriovDevicePlugin", "sriov"),
    ],
)
def test_azure_configs_valid(hooks: WebhookSchemas, folder: str, key: str, kind: str) -> None:
    configs = [
        d.value["spec"][key]["config"]
        for f in sorted((AZURE / folder).glob("*.yaml"))
        for d in load_documents(f.read_bytes(), f.name)
        if isinstance(d.value, dict) and key in (d.value.get("spec") or {})
    ]
    assert configs
    for config in configs:
        assert hooks.validate_device_plugin_config(kind, config) == []  # type: ignore[arg-type]


def test_invalid_json(hooks: WebhookSchemas) -> None:
    [(path, message)] = hooks.validate_device_plugin_config("sriov", "{resourceList: []}")
    assert path == "" and "not valid JSON" in message


def test_rdma_shared_problems(hooks: WebhookSchemas) -> None:
    config = {
        "configList": [
            {"resourceName": "rdma_shared_device_a", "rdmaHcaMax": "63", "selectors": {"vendors": ["15b3"]}}
        ]
    }
    assert hooks.validate_device_plugin_config("rdma-shared", json.dumps(config)) == [
        ("configList[0].rdmaHcaMax", "'63' is not of type integer")
    ]
    assert hooks.validate_device_plugin_config("rdma-shared", json.dumps({"configList": []}))


def test_sriov_selector_typo_and_device_type(hooks: WebhookSchemas) -> None:
    config = {"resourceList": [{"resourceName": "ib", "selectors": {"vendorz": ["15b3"]}}]}
    problems = hooks.validate_device_plugin_config("sriov", json.dumps(config))
    assert (
        "resourceList[0].selectors.vendorz",
        "unknown field 'vendorz' (strict field validation rejects it)",
    ) in problems
    config = {"resourceList": [{"resourceName": "ib", "deviceType": "gpu"}]}
    [(path, message)] = hooks.validate_device_plugin_config("sriov", json.dumps(config))
    assert path == "resourceList[0].deviceType" and "'netDevice'" in message
