"""The network-operator admission webhook's JSON Schemas for the device-plugin ``config`` strings.

``spec.rdmaSharedDevicePlugin.config`` and ``spec.sriovDevicePlugin.config`` of a NicClusterPolicy
are JSON documents inside a YAML string; the CRD says only ``type: string``. The operator's webhook
checks them against ``webhook-schemas/*.json`` of its release; this module compiles those schemas,
and ``generator.check.webhook`` applies them in the webhook's order.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import jsonschema_rs

from generator.check.validators.error_text import error_messages
from generator.core.finding import JsonPath, dotted
from generator.sources.schema_store import NETWORK_OPERATOR, SchemaStore, open_store


class WebhookSchemas:
    """Compiled webhook schemas of one network-operator release."""

    def __init__(self, release: str, store: SchemaStore):
        self.release = release
        self._validators: dict[str, Any] = {}
        for entry in store.files(NETWORK_OPERATOR, release, "webhook-schemas"):
            schema = json.loads(store.read(entry.path))
            name = entry.path.rsplit("/", 1)[1]
            # Draft 7, as the operator's Go validator (gojsonschema) reads these files
            self._validators[name] = jsonschema_rs.Draft7Validator(schema, validate_formats=True)

    def problems(self, schema_file: str, value: Any, prefix: JsonPath = ()) -> list[tuple[str, str]]:
        """(dotted path inside the config JSON, message) for each violation of one webhook schema."""
        validator = self._validators.get(schema_file)
        if validator is None:
            return [("", f"network-operator {self.release} ships no webhook schema {schema_file}")]
        return [(dotted((*prefix, *problem.path)), problem.message)
                for error in validator.iter_errors(value) for problem in error_messages(error)]


@functools.cache
def _webhook_schemas(release: str, store: SchemaStore) -> WebhookSchemas:
    return WebhookSchemas(release, store)


def webhook_schemas_for(release: str, store: SchemaStore | None = None) -> WebhookSchemas:
    """The compiled webhook schemas of ``release``, kept per process."""
    return _webhook_schemas(release, store or open_store())
