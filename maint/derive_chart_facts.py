"""Derive the chart facts of the NVIDIA network-operator Helm chart: ``generator/catalog/charts/<tag>.yaml``, one
file per release of the window, for the checks gen runs without the chart.

A maintainer tool (not installed with gen), run from the repository root::

    .venv/bin/python -m maint.derive_chart_facts            # rewrite charts/<tag>.yaml for every release
    .venv/bin/python -m maint.derive_chart_facts --changes  # key, object and image changes between adjacent
                                                            # releases (Markdown, for NOTES.md)

The derivation reads only the release directories under ``../shared/upstream/network-operator`` (the default values,
the NFD subchart's values and schema, Chart.yaml files, the default render and crds/) and the hand-written
``generator/catalog/charts/template-facts.yaml`` (what only the chart templates show). ``derive_all`` is pure: same
inputs, same facts. A test fails when the committed files are stale (tests/maint). gen itself only reads the data
files (``generator.catalog.charts``).

Nothing from upstream is copied: the output restates facts in this project's own format.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from generator.core.privileges import privileges, rbac_rule, workload_key

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - pure-Python PyYAML
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = REPO.parent / "shared" / "upstream" / "network-operator"
DEFAULT_OUT = REPO / "generator" / "catalog" / "charts"
DEFAULT_TEMPLATE_FACTS = DEFAULT_OUT / "template-facts.yaml"

STAGING_PREFIXES = ("nvcr.io/nvstaging/",)
NFD = "node-feature-discovery"
# crds/ files that belong to the NFD subchart (README of the shared directory: charts/node-feature-discovery/crds)
NFD_CRD_FILES = ("nfd-api-crds.yaml",)

# --- Kubernetes kinds: scope --------------------------------------------------------------------------------------
CLUSTER_SCOPED = {
    "rbac.authorization.k8s.io/ClusterRole",
    "rbac.authorization.k8s.io/ClusterRoleBinding",
    "apiextensions.k8s.io/CustomResourceDefinition",
    "admissionregistration.k8s.io/ValidatingWebhookConfiguration",
    "admissionregistration.k8s.io/MutatingWebhookConfiguration",
    "scheduling.k8s.io/PriorityClass",
    "storage.k8s.io/StorageClass",
    "/Namespace",
    "/Node",
    "/PersistentVolume",
}
NAMESPACED = {
    "/ServiceAccount",
    "/ConfigMap",
    "/Secret",
    "/Service",
    "/Pod",
    "apps/Deployment",
    "apps/DaemonSet",
    "apps/StatefulSet",
    "batch/Job",
    "batch/CronJob",
    "rbac.authorization.k8s.io/Role",
    "rbac.authorization.k8s.io/RoleBinding",
    "policy/PodDisruptionBudget",
    "networking.k8s.io/NetworkPolicy",
}

# --- free-form values: content is a Kubernetes type (or a component config file), not chart keys ------------------
T_AFFINITY = "io.k8s.api.core.v1.Affinity"
T_TOLERATIONS = "io.k8s.api.core.v1.Toleration[]"
T_STRMAP = "map[string]string"
T_RESOURCES = "io.k8s.api.core.v1.ResourceRequirements"
T_SECCTX = "io.k8s.api.core.v1.SecurityContext"
T_PODSECCTX = "io.k8s.api.core.v1.PodSecurityContext"
T_ENV = "io.k8s.api.core.v1.EnvVar[]"
T_ARGS = "string[]"
T_PULL_NAMES = "string[]"  # the parent chart wraps each name into {name: ...} itself
T_PULL_REFS = "io.k8s.api.core.v1.LocalObjectReference[]"

PARENT_FREEFORM = {
    "imagePullSecrets": T_PULL_NAMES,
    "operator.imagePullSecrets": T_PULL_NAMES,
    "operator.resources": T_RESOURCES,
    "operator.tolerations": T_TOLERATIONS,
    "operator.nodeSelector": T_STRMAP,
    "operator.affinity": T_AFFINITY,
    "sriov-network-operator.sriovOperatorConfig.configDaemonNodeSelector": T_STRMAP,
}
NFD_TOP_FREEFORM = {
    "imagePullSecrets": T_PULL_REFS,
    "global.imagePullSecrets": T_PULL_REFS,
    "featureGates": "map[string]bool",
    "prometheus.labels": T_STRMAP,
}
NFD_COMPONENT_FREEFORM = {
    "affinity": T_AFFINITY,
    "tolerations": T_TOLERATIONS,
    "nodeSelector": T_STRMAP,
    "resources": T_RESOURCES,
    "securityContext": T_SECCTX,
    "podSecurityContext": T_PODSECCTX,
    "extraEnvs": T_ENV,
    "extraArgs": T_ARGS,
    "annotations": T_STRMAP,
    "deploymentAnnotations": T_STRMAP,
    "daemonsetAnnotations": T_STRMAP,
    "labels": T_STRMAP,
    "serviceAccount.annotations": T_STRMAP,
    "initContainers": "io.k8s.api.core.v1.Container[]",
    "podDisruptionBudget": "io.k8s.api.policy.v1.PodDisruptionBudgetSpec+enable",
    "networkPolicy.ingress": "io.k8s.api.networking.v1.NetworkPolicyIngressRule[]",
    "networkPolicy.egress": "io.k8s.api.networking.v1.NetworkPolicyEgressRule[]",
}
NFD_UPDATE_STRATEGY = {
    "master": "io.k8s.api.apps.v1.DeploymentStrategy",
    "gc": "io.k8s.api.apps.v1.DeploymentStrategy",
    "worker": "io.k8s.api.apps.v1.DaemonSetUpdateStrategy",
    "topologyUpdater": "io.k8s.api.apps.v1.DaemonSetUpdateStrategy",
}
NFD_CONFIG = {"master": "nfd-master.conf", "worker": "nfd-worker.conf", "topologyUpdater": "nfd-topology-updater.conf"}

HELM_TO_ARGOCD = {
    "pre-install": "PreSync",
    "pre-upgrade": "PreSync",
    "post-install": "PostSync",
    "post-upgrade": "PostSync",
    "post-delete": "PostDelete",
}
POD_TEMPLATE_KINDS = {"Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job"}
IMAGE_REF = re.compile(r"^[a-z0-9][a-z0-9.-]*\.[a-z]{2,}(?::[0-9]+)?/[a-z0-9._/-]+:[A-Za-z0-9._-]+$")


# --- small helpers ---------------------------------------------------------------------------------------------------
def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_Loader)


def version_key(tag: str) -> tuple[int, ...]:
    return tuple(int(p) for p in tag.lstrip("v").split("."))


def in_range(entry: Mapping[str, Any], tag: str) -> bool:
    """``since``/``until`` (inclusive) of a template-facts entry; absent bounds are open."""
    if "since" in entry and version_key(tag) < version_key(entry["since"]):
        return False
    return not ("until" in entry and version_key(tag) > version_key(entry["until"]))


def expand_braces(text: str) -> list[str]:
    """``a.{b,c}.d`` -> ``[a.b.d, a.c.d]`` (several groups multiply)."""
    parts = re.split(r"\{([^{}]*)\}", text)
    choices = [[p] if i % 2 == 0 else p.split(",") for i, p in enumerate(parts)]
    return ["".join(c) for c in itertools.product(*choices)]


def one_line(text: Any) -> str:
    """Text from template-facts.yaml with its line breaks and runs of spaces folded."""
    return " ".join(str(text).split())


def join(prefix: str, key: object) -> str:
    """Dotted path; a dot inside a key is escaped as ``\\.`` (the ``helm --set`` convention)."""
    k = str(key).replace(".", "\\.")
    return f"{prefix}.{k}" if prefix else k


def under(path: str, prefixes: Iterable[str]) -> bool:
    return any(path == p or path.startswith(p + ".") for p in prefixes)


def coalesce(defaults: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's merge of a parent's values for a subchart over the subchart's defaults: maps merge, the parent wins,
    an explicit null removes the default."""
    out = dict(defaults)
    for key, value in overrides.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = coalesce(out[key], value)
        else:
            out[key] = value
    return out


def lookup(tree: Mapping[str, Any], dotted: str) -> tuple[bool, Any]:
    node: Any = tree
    for part in re.split(r"(?<!\\)\.", dotted):
        part = part.replace("\\.", ".")
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def gk(api_version: str, kind: str) -> str:
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    return f"{group}/{kind}"


# --- values ----------------------------------------------------------------------------------------------------------
def merged_values(rel: Path, nfd_key: str) -> dict[str, Any]:
    parent: dict[str, Any] = load_yaml(rel / "chart-values.yaml") or {}
    nfd_defaults: dict[str, Any] = load_yaml(rel / "nfd-values.yaml") or {}
    out = dict(parent)
    out[nfd_key] = coalesce(nfd_defaults, parent.get(nfd_key) or {})
    return out


def all_paths(tree: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in tree.items():
        path = join(prefix, key)
        yield path
        if isinstance(value, dict):
            yield from all_paths(value, path)


def freeform_candidates(nfd_key: str) -> dict[str, str]:
    rules = dict(PARENT_FREEFORM)
    for sub, typ in NFD_TOP_FREEFORM.items():
        rules[f"{nfd_key}.{sub}"] = typ
    for comp in ("master", "worker", "gc", "topologyUpdater"):
        for sub, typ in NFD_COMPONENT_FREEFORM.items():
            rules[f"{nfd_key}.{comp}.{sub}"] = typ
        rules[f"{nfd_key}.{comp}.updateStrategy"] = NFD_UPDATE_STRATEGY[comp]
        if comp in NFD_CONFIG:
            rules[f"{nfd_key}.{comp}.config"] = NFD_CONFIG[comp]
    return rules


def flatten(tree: Mapping[str, Any], stops: set[str], prefix: str = "") -> dict[str, Any]:
    """Every key path down to a leaf: a scalar, a list, an empty map, or a free-form key (kept whole)."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        path = join(prefix, key)
        if isinstance(value, dict) and value and path not in stops:
            out.update(flatten(value, stops, path))
        else:
            out[path] = value
    return out


def remote_refs(schema: Any) -> list[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            ref = node.get("$ref")
            if isinstance(ref, str) and re.match(r"https?://", ref):
                found.add(ref.split("#", 1)[0])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return sorted(found)


# --- render ----------------------------------------------------------------------------------------------------------
def rendered_docs(text: str) -> list[tuple[str, dict[str, Any] | None]]:
    """(source template, object or None for an empty document) in render order."""
    docs: list[tuple[str, dict[str, Any] | None]] = []
    for chunk in re.split(r"(?m)^---[ \t]*$", text):
        match = re.search(r"(?m)^# Source: (\S+)", chunk)
        body = yaml.load(chunk, Loader=_Loader)
        if match is None and body is None:
            continue
        docs.append((match.group(1) if match else "", body if isinstance(body, dict) else None))
    return docs


def hook_record(phases: Iterable[str], weight: Any, delete_policy: Iterable[str]) -> dict[str, Any]:
    """A Helm hook as facts: its phases, weight and delete policy, and the Argo CD hook phases they become."""
    ordered = sorted(phases)
    return {
        "phases": ordered,
        "weight": int(weight),
        "deletePolicy": sorted(delete_policy),
        "argocd": sorted({HELM_TO_ARGOCD.get(p, "unsupported") for p in ordered}),
    }


def hook_of(obj: Mapping[str, Any]) -> dict[str, Any] | None:
    ann = (obj.get("metadata") or {}).get("annotations") or {}
    if "helm.sh/hook" not in ann:
        return None
    phases = (p.strip() for p in str(ann["helm.sh/hook"]).split(","))
    policy = (p.strip() for p in str(ann.get("helm.sh/hook-delete-policy", "")).split(",") if p.strip())
    return hook_record(phases, ann.get("helm.sh/hook-weight", 0), policy)


class Scopes:
    """Cluster-scoped or namespaced, from core kinds, the chart's CRDs and known external CRDs."""

    def __init__(self, crds: list[dict[str, Any]], external: Mapping[str, Any]) -> None:
        self.crd = {f"{c['group']}/{c['kind']}": c["scope"] == "Namespaced" for c in crds}
        self.external = {k: bool(v["namespaced"]) for k, v in external.items()}

    def namespaced(self, api_version: str, kind: str) -> bool:
        key = gk(api_version, kind)
        if key in NAMESPACED:
            return True
        if key in CLUSTER_SCOPED:
            return False
        if key in self.crd:
            return bool(self.crd[key])
        if key in self.external:
            return bool(self.external[key])
        raise ValueError(f"unknown scope for {key}")


def object_record(obj: Mapping[str, Any], source: str, scopes: Scopes) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    namespaced = scopes.namespaced(obj["apiVersion"], obj["kind"])
    rec: dict[str, Any] = {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": meta.get("name"),
        "namespaced": namespaced,
    }
    if namespaced and not meta.get("namespace"):
        rec["noNamespace"] = True
    rec["source"] = source
    hook = hook_of(obj)
    if hook:
        rec["hook"] = hook
    return rec


def derive_privileges(docs: list[tuple[str, dict[str, Any] | None]]) -> dict[str, Any]:
    """What the default render may do, for the render policy (``generator.check.chart_policy``): each workload's
    privileges (``generator.core.privileges``), and every ClusterRole's rules and ClusterRoleBinding's role and
    subjects, as rendered in the facts' namespace."""
    workloads: dict[str, list[str]] = {}
    roles: dict[str, list[dict[str, list[str]]]] = {}
    bindings: dict[str, dict[str, Any]] = {}
    for _, obj in docs:
        if obj is None:
            continue
        found = sorted(privileges(obj))
        if found:
            workloads[workload_key(obj)] = found
        name = str((obj.get("metadata") or {}).get("name"))
        if obj.get("kind") == "ClusterRole" and str(obj.get("apiVersion", "")).startswith("rbac.authorization.k8s.io/"):
            roles[name] = [rbac_rule(r) for r in obj.get("rules") or []]
            if obj.get("aggregationRule"):
                raise ValueError(f"ClusterRole {name} aggregates: not a fact the render policy can hold")
        if obj.get("kind") == "ClusterRoleBinding":
            ref = obj.get("roleRef") or {}
            subjects = sorted(f"{s.get('kind')}/{s.get('namespace') or ''}/{s.get('name')}"
                              for s in obj.get("subjects") or [])
            bindings[name] = {"roleRef": f"{ref.get('kind')}/{ref.get('name')}", "subjects": subjects}
    return {"workloads": dict(sorted(workloads.items())), "clusterRoles": dict(sorted(roles.items())),
            "clusterRoleBindings": dict(sorted(bindings.items()))}


def pod_spec(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind in POD_TEMPLATE_KINDS:
        return ((spec.get("template") or {}).get("spec")) or {}
    if kind == "CronJob":
        return (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec") or {}
    if kind == "Pod":
        return spec
    return None


def split_ref(ref: str) -> tuple[str, str]:
    repo, sep, tag = ref.rpartition(":")
    if not sep or "/" in tag:
        return ref, ""
    return repo, tag


# --- images ----------------------------------------------------------------------------------------------------------
def image_dicts(tree: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Maps in the values that describe an image: they have a string ``repository``."""
    if isinstance(tree.get("repository"), str):
        yield prefix, tree
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from image_dicts(value, join(prefix, key))


def compose(path: str, d: Mapping[str, Any]) -> tuple[str, dict[str, str], str | None]:
    """(repository part, values keys, tag or None) of an image map."""
    keys = {"repository": join(path, "repository")}
    repo = d["repository"]
    for name_key in ("image", "name"):
        if isinstance(d.get(name_key), str):
            repo = f"{repo}/{d[name_key]}"
            keys["image"] = join(path, name_key)
            break
    tag = None
    for tag_key in ("tag", "version"):
        if isinstance(d.get(tag_key), str):
            tag = d[tag_key]
            keys["tag"] = join(path, tag_key)
            break
    return repo, keys, tag


ImageCandidate = tuple[str, Mapping[str, Any], str, dict[str, str], str | None]  # path, map, repository, keys, tag


def image_uses(docs: list[tuple[str, dict[str, Any] | None]]) -> dict[str, list[str]]:
    """Image reference -> where the default render uses it (``Kind/name:container/c`` or ``Kind/name:env/VAR``)."""
    uses: dict[str, list[str]] = {}
    for _source, obj in docs:
        spec = pod_spec(obj) if obj is not None else None
        if obj is None or spec is None:
            continue
        owner = f"{obj['kind']}/{obj['metadata']['name']}"
        for field in ("initContainers", "containers"):
            for ctr in spec.get(field) or []:
                uses.setdefault(ctr["image"], []).append(f"{owner}:{field[:-1]}/{ctr['name']}")
                for env in ctr.get("env") or []:
                    if str(env.get("name", "")).endswith("_IMAGE") and isinstance(env.get("value"), str):
                        uses.setdefault(env["value"], []).append(f"{owner}:env/{env['name']}")
    return uses


def image_record(ref: str, rendered: bool) -> dict[str, Any]:
    repo, tag = split_ref(ref)
    rec: dict[str, Any] = {"ref": ref, "registry": ref.split("/", 1)[0], "repository": repo, "tag": tag}
    rec["staging"] = ref.startswith(STAGING_PREFIXES)
    rec["rendered"] = rendered
    return rec


def match_image_map(
    rec: dict[str, Any],
    candidates: list[ImageCandidate],
    tag_defaults: Mapping[str, Any],
    app_versions: Mapping[str, str],
) -> str | None:
    """The values path of the image map that gives ``rec``'s reference (its keys go into ``rec``), if any."""
    repo, tag = rec["repository"], rec["tag"]
    for path, _d, crepo, keys, ctag in candidates:
        if crepo != repo:
            continue
        if ctag is None and path in tag_defaults:
            fallback = tag_defaults[path]
            if app_versions.get(fallback["from"]) != tag:
                continue
            keys = {**keys, "tag": fallback["key"]}
            rec["tagDefault"] = fallback["from"]
        elif ctag != tag:
            continue
        rec["keys"] = keys
        return path
    return None


def match_image_value(rec: dict[str, Any], flat: Mapping[str, Any]) -> str | None:
    """The values key whose default is ``rec``'s whole reference (it goes into ``rec``), if any."""
    for path, value in flat.items():
        if value == rec["ref"]:
            rec["keys"] = {"ref": path}
            return path
    return None


def rendered_images(
    uses: Mapping[str, list[str]],
    candidates: list[ImageCandidate],
    flat: Mapping[str, Any],
    tag_defaults: Mapping[str, Any],
    app_versions: Mapping[str, str],
) -> tuple[list[dict[str, Any]], set[str]]:
    """The images of the default render, with the values keys that set them; and those keys' paths."""
    out: list[dict[str, Any]] = []
    matched_paths: set[str] = set()
    for ref in sorted(uses):
        rec = image_record(ref, rendered=True)
        path = match_image_map(rec, candidates, tag_defaults, app_versions)
        if path is None:
            path = match_image_value(rec, flat)
        if path is not None:
            matched_paths.add(path)
        rec["usedBy"] = sorted(uses[ref])
        out.append(rec)
    return out, matched_paths


def unrendered_images(
    candidates: list[ImageCandidate],
    flat: Mapping[str, Any],
    matched_paths: set[str],
    subcharts: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """Images the default values name but the default render does not use (their subchart or feature is off)."""
    toggle_of = {info["valuesKey"]: info.get("condition") for info in subcharts.values()}
    extra: list[dict[str, Any]] = [
        {"ref": f"{crepo}:{ctag}", "keys": keys, "path": path}
        for path, _d, crepo, keys, ctag in candidates
        if path not in matched_paths and ctag is not None and path
    ]
    extra += [
        {"ref": value, "keys": {"ref": path}, "path": path}
        for path, value in flat.items()
        if isinstance(value, str) and IMAGE_REF.match(value) and path not in matched_paths
    ]
    out: list[dict[str, Any]] = []
    for item in sorted(extra, key=lambda e: (e["ref"], e["path"])):
        rec = image_record(item["ref"], rendered=False)
        rec["keys"] = item["keys"]
        top = re.split(r"(?<!\\)\.", item["path"])[0]
        if top in toggle_of:
            rec["enabledBy"] = toggle_of[top]
        out.append(rec)
    return out


def derive_images(
    docs: list[tuple[str, dict[str, Any] | None]],
    values: Mapping[str, Any],
    flat: Mapping[str, Any],
    tag_defaults: Mapping[str, Any],
    app_versions: Mapping[str, str],
    subcharts: Mapping[str, Any],
) -> list[dict[str, Any]]:
    candidates: list[ImageCandidate] = [(p, d, *compose(p, d)) for p, d in image_dicts(values)]
    out, matched_paths = rendered_images(image_uses(docs), candidates, flat, tag_defaults, app_versions)
    return out + unrendered_images(candidates, flat, matched_paths, subcharts)


# --- template facts --------------------------------------------------------------------------------------------------
def keyed_entries(section: Mapping[str, Any], tag: str) -> dict[str, dict[str, Any]]:
    """Brace-expanded, range-filtered ``key: {why, since?, until?}`` entries of template-facts.yaml."""
    out: dict[str, dict[str, Any]] = {}
    for pattern, entry in section.items():
        if not in_range(entry, tag):
            continue
        for key in expand_braces(pattern):
            out[key] = {"why": one_line(entry["why"])}
    return dict(sorted(out.items()))


def selected_objects(sel: Mapping[str, Any], objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rendered objects a toggle's selector picks: by source template (a ``dir/`` prefix takes a whole folder) and
    optionally by name; without their ``source``."""
    source = sel["source"]
    return [
        {k: v for k, v in o.items() if k != "source"}
        for o in objects
        if (o["source"] == source or (source.endswith("/") and o["source"].startswith(source)))
        and ("name" not in sel or o["name"] == sel["name"])
    ]


def declared_object(o: Mapping[str, Any], scopes: Scopes) -> dict[str, Any]:
    """An object template-facts.yaml names for a toggle (one the default render does not show), as an object fact."""
    rec: dict[str, Any] = {
        "apiVersion": o["apiVersion"],
        "kind": o["kind"],
        "name": o["name"],
        "namespaced": scopes.namespaced(o["apiVersion"], o["kind"]),
    }
    if "hook" in o:
        hook = o["hook"]
        rec["hook"] = hook_record(hook["phases"], hook.get("weight", 0), hook.get("deletePolicy", []))
    if "when" in o:
        rec["when"] = o["when"]
    return rec


def add_toggle_entry(
    tgl: dict[str, Any], name: str, entry: Mapping[str, Any], tag: str, objects: list[dict[str, Any]], scopes: Scopes
) -> None:
    """Merge one template-facts.yaml toggle entry into the toggle it belongs to."""
    if entry.get("exists") is False:
        tgl["exists"] = False
    if "subchart" in entry:
        tgl["subchart"] = entry["subchart"]
    for sel in entry.get("select") or []:
        hits = selected_objects(sel, objects)
        if not hits:
            raise ValueError(f"{tag}: toggle {name}: selector {sel} matches no rendered object")
        tgl["objects"].extend(hits)
    for field in ("objects", "objectsWhenOff"):
        tgl[field].extend(declared_object(o, scopes) for o in entry.get(field) or [])
    tgl["effects"].extend(one_line(e) for e in entry.get("effects") or [])


def toggle_record(key: str, tgl: Mapping[str, Any], values: Mapping[str, Any], tag: str) -> dict[str, Any]:
    rec: dict[str, Any] = {"exists": tgl["exists"]}
    if tgl["exists"]:
        found, default = lookup(values, key)
        if not found:
            raise ValueError(f"{tag}: toggle {key} is not a values key of this release")
        rec["default"] = default
    for field in ("subchart", "objects", "objectsWhenOff", "effects"):
        if tgl.get(field):
            rec[field] = tgl[field]
    return rec


def resolve_toggles(
    spec: Mapping[str, Any],
    tag: str,
    values: Mapping[str, Any],
    objects: list[dict[str, Any]],
    scopes: Scopes,
) -> dict[str, Any]:
    """The toggles of template-facts.yaml in range for ``tag`` (entries ``key@...`` merge into ``key``)."""
    grouped: dict[str, dict[str, Any]] = {}
    for name, entry in spec.items():
        if not in_range(entry, tag):
            continue
        key = entry.get("key", name.split("@", 1)[0])
        tgl = grouped.setdefault(key, {"exists": True, "objects": [], "objectsWhenOff": [], "effects": []})
        add_toggle_entry(tgl, name, entry, tag, objects, scopes)
    return {key: toggle_record(key, grouped[key], values, tag) for key in sorted(grouped)}


# --- retired keys ----------------------------------------------------------------------------------------------------
def key_set(facts: Mapping[str, Any]) -> set[str]:
    """Every valid key path of a release: default values (with intermediate maps), extra keys."""
    keys: set[str] = set()
    for path in itertools.chain(facts["values"], facts["extraKeys"]):
        parts = re.split(r"(?<!\\)\.", path)
        keys.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    return keys


def minimal(keys: Iterable[str]) -> list[str]:
    """Sorted keys without those below another key of the set."""
    ks = sorted(set(keys))
    return [k for k in ks if not any(k.startswith(g + ".") for g in ks if g != k)]


def declared_retired(tf: Mapping[str, Any]) -> dict[str, Any]:
    """The ``retired`` groups of template-facts.yaml: keys the chart dropped, with since, why and what to use."""
    out: dict[str, Any] = {}
    for group in tf.get("retired") or []:
        for key, use in group["keys"].items():
            rec = {"since": group["since"], "why": one_line(group["why"])}
            if use:
                rec["use"] = use
            out[key] = rec
    return out


def last_seen(earlier: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, str]:
    """Key path -> the last of the earlier releases (oldest first) whose keys include it."""
    seen: dict[str, str] = {}
    for tag, facts in earlier:
        for key in key_set(facts):
            seen[key] = tag
    return seen


def hinted(rec: dict[str, str], key: str, hint: Mapping[str, Any]) -> None:
    """A ``retiredHints`` entry's why (and use: a leading dot names a sibling key) in place of the default why."""
    rec["why"] = one_line(hint["why"])
    use = hint.get("use")
    if use:
        rec["use"] = key.rsplit(".", 1)[0] + use if use.startswith(".") else one_line(use)


def inferred_retired(
    current: Mapping[str, Any], earlier: Sequence[tuple[str, Mapping[str, Any]]], tf: Mapping[str, Any]
) -> dict[str, Any]:
    """Keys of an earlier release's defaults that ``current`` no longer has (the topmost of each removed subtree)."""
    now = key_set(current)
    leaves = set(current["freeForm"])
    # keys under a subchart whose defaults are not known here: the parent only stopped overriding them
    opaque = {info["valuesKey"] for info in current["subcharts"].values() if not info["valuesKnown"]}
    seen = last_seen(earlier)
    order = [t for t, _ in earlier] + [current["release"]]
    hints = {k: v for pattern, v in (tf.get("retiredHints") or {}).items() for k in expand_braces(pattern)}
    out: dict[str, Any] = {}
    for key in minimal(k for k in seen if k not in now and not under(k, leaves)):
        if re.split(r"(?<!\\)\.", key)[0] in opaque:
            continue
        rec = {
            "since": order[order.index(seen[key]) + 1],
            "why": f"in the default values up to {seen[key]}; no template of this release reads it",
        }
        if key in hints:
            hinted(rec, key, hints[key])
        out[key] = rec
    return out


def derive_retired(
    current: Mapping[str, Any], earlier: Sequence[tuple[str, Mapping[str, Any]]], tf: Mapping[str, Any]
) -> dict[str, Any]:
    """Retired keys of ``current``: declared in template-facts.yaml, and inferred from the earlier releases."""
    out = declared_retired(tf)
    out.update(inferred_retired(current, earlier, tf))
    return dict(sorted(out.items()))


# --- CRDs ------------------------------------------------------------------------------------------------------------
def derive_crds(rel: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in sorted((rel / "crds").glob("*.yaml")):
        with path.open(encoding="utf-8") as fh:
            for doc in yaml.load_all(fh, Loader=_Loader):
                if not doc or doc.get("kind") != "CustomResourceDefinition":
                    continue
                spec = doc["spec"]
                versions = spec.get("versions") or []
                out.append(
                    {
                        "group": spec["group"],
                        "kind": spec["names"]["kind"],
                        "name": doc["metadata"]["name"],
                        "scope": spec["scope"],
                        "versions": [v["name"] for v in versions if v.get("served", True)],
                        "storageVersion": next((v["name"] for v in versions if v.get("storage")), None),
                        "chart": NFD if path.name in NFD_CRD_FILES else "network-operator",
                        "source": f"crds/{path.name}",
                    }
                )
    return sorted(out, key=lambda c: (c["group"], c["kind"]))


# --- one release -----------------------------------------------------------------------------------------------------
def values_keys(
    tag: str, tf: Mapping[str, Any], values: Mapping[str, Any], nfd_key: str
) -> tuple[dict[str, Any], dict[str, str], dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The default values flattened to leaves, the free-form keys, and template-facts.yaml's extra and inert keys
    (checked against the defaults)."""
    extra_keys = keyed_entries(tf.get("extraKeys") or {}, tag)
    existing = set(all_paths(values)) | set(extra_keys)
    freeform = {p: t for p, t in freeform_candidates(nfd_key).items() if p in existing}
    flat = flatten(values, set(freeform))
    for key in extra_keys:
        if key in flat or (under(key, freeform) and key not in freeform):
            raise ValueError(f"{tag}: extra key {key} is already a default values key")
    inert = keyed_entries(tf.get("inert") or {}, tag)
    for key in inert:
        if key not in flat:
            raise ValueError(f"{tag}: inert key {key} is not a default values leaf")
    return flat, freeform, extra_keys, inert


def condition_enabled(values: Mapping[str, Any], condition: str | None) -> bool:
    """A dependency's ``condition``: the first of its comma-separated values paths that is set decides."""
    for path in condition.split(",") if condition else []:
        found, val = lookup(values, path.strip())
        if found:
            return bool(val)
    return True


def nfd_subchart_facts(nfd_chart: Mapping[str, Any], schema: Any) -> dict[str, Any]:
    refs = remote_refs(schema) if schema is not None else []
    info: dict[str, Any] = {
        "appVersion": str(nfd_chart.get("appVersion")),
        "valuesKnown": True,
        "valuesSchema": schema is not None,
        "schemaNeedsNetwork": bool(refs),
    }
    if refs:
        info["schemaRemoteRefs"] = refs
    return info


def subchart_facts(
    deps: list[dict[str, Any]],
    values: Mapping[str, Any],
    nfd_chart: Mapping[str, Any],
    schema: Any,
    no_schema: set[str],
    tag: str,
) -> dict[str, Any]:
    """Chart.yaml's dependencies: values key, version, condition and whether it is on by default, and what is known
    of their values (only the NFD subchart's defaults and schema are in ../shared)."""
    subcharts: dict[str, Any] = {}
    for dep in deps:
        cond = dep.get("condition")
        info: dict[str, Any] = {
            "valuesKey": dep.get("alias") or dep["name"],
            "version": str(dep["version"]),
            "condition": cond,
            "enabled": condition_enabled(values, cond),
            "repository": dep.get("repository") or None,
        }
        if dep["name"] == NFD:
            info.update(nfd_subchart_facts(nfd_chart, schema))
        elif dep["name"] not in no_schema:
            raise ValueError(f"{tag}: no schema fact for subchart {dep['name']}")
        else:
            info.update({"valuesKnown": False, "valuesSchema": False, "schemaNeedsNetwork": False})
        subcharts[dep["name"]] = info
    return subcharts


def derive_base(shared_root: Path, tag: str, tf: Mapping[str, Any]) -> dict[str, Any]:
    """Everything but ``retired`` (which compares with earlier releases)."""
    rel = shared_root / tag
    chart = load_yaml(rel / "Chart.yaml")
    nfd_chart = load_yaml(rel / "nfd-Chart.yaml")
    deps = chart.get("dependencies") or []
    nfd_key = next(d for d in deps if d["name"] == NFD).get("alias") or NFD
    values = merged_values(rel, nfd_key)
    flat, freeform, extra_keys, inert = values_keys(tag, tf, values, nfd_key)

    schema_path = rel / "nfd-values.schema.json"
    schema = json.loads(schema_path.read_text(encoding="utf-8")) if schema_path.exists() else None
    no_schema = set(tf.get("noValuesSchema") or [])
    subcharts = subchart_facts(deps, values, nfd_chart, schema, no_schema, tag)

    crds = derive_crds(rel)
    scopes = Scopes(crds, tf.get("externalKinds") or {})
    docs = rendered_docs((rel / "chart-rendered.yaml").read_text(encoding="utf-8"))
    objects = [object_record(obj, src, scopes) for src, obj in docs if obj is not None]

    app_versions = {
        "chart.appVersion": str(chart["appVersion"]),
        f"subcharts.{NFD}.appVersion": str(nfd_chart["appVersion"]),
    }
    images = derive_images(docs, values, flat, tf.get("imageTagDefaults") or {}, app_versions, subcharts)

    return {
        "release": tag,
        "chart": {
            "name": chart["name"],
            "version": str(chart["version"]),
            "appVersion": str(chart["appVersion"]),
            "kubeVersion": chart.get("kubeVersion"),
            "valuesSchema": "network-operator" not in no_schema,
        },
        "rendered": dict(tf["renderContext"]),
        "subcharts": subcharts,
        "values": dict(sorted(flat.items())),
        "extraKeys": extra_keys,
        "freeForm": dict(sorted(freeform.items())),
        "inert": inert,
        "retired": {},
        "objects": objects,
        "crds": crds,
        "images": images,
        "toggles": resolve_toggles(tf.get("toggles") or {}, tag, values, objects, scopes),
        "privileges": derive_privileges(docs),
    }


def derive_all(shared_root: Path, template_facts: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The facts of every release of the window (``retired`` compares each with the releases before it)."""
    out: dict[str, dict[str, Any]] = {}
    bases: list[tuple[str, dict[str, Any]]] = []
    for tag in template_facts["window"]:
        facts = derive_base(shared_root, tag, template_facts)
        facts["retired"] = derive_retired(facts, list(bases), template_facts)
        bases.append((tag, facts))
        out[tag] = facts
    return out


# --- output ----------------------------------------------------------------------------------------------------------
class Flow(list):  # type: ignore[type-arg]
    """A list dumped in flow style."""


class FlowMap(dict):  # type: ignore[type-arg]
    """A mapping dumped in flow style (keys keep their insertion order)."""


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


_AMBIGUOUS = re.compile(
    r"^(?:~|null|Null|NULL|y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"
    r"|[-+]?[0-9][0-9_.:eE+-]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|<<)$"
)


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    if data == "" or _AMBIGUOUS.match(data):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


def _flow_seq(dumper: yaml.SafeDumper, data: Flow) -> yaml.SequenceNode:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)


def _flow_map(dumper: yaml.SafeDumper, data: FlowMap) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=True)


def _block_map(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=False)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(Flow, _flow_seq)
_Dumper.add_representer(FlowMap, _flow_map)
_Dumper.add_representer(dict, _block_map)


def flowed(value: Any, sort: bool = False) -> Any:
    """Nested data in flow style (leaf values and one-line records); ``sort`` orders map keys at every level."""
    if isinstance(value, dict):
        items = sorted(value.items()) if sort else value.items()
        return FlowMap((k, flowed(v, sort)) for k, v in items)
    if isinstance(value, list):
        return Flow(flowed(v, sort) for v in value)
    return value


def to_document(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The on-disk layout: sections in a fixed order, one-line records, sorted keys where order has no meaning."""
    return {
        "chart": flowed(facts["chart"]),
        "rendered": flowed(facts["rendered"]),
        "subcharts": {k: flowed(v) for k, v in sorted(facts["subcharts"].items())},
        "values": {k: flowed(v, sort=True) for k, v in facts["values"].items()},
        "extraKeys": {k: flowed(v) for k, v in facts["extraKeys"].items()},
        "freeForm": dict(facts["freeForm"]),
        "inert": {k: flowed(v) for k, v in facts["inert"].items()},
        "retired": {k: flowed(v) for k, v in facts["retired"].items()},
        "objects": [flowed(o) for o in facts["objects"]],
        "crds": [flowed(c) for c in facts["crds"]],
        "images": [flowed(i) for i in facts["images"]],
        "toggles": {
            k: {
                f: (
                    [flowed(o) for o in v] if f in ("objects", "objectsWhenOff") else v if f == "effects" else flowed(v)
                )
                for f, v in t.items()
            }
            for k, t in facts["toggles"].items()
        },
        "privileges": {
            "workloads": {k: flowed(v) for k, v in facts["privileges"]["workloads"].items()},
            "clusterRoles": {k: [flowed(r) for r in v] for k, v in facts["privileges"]["clusterRoles"].items()},
            "clusterRoleBindings": {k: flowed(v) for k, v in facts["privileges"]["clusterRoleBindings"].items()},
        },
    }


def header(tag: str) -> str:
    return (
        f"# network-operator chart facts for {tag}: derived from shared/upstream/network-operator/{tag}/"
        " plus the hand-written template-facts.yaml (read from the chart templates at the tag).\n"
        "# Generated by maint/derive_chart_facts.py; do not edit. Regenerate: python -m maint.derive_chart_facts\n"
    )


def render(facts: Mapping[str, Any]) -> str:
    body = yaml.dump(to_document(facts), Dumper=_Dumper, sort_keys=False, width=4096, allow_unicode=True)
    return header(facts["release"]) + body


# --- changes between releases (for NOTES.md) -------------------------------------------------------------------------
def changes(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    lines = [f"### {a['release']} -> {b['release']}", ""]
    ka, kb = key_set(a), key_set(b)
    fa, fb = set(a["freeForm"]), set(b["freeForm"])
    removed = minimal(k for k in ka - kb if not under(k, fb))
    added = minimal(k for k in kb - ka if not under(k, fa))
    changed = sorted(k for k in set(a["values"]) & set(b["values"]) if a["values"][k] != b["values"][k])

    def fmt(v: Any) -> str:
        return json.dumps(v, sort_keys=True)

    def section(title: str, items: list[str]) -> None:
        lines.append(f"- {title} ({len(items)}): " + (", ".join(f"`{i}`" for i in items) if items else "none"))

    section("keys removed", removed)
    section("keys added", added)
    lines.append(f"- defaults changed ({len(changed)}):")
    for k in changed:
        lines.append(f"  - `{k}`: `{fmt(a['values'][k])}` -> `{fmt(b['values'][k])}`")
    oa = {(o["kind"], o["name"]) for o in a["objects"]}
    ob = {(o["kind"], o["name"]) for o in b["objects"]}
    section("objects removed", [f"{k}/{n}" for k, n in sorted(oa - ob)])
    section("objects added", [f"{k}/{n}" for k, n in sorted(ob - oa)])
    ca = {(c["group"], c["kind"], tuple(c["versions"]), c["scope"]) for c in a["crds"]}
    cb = {(c["group"], c["kind"], tuple(c["versions"]), c["scope"]) for c in b["crds"]}
    section("CRDs removed", [f"{g}/{k} {list(v)} {s}" for g, k, v, s in sorted(ca - cb)])
    section("CRDs added", [f"{g}/{k} {list(v)} {s}" for g, k, v, s in sorted(cb - ca)])
    ta = {k: v.get("default") for k, v in a["toggles"].items()}
    tb = {k: v.get("default") for k, v in b["toggles"].items()}
    section("toggles removed", sorted(set(ta) - set(tb)))
    section("toggles added", sorted(set(tb) - set(ta)))
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m maint.derive_chart_facts",
        description="Derive generator/catalog/charts/<tag>.yaml from ../shared and template-facts.yaml.",
    )
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="upstream/network-operator directory")
    parser.add_argument("--template-facts", type=Path, default=DEFAULT_TEMPLATE_FACTS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--changes", action="store_true", help="print changes between adjacent releases (Markdown)")
    args = parser.parse_args(argv)

    tf = load_yaml(args.template_facts)
    all_facts = derive_all(args.shared, tf)
    if args.changes:
        tags = list(all_facts)
        for old, new in itertools.pairwise(tags):
            sys.stdout.write(changes(all_facts[old], all_facts[new]) + "\n")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for tag, facts in all_facts.items():
        (args.out / f"{tag}.yaml").write_text(render(facts), encoding="utf-8")
        print(f"wrote {args.out / f'{tag}.yaml'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
