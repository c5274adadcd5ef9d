"""The rdma-infiniband chart's contract: ``helm template`` of ``output/charts/rdma-infiniband`` with a cluster's
values gives the objects ``kustomize build output/<name>/overlays/<mode>`` gives, compared as data (same objects by
apiVersion, kind, namespace and name, and each one equal). Checked by ``gen bundle`` for every cluster whenever the
chart is part of the output; with ``argocd.source: chart`` it is what makes the overlay's checks hold for what Argo CD
applies."""

from __future__ import annotations

from typing import Any

from generator.core.finding import Finding, Severity
from generator.core.formats import json_value
from generator.core.objects import as_dict, as_str
from generator.core.rules import define

CHART_EQUIVALENCE = define(
    "chart-equivalence", "error",
    "`helm template` of the rdma-infiniband chart with the cluster's values does not give the objects of the "
    "cluster's mode overlay (or fails); a warning for a cluster whose Application does not apply the chart",
    "build")

ObjectKey = tuple[str, str, str, str]


def object_key(obj: Any) -> ObjectKey:
    meta = as_dict(as_dict(obj).get("metadata"))
    return (as_str(obj.get("apiVersion")), as_str(obj.get("kind")), as_str(meta.get("namespace")),
            as_str(meta.get("name")))


def _label(key: ObjectKey) -> str:
    _, kind, namespace, name = key
    return f"{kind} {namespace + '/' if namespace else ''}{name}"


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    """The first path (dotted) where ``a`` and ``b`` differ, with both values."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in [*a, *(k for k in b if k not in a)]:
            if a.get(key, ...) != b.get(key, ...):
                return _first_difference(a.get(key), b.get(key), f"{path}.{key}" if path else str(key))
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(x, y, f"{path}[{i}]")
    if isinstance(a, str) and isinstance(b, str) and a.lstrip().startswith(("{", "[")):
        try:  # an embedded JSON config: where inside it
            parsed = json_value(a), json_value(b)
        except ValueError:
            parsed = None
        if parsed is not None and parsed[0] != parsed[1]:
            return _first_difference(*parsed, f"{path}(json)")
    return f"{path or '(object)'}: overlay {_short(a)}, chart {_short(b)}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:119] + "…"


def differences(overlay: list[Any], chart: list[Any]) -> list[str]:
    """What differs between the overlay's objects and the chart's, one line each; [] when they are the same."""
    mine = {object_key(o): o for o in overlay if isinstance(o, dict)}
    theirs = {object_key(o): o for o in chart if isinstance(o, dict)}
    out = [f"{_label(k)}: only in the overlay" for k in sorted(set(mine) - set(theirs))]
    out += [f"{_label(k)}: only in the chart" for k in sorted(set(theirs) - set(mine))]
    out += [f"{_label(k)} differs at {_first_difference(mine[k], theirs[k])}"
            for k in sorted(set(mine) & set(theirs)) if mine[k] != theirs[k]]
    if not out and (len(mine) != len(overlay) or len(theirs) != len(chart)):
        out.append(f"an object appears twice ({len(overlay)} in the overlay, {len(chart)} in the chart)")
    return out


def check_equivalence(values_file: str, overlay_dir: str, overlay: list[Any], chart: list[Any],
                      error: str = "", severity: Severity = "error") -> list[Finding]:
    """Findings (on the cluster's values file, of ``severity``) when the chart's render is not the overlay's build."""
    if error:
        return [CHART_EQUIVALENCE.in_file(values_file, f"helm template of the rdma-infiniband chart with these values "
                                                       f"failed: {error}", severity=severity)]
    return [CHART_EQUIVALENCE.in_file(values_file, f"the rdma-infiniband chart with these values does not give "
                                                   f"{overlay_dir}: {line}", severity=severity)
            for line in differences(overlay, chart)]
