"""Stage 1, the second half: what a parsed cluster spec means beyond its own fields, checked against what gen will
make of it. ``networkOperator.values`` against the release's chart (``generator.check.values_keys``) and for what
they mean (``generator.check.values_meaning``: namespaces, privileges, image sources, secrets), and the
mirrors and digests against the images the bundle and the chart will make nodes pull (``generator.check.spec_images``,
with ``generator.render.inventory``). A mistake is a SpecError at the field's line (exit 2, nothing written); a
warning becomes one of the cluster's notes, printed by the commands."""

from __future__ import annotations

import dataclasses

from generator.catalog.charts import chart_facts
from generator.check.gpu_spec import gpu_value_problems
from generator.check.spec_images import image_problems
from generator.check.validators.kube_core import schema_version
from generator.check.values_keys import values_problems
from generator.check.values_meaning import meaning_problems
from generator.cluster.model import Cluster
from generator.cluster.parse import SpecSource
from generator.core.finding import JsonPath
from generator.render.inventory import source_names


def check_spec(cluster: Cluster) -> Cluster:
    """``cluster`` with the warnings of these checks added to its notes; the first error raised as a SpecError."""
    source = cluster.source
    if not isinstance(source, SpecSource):
        raise TypeError(f"{cluster.spec_file}: check_spec needs a cluster made by parse_cluster")
    facts = chart_facts(cluster.release.tag)
    values: JsonPath = ("networkOperator", "values")
    for path, message in values_problems(cluster.chart_values, facts, cluster.kubernetes.version):
        # a key the chart does not read is pointed at (the key), a value of the wrong type at its value
        verdict = facts.verdict(".".join(str(p) for p in path))
        raise source.error((*values, *path), message, at_key=not verdict.ok and verdict.message == message)
    for path, message in gpu_value_problems(cluster):
        raise source.error(path, message)
    cluster = _schema_version_note(cluster, source)
    errors: list[tuple[JsonPath, str]] = []
    warnings: list[tuple[JsonPath, str]] = []
    if cluster.images.mirrors or cluster.images.digests:
        errors, warnings = image_problems(cluster, source_names(cluster))
    for path, message in errors:
        raise source.error(path, message)
    if cluster.chart_values:
        meant, doubtful = meaning_problems(cluster, facts)
        for path, message in meant:
            raise source.error((*values, *path), message)
        warnings += [((*values, *path), message) for path, message in doubtful]
    if not warnings:
        return cluster
    notes = [source.note(path, message) for path, message in warnings]
    return dataclasses.replace(cluster, notes=(*cluster.notes, *notes))


def _schema_version_note(cluster: Cluster, source: SpecSource) -> Cluster:
    """Where kubernetes-validate ships no schemas of the cluster's Kubernetes version, that the core kinds are checked
    against the nearest one it ships (said with the spec's other warnings)."""
    version = cluster.kubernetes.version
    used = schema_version(version)
    if used == version:
        return cluster
    path = ("kubernetes", "version") if cluster.kubernetes.given else ("networkOperator", "version")
    note = source.note(path, f"kubernetes-validate ships no schemas of Kubernetes {version}; gen checks the core kinds "
                             f"against {used}'s, the nearest it has")
    return dataclasses.replace(cluster, notes=(*cluster.notes, note))
