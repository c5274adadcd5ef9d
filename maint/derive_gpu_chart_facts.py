"""Derive the chart facts of the NVIDIA GPU Operator Helm chart: ``generator/catalog/charts/gpu-operator-<tag>.yaml``,
one file per release of the window, for the checks gen runs without the chart (as ``maint/derive_chart_facts.py`` does
for the network-operator chart, whose helpers this tool reuses).

A maintainer tool (not installed with gen), run from the repository root::

    .venv/bin/python -m maint.derive_gpu_chart_facts

It reads only ``../shared/upstream/gpu-operator/<tag>/`` (the default values, the NFD subchart's values and schema,
Chart.yaml, the default render and crds/) and the hand-written ``generator/catalog/charts/gpu-operator-template-facts
.yaml`` (what only the templates show: keys they read that the defaults do not set, which values the ClusterPolicy
template writes where). Pure: same inputs, same facts; a test fails when the committed files are stale (tests/maint).

Besides the sections the network-operator facts have (values, free-form keys, retired keys, objects, CRDs, images,
toggles, privileges), a GPU Operator release's facts hold its default ``clusterPolicy`` (the ClusterPolicy the chart
renders with its defaults: the operator deploys every operand DaemonSet from it), ``clusterPolicyValues`` (which value
lands where in it) and ``operands`` (the images the operator pulls from it, and the value that turns each on).

The chart in git carries no release version (``v1.0.0-devel``, appVersion ``main-latest`` / ``devel-ubi8``); the
published chart's version and appVersion are the release tag (COMPAT.md section 7), so the facts give the tag where the
render shows the git appVersion.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from maint import derive_chart_facts as base

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = REPO.parent / "shared" / "upstream" / "gpu-operator"
DEFAULT_OUT = REPO / "generator" / "catalog" / "charts"
DEFAULT_TEMPLATE_FACTS = DEFAULT_OUT / "gpu-operator-template-facts.yaml"
CHART = "gpu-operator"
NFD = base.NFD
NFD_SOURCE = f"{CHART}/charts/{NFD}/"
UPGRADE_CRD_SOURCE = f"{CHART}/templates/upgrade_crd.yaml"

# free-form values of the parent chart, by the last segment of the key (their content is a Kubernetes type)
LEAF_FREEFORM = {
    "tolerations": base.T_TOLERATIONS,
    "affinity": base.T_AFFINITY,
    "nodeSelector": base.T_STRMAP,
    "resources": base.T_RESOURCES,
    "env": base.T_ENV,
    "args": base.T_ARGS,
    "annotations": base.T_STRMAP,
    "labels": base.T_STRMAP,
    "additionalLabels": base.T_STRMAP,
    "imagePullSecrets": base.T_PULL_NAMES,
    "relabelings": "io.k8s.api.monitoring.v1.RelabelConfig[]",  # Prometheus Operator's; not checked here
    "startupProbe": "nvidia.com.v1.ContainerProbeSpec",  # the ClusterPolicy's own probe type (the CRD checks it)
    "livenessProbe": "nvidia.com.v1.ContainerProbeSpec",
    "readinessProbe": "nvidia.com.v1.ContainerProbeSpec",
    "secretEnv": "nvidia.com.v1.SecretEnv",
    "extraObjects": "object[]",  # whole objects the chart renders as given
}
# ClusterPolicy components whose image the operator pulls, where the component has its own `enabled` (else it follows
# the component named)
OPERAND_PARENT = {"driver.manager": "driver", "vgpuManager.driverManager": "vgpuManager",
                  "vfioManager.driverManager": "vfioManager"}
DRIVER_COMPONENTS = ("driver",)  # the operator appends the node's -<os><version> to their version (unless a digest)


def values_of(rel: Path) -> dict[str, Any]:
    parent: dict[str, Any] = base.load_yaml(rel / "chart-values.yaml") or {}
    nfd_defaults: dict[str, Any] = base.load_yaml(rel / "nfd-values.yaml") or {}
    out = dict(parent)
    out[NFD] = base.coalesce(nfd_defaults, parent.get(NFD) or {})
    return out


def freeform(values: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, str]:
    """Free-form keys: the parent's by their last segment, the NFD subchart's as the network-operator facts know
    them."""
    existing = set(base.all_paths(values)) | set(extra)
    out = {p: t for p, t in base.freeform_candidates(NFD).items() if p.startswith(NFD + ".") and p in existing}
    for path in existing:
        if path.startswith(NFD + ".") or path in out:
            continue
        leaf = re.split(r"(?<!\\)\.", path)[-1]
        if leaf in LEAF_FREEFORM and not any(path.startswith(p + ".") for p in out):
            out[path] = LEAF_FREEFORM[leaf]
    # a free-form key under another (a map of env lists): keep the outermost
    return {p: t for p, t in sorted(out.items()) if not any(p.startswith(q + ".") for q in out if q != p)}


def published(docs: list[tuple[str, dict[str, Any] | None]], git_version: str, git_app_version: str,
              tag: str) -> None:
    """The render as the published chart gives it: image tags and ClusterPolicy versions that fall back to the git
    appVersion, and the chart label the ClusterPolicy gives the operands, are the release tag's (in place)."""
    for _source, obj in docs:
        if obj is None:
            continue
        spec = base.pod_spec(obj)
        for field in ("initContainers", "containers"):
            for ctr in (spec or {}).get(field) or []:
                if str(ctr.get("image", "")).endswith(f":{git_app_version}"):
                    ctr["image"] = ctr["image"][: -len(git_app_version)] + tag
                for env in ctr.get("env") or []:
                    value = env.get("value")
                    if str(env.get("name", "")).endswith("_IMAGE") and str(value).endswith(f":{git_app_version}"):
                        env["value"] = str(value)[: -len(git_app_version)] + tag
        if obj.get("kind") == "ClusterPolicy":
            labels = ((obj.get("spec") or {}).get("daemonsets") or {}).get("labels") or {}
            if labels.get("helm.sh/chart") == f"{CHART}-{git_version}":
                labels["helm.sh/chart"] = f"{CHART}-{tag}"
            for component in ("validator", "nodeStatusExporter"):
                section = (obj.get("spec") or {}).get(component) or {}
                if section.get("version") == git_app_version:
                    section["version"] = tag


def cluster_policy_values(tf: Mapping[str, Any], tag: str, flat_keys: set[str]) -> dict[str, Any]:
    """``clusterPolicyValues`` of template-facts in range for ``tag``: value key -> {path, whenSet, quote}."""
    out: dict[str, Any] = {}
    for key, entry in (tf.get("clusterPolicyValues") or {}).items():
        if not base.in_range(entry or {}, tag):
            continue
        rec: dict[str, Any] = {"path": (entry or {}).get("path", key)}
        for flag in ("whenSet", "quote"):
            if (entry or {}).get(flag):
                rec[flag] = True
        out[key] = rec
    unknown = sorted(k for k in out if not any(k == v or k.startswith(v + ".") or v.startswith(k + ".")
                                               for v in flat_keys))
    if unknown:
        raise ValueError(f"{tag}: clusterPolicyValues names keys the chart neither sets nor reads: {unknown}")
    return dict(sorted(out.items()))


def operands(policy: Mapping[str, Any], values_keys: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The images the operator pulls from the default ClusterPolicy: per component with repository, image and version,
    the values keys that set them and the ClusterPolicy field that turns it on."""
    out: list[dict[str, Any]] = []
    by_path = {rec["path"]: key for key, rec in values_keys.items()}

    def walk(node: Mapping[str, Any], path: str) -> None:
        if all(isinstance(node.get(k), str) for k in ("repository", "image")) and "version" in node:
            parent = OPERAND_PARENT.get(path, path)
            enabled = f"{parent}.enabled" if parent != path or "enabled" in node else ""
            keys = {part: by_path[f"{path}.{field}"] for part, field in
                    (("repository", "repository"), ("image", "image"), ("tag", "version"))
                    if f"{path}.{field}" in by_path}
            rec: dict[str, Any] = {"component": path, "ref": f"{node['repository']}/{node['image']}:{node['version']}",
                                   "keys": keys, "enabledBy": enabled}
            if path in DRIVER_COMPONENTS:
                rec["osSuffix"] = True
            out.append(rec)
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, f"{path}.{key}" if path else key)

    walk(policy, "")
    return sorted(out, key=lambda r: r["component"])


def toggles(objects: list[dict[str, Any]], values: Mapping[str, Any]) -> dict[str, Any]:
    """What nfd.enabled and operator.upgradeCRD add: the objects of the NFD subchart and of the CRD-upgrade hook."""
    out: dict[str, Any] = {}
    for key, prefix, effect in (
        ("nfd.enabled", NFD_SOURCE, "the node-feature-discovery subchart: its master, worker and gc"),
        ("operator.upgradeCRD", UPGRADE_CRD_SOURCE, "a pre-upgrade hook Job (Argo CD runs it as PreSync on every sync) "
                                                    "that applies the chart's CRDs itself"),
    ):
        found, default = base.lookup(values, key)
        picked = [{k: v for k, v in o.items() if k != "source"} for o in objects if o["source"].startswith(prefix)]
        out[key] = {"exists": found, "default": default, "objects": picked, "effects": [effect]}
    return out


def derive_base(shared_root: Path, tag: str, tf: Mapping[str, Any]) -> dict[str, Any]:
    """Everything but ``retired`` (which compares with earlier releases)."""
    rel = shared_root / tag
    chart = base.load_yaml(rel / "Chart.yaml")
    deps = chart.get("dependencies") or []
    nfd_dep = next(d for d in deps if d["name"] == NFD)
    values = values_of(rel)
    extra = base.keyed_entries(tf.get("extraKeys") or {}, tag)
    free = freeform(values, extra)
    flat = base.flatten(values, set(free))
    for key in extra:
        if key in flat:
            raise ValueError(f"{tag}: extra key {key} is already a default values key")
    schema_path = rel / "nfd-values.schema.json"
    schema = json.loads(schema_path.read_text(encoding="utf-8")) if schema_path.exists() else None
    refs = base.remote_refs(schema) if schema is not None else []
    subcharts = {NFD: {"valuesKey": NFD, "version": str(nfd_dep["version"]), "condition": nfd_dep.get("condition"),
                       "enabled": base.condition_enabled(values, nfd_dep.get("condition")),
                       "repository": nfd_dep.get("repository"), "valuesKnown": True,
                       "valuesSchema": schema is not None, "schemaNeedsNetwork": bool(refs)}}

    crds = base.derive_crds(rel)
    for crd in crds:
        crd["chart"] = CHART
    scopes = base.Scopes(crds, {})
    docs = base.rendered_docs((rel / "chart-rendered.yaml").read_text(encoding="utf-8"))
    git_app_version = str(chart["appVersion"])
    published(docs, str(chart["version"]), git_app_version, tag)
    objects = [base.object_record(obj, src, scopes) for src, obj in docs if obj is not None]
    app_versions = {"chart.appVersion": tag, f"subcharts.{NFD}.appVersion": 'v' + str(nfd_dep['version']).lstrip('v')}
    # the operator's own image maps first: the validator's names the same image, the operator Deployment runs it
    ordered = {"operator": values["operator"], **values}
    candidates = [(p, d, *base.compose(p, d)) for p, d in base.image_dicts(ordered)]
    images, _ = base.rendered_images(base.image_uses(docs), candidates, flat, tf.get("imageTagDefaults") or {},
                                     app_versions)
    policy = next(obj for _src, obj in docs if obj is not None and obj.get("kind") == "ClusterPolicy")
    known = set(flat) | set(extra) | set(free)
    policy_values = cluster_policy_values(tf, tag, known)
    return {
        "release": tag,
        "chart": {"name": chart["name"], "version": tag, "appVersion": tag, "kubeVersion": chart.get("kubeVersion"),
                  "valuesSchema": False, "gitVersion": str(chart["version"]), "gitAppVersion": git_app_version},
        "rendered": dict(tf["renderContext"]),
        "subcharts": subcharts,
        "values": dict(sorted(flat.items())),
        "extraKeys": extra,
        "freeForm": free,
        "inert": {},
        "retired": {},
        "objects": objects,
        "crds": crds,
        "images": images,
        "toggles": toggles(objects, values),
        "privileges": base.derive_privileges(docs),
        "clusterPolicy": {"name": policy["metadata"]["name"], "spec": copy.deepcopy(policy["spec"])},
        "clusterPolicyValues": policy_values,
        "operands": operands(policy["spec"], policy_values),
    }


def derive_all(shared_root: Path, template_facts: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The facts of every release of the window (``retired`` compares each with the releases before it)."""
    out: dict[str, dict[str, Any]] = {}
    bases: list[tuple[str, dict[str, Any]]] = []
    for tag in template_facts["window"]:
        facts = derive_base(shared_root, tag, template_facts)
        facts["retired"] = base.derive_retired(facts, list(bases), template_facts)
        bases.append((tag, facts))
        out[tag] = facts
    return out


def to_document(facts: Mapping[str, Any]) -> dict[str, Any]:
    doc = base.to_document(facts)
    doc["clusterPolicy"] = {"name": facts["clusterPolicy"]["name"],
                            "spec": {k: base.flowed(v) for k, v in facts["clusterPolicy"]["spec"].items()}}
    doc["clusterPolicyValues"] = {k: base.flowed(v) for k, v in facts["clusterPolicyValues"].items()}
    doc["operands"] = [base.flowed(o) for o in facts["operands"]]
    return doc


def header(tag: str) -> str:
    return (
        f"# gpu-operator chart facts for {tag}: derived from shared/upstream/gpu-operator/{tag}/ plus the hand-written"
        " gpu-operator-template-facts.yaml (read from the chart templates at the tag).\n"
        "# Generated by maint/derive_gpu_chart_facts.py; do not edit."
        " Regenerate: python -m maint.derive_gpu_chart_facts\n"
    )


def render(facts: Mapping[str, Any]) -> str:
    body = yaml.dump(to_document(facts), Dumper=base._Dumper, sort_keys=False, width=4096, allow_unicode=True)
    return header(facts["release"]) + body


def out_path(out: Path, tag: str) -> Path:
    return out / f"{CHART}-{tag}.yaml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m maint.derive_gpu_chart_facts",
        description="Derive generator/catalog/charts/gpu-operator-<tag>.yaml from ../shared and the template facts.",
    )
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="upstream/gpu-operator directory")
    parser.add_argument("--template-facts", type=Path, default=DEFAULT_TEMPLATE_FACTS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    tf = base.load_yaml(args.template_facts)
    args.out.mkdir(parents=True, exist_ok=True)
    for tag, facts in derive_all(args.shared, tf).items():
        out_path(args.out, tag).write_text(render(facts), encoding="utf-8")
        print(f"wrote {out_path(args.out, tag)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
