"""What changes between two releases' charts for the values a cluster sets: a key the new chart no longer reads
(retired, with what replaces it), a key only the new chart reads, and a default that moved. From the chart facts
(``generator/catalog/charts/<tag>.yaml``), which hold each chart's keys, defaults and retired keys."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from generator.catalog.charts import ChartFacts

RETIRED, NEW, DEFAULT = "retired", "new", "default changed"


@dataclass(frozen=True, order=True)
class ValueChange:
    key: str  # dotted
    change: str  # RETIRED | NEW | DEFAULT
    detail: str
    replacement: str = ""  # RETIRED: the key that takes its place, when the chart facts name one


def set_keys(values: dict[str, Any], facts: ChartFacts, prefix: str = "") -> list[str]:
    """The dotted keys ``values`` sets: maps the chart knows as parents are walked into, anything else is a leaf."""
    out = []
    for key in sorted(values):
        dotted = f"{prefix}{key}"
        value = values[key]
        if isinstance(value, dict) and value and facts.is_parent(dotted) and not facts.free_form_type(dotted):
            out += set_keys(value, facts, dotted + ".")
        else:
            out.append(dotted)
    return out


def _replacement(use: str, new: ChartFacts) -> str:
    """The values key named first in a retired key's ``use`` note, if the new chart reads it."""
    candidate = use.split()[0].rstrip(",;.") if use else ""
    return candidate if candidate and "." in candidate and new.verdict(candidate).ok else ""


def value_changes(keys: list[str], old: ChartFacts, new: ChartFacts) -> list[ValueChange]:
    """For each key the cluster sets: retired in ``new``, new in ``new``, or a changed default."""
    out = []
    for key in keys:
        before, after = old.verdict(key), new.verdict(key)
        if before.ok and not after.ok:
            info = next((i for k, i in new.retired.items() if key == k or key.startswith(k + ".")), {})
            out.append(ValueChange(key, RETIRED, after.message, _replacement(str(info.get("use", "")), new)))
        elif after.ok and not before.ok:
            out.append(ValueChange(key, NEW, f"read from chart {new.version} on"))
        elif key in old.values and key in new.values and old.values[key] != new.values[key]:
            out.append(ValueChange(key, DEFAULT, f"{json.dumps(old.values[key])} -> {json.dumps(new.values[key])}"))
    return sorted(out)
