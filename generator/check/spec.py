"""Stage 1, the second half: what a parsed cluster spec means beyond its own fields, checked against what gen will
make of it. ``networkOperator.values`` against the release's chart (``generator.check.values_keys``), and the
mirrors and digests against the images the bundle and the chart will make nodes pull (``generator.check.spec_images``,
with ``generator.render.inventory``). A mistake is a SpecError at the field's line (exit 2, nothing written); a
warning becomes one of the cluster's notes, printed by the commands."""

from __future__ import annotations

import dataclasses

from generator import catalog
from generator.catalog.charts import chart_facts
from generator.check.spec_images import image_problems
from generator.check.values_keys import values_problems
from generator.cluster.model import Cluster
from generator.cluster.parse import SpecSource
from generator.render.inventory import source_names


def check_spec(cluster: Cluster) -> Cluster:
    """``cluster`` with the warnings of these checks added to its notes; the first error raised as a SpecError."""
    source = cluster.source
    if not isinstance(source, SpecSource):
        raise TypeError(f"{cluster.spec_file}: check_spec needs a cluster made by parse_cluster")
    facts = chart_facts(cluster.release.tag)
    for path, message in values_problems(cluster.chart_values, facts, catalog.load().kubernetes_version):
        # a key the chart does not read is pointed at (the key), a value of the wrong type at its value
        verdict = facts.verdict(".".join(str(p) for p in path))
        raise source.error(("networkOperator", "values", *path), message,
                           at_key=not verdict.ok and verdict.message == message)
    if not cluster.images.mirrors and not cluster.images.digests:
        return cluster
    errors, warnings = image_problems(cluster, source_names(cluster))
    for path, message in errors:
        raise source.error(path, message)
    notes = [source.note(path, message) for path, message in warnings]
    return dataclasses.replace(cluster, notes=(*cluster.notes, *notes))
