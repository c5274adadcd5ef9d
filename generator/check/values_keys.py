"""``networkOperator.values`` (the network-operator chart's values), checked against the chart of the cluster's release.

No chart of the supported releases ships a ``values.schema.json``, so Helm drops a misspelled or retired key
silently. Here every key is checked against the release's chart facts: a key the chart reads passes; a key under a
free-form value (tolerations, nodeSelector, resources, ...) is checked against its Kubernetes type; a retired or
inert key is refused with what the chart does instead; any other key is refused with the nearest valid key.
"""

from __future__ import annotations

from typing import Any

from generator.catalog.charts import ChartFacts
from generator.check.validators.error_text import error_messages
from generator.check.validators.kube_core import core_schemas
from generator.core.finding import JsonPath


def values_problems(values: dict[str, Any], facts: ChartFacts, kube_version: str) -> list[tuple[JsonPath, str]]:
    """(path inside ``values``, message) for every key the chart does not read or value of the wrong type."""
    out: list[tuple[JsonPath, str]] = []
    _walk(values, (), facts, kube_version, out)
    return out


def _walk(node: dict[str, Any], path: JsonPath, facts: ChartFacts, kube_version: str,
          out: list[tuple[JsonPath, str]]) -> None:
    for key, value in node.items():
        here = (*path, key)
        dotted = ".".join(str(p) for p in here)
        type_name = facts.free_form_type(dotted)
        if type_name is not None:
            out += _type_problems(value, here, type_name, kube_version)
            continue
        verdict = facts.verdict(dotted)
        if not verdict.ok:
            out.append((here, verdict.message))
        elif isinstance(value, dict) and facts.is_parent(dotted):
            _walk(value, here, facts, kube_version, out)


def _type_problems(value: Any, path: JsonPath, type_name: str, kube_version: str) -> list[tuple[JsonPath, str]]:
    if value is None:
        return []
    kube_type, _, chart_own = type_name.partition("+")  # "+enable": a key of the chart's own, stripped before use
    if chart_own and isinstance(value, dict):
        value = {k: v for k, v in value.items() if k != chart_own}
    validator = core_schemas(kube_version).type_validator(kube_type)
    if validator is None:  # a component's own config file (nfd-worker.conf, ...): the component reads it
        return []
    what = kube_type.rsplit(".", 1)[-1]
    what = f"a list of {what.removesuffix('[]')}" if what.endswith("[]") else f"a {what}"
    return [((*path, *problem.path), f"{problem.message} (the chart takes {what} here)")
            for error in validator.iter_errors(value) for problem in error_messages(error)]
