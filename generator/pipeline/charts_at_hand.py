"""Which operator charts are at hand (the mirror, then gen's cache), by release: what records and kept verdicts are
keyed on. A module of its own so that a command that only needs the answer (``gen lint``'s verdict key) does not load
the chart rendering machinery."""

from __future__ import annotations

import hashlib
from pathlib import Path

from generator import catalog
from generator.catalog.gpu import load_gpu
from generator.sources import schema_store
from generator.sources.chart_store import GPU_OPERATOR, ChartSourceError, find_chart


def chart_roots(mirror: Path | None) -> list[Path]:
    """Where network-operator charts are looked for: the mirror (``--from``), then gen's cache."""
    return [*([mirror] if mirror else []), schema_store.default_cache_dir()]


def charts_at_hand(mirror: Path | None) -> list[tuple[str, str]]:
    """(release, the chart's sha256, "" when it is not at hand, or ``refused:`` and the digest of why, when the chart
    there is refused) for every release of the catalog: part of what a record of a checked cluster is keyed on, so
    a refused chart never looks like no chart (a warm cache and an empty one reach the same verdict)."""
    roots = chart_roots(mirror)
    out = []
    wanted = [(tag, "network-operator", tag) for tag in catalog.load().release_tags]
    wanted += [(f"{GPU_OPERATOR}/{tag}", GPU_OPERATOR, tag) for tag in load_gpu().charted_tags]
    for name, product, tag in wanted:
        try:
            found = find_chart(tag, roots, product)
        except ChartSourceError as exc:
            out.append((name, "refused:" + hashlib.sha256(str(exc).encode()).hexdigest()))
            continue
        out.append((name, found.sha256 if found else ""))
    return out
