"""Device-plugin config strings against the release's webhook schemas, as the webhook rules apply them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from generator.catalog.webhook_facts import webhook_facts
from generator.check.validators.webhook_configs import WebhookSchemas, webhook_schemas_for
from generator.check.webhook import WebhookRules
from generator.sources.schema_store import SchemaStore
from generator.yamlio.load import load_documents
from tests.conftest import REFERENCE

AZURE = REFERENCE / "configs/nicclusterpolicy"
PLUGINS = {"rdma-shared": "rdmaSharedDevicePlugin", "sriov": "sriovDevicePlugin"}


@pytest.fixture(scope="module")
def hooks(store: SchemaStore) -> WebhookSchemas:
    return webhook_schemas_for("v25.10.0", store)


def problems(hooks: WebhookSchemas, kind: str, config: str) -> list[tuple[str, str]]:
    """(rule, message) of the webhook's verdict on a policy holding only this device-plugin config."""
    policy: dict[str, Any] = {"apiVersion": "mellanox.com/v1alpha1", "kind": "NicClusterPolicy",
                              "metadata": {"name": "nic-cluster-policy"},
                              "spec": {PLUGINS[kind]: {"config": config}}}
    return [(f.rule, f.message) for f in WebhookRules(hooks, webhook_facts("v25.10.0")).check(policy, 0)
            if f.rule.startswith("webhook-config")]


@pytest.mark.parametrize(
    ("folder", "kind"),
    [("rdma-shared-device-plugin", "rdma-shared"), ("sriov-device-plugin", "sriov")],
)
def test_azure_configs_valid(hooks: WebhookSchemas, folder: str, kind: str) -> None:
    key = PLUGINS[kind]
    configs = [
        d.value["spec"][key]["config"]
        for f in sorted((AZURE / folder).glob("*.yaml"))
        for d in load_documents(f.read_bytes(), f.name)
        if isinstance(d.value, dict) and key in (d.value.get("spec") or {})
    ]
    assert configs
    for config in configs:
        assert problems(hooks, kind, config) == []


def test_invalid_json(hooks: WebhookSchemas) -> None:
    [(rule, message)] = problems(hooks, "sriov", "{resourceList: []}")
    assert rule == "webhook-config-json" and "invalid JSON" in message


def test_rdma_shared_problems(hooks: WebhookSchemas) -> None:
    config = {
        "configList": [
            {"resourceName": "rdma_shared_device_a", "rdmaHcaMax": "63", "selectors": {"vendors": ["15b3"]}}
        ]
    }
    assert hooks.problems("rdma_shared_device_plugin.json", config) == [
        ("configList[0].rdmaHcaMax", "'63' is not of type integer")
    ]
    [(rule, message)] = problems(hooks, "rdma-shared", json.dumps(config))
    assert rule == "webhook-config-schema" and "at configList[0].rdmaHcaMax of the config JSON" in message
    assert problems(hooks, "rdma-shared", json.dumps({"configList": []}))


def test_sriov_selector_typo_and_device_type(hooks: WebhookSchemas) -> None:
    config = {"resourceList": [{"resourceName": "ib", "selectors": {"vendorz": ["15b3"]}}]}
    found = problems(hooks, "sriov", json.dumps(config))
    assert any("unknown field 'vendorz'" in m and "resourceList[0].selectors.vendorz" in m for _, m in found)
    config = {"resourceList": [{"resourceName": "ib", "deviceType": "gpu"}]}
    [(_, message)] = problems(hooks, "sriov", json.dumps(config))
    assert "resourceList[0].deviceType" in message and "'netDevice'" in message
