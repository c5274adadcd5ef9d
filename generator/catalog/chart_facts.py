"""Chart facts for the NVIDIA network-operator Helm chart, one file per release, for checks that run without the chart.

``derive(shared_root, tag, template_facts)`` is a pure function: it reads only the release directories under
``shared_root`` (the default values, the NFD subchart's values and schema, Chart.yaml files, the default render and
crds/) and the hand-written ``charts/template-facts.yaml`` (what only the chart templates show), and returns the facts
of one release as plain data. A maintainer tool, like the schema lock: ``python -m generator.catalog.chart_facts``
writes ``charts/<tag>.yaml`` for every release of the window (a test fails when they are stale);
``--changes`` prints the key, object and image changes between adjacent releases (Markdown). gen itself only reads
the data files (``generator.catalog.charts``).

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

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - pure-Python PyYAML
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

HERE = Path(__file__).resolve().parent
DEFAULT_SHARED = HERE.parents[2] / "shared" / "upstream" / "network-operator"
DEFAULT_TEMPLATE_FACTS = HERE / "charts" / "template-facts.yaml"
DEFAULT_OUT = HERE / "charts"

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


def schema_freeform(schema: Mapping[str, Any]) -> dict[str, str]:
    """Values paths (relative to the subchart) whose schema is a ``$ref`` to a Kubernetes definition, as type names."""
    out: dict[str, str] = {}

    def name_of(ref: str) -> str:
        tail = ref.split("definitions/")[-1]
        special = {
            "PodSpec/properties/tolerations": T_TOLERATIONS,
            "PodSpec/properties/nodeSelector": T_STRMAP,
            "PodSpec/properties/imagePullSecrets": T_PULL_REFS,
            "PodSpec/properties/initContainers": "io.k8s.api.core.v1.Container[]",
            "Container/properties/args": T_ARGS,
            "Container/properties/env": T_ENV,
            "ObjectMeta/properties/annotations": T_STRMAP,
            "ObjectMeta/properties/labels": T_STRMAP,
        }
        for suffix, typ in special.items():
            if tail.endswith(suffix):
                return typ
        return tail

    def walk(node: Any, path: str) -> None:
        if not isinstance(node, Mapping):
            return
        if "$ref" in node:
            typ = name_of(node["$ref"])
            if path.endswith("[]"):
                path, typ = path[:-2], typ + "[]"
            if "enable" in (node.get("properties") or {}):
                typ += "+enable"
            out[path] = typ
        for key, sub in (node.get("properties") or {}).items():
            walk(sub, f"{path}.{key}" if path else key)
        if isinstance(node.get("items"), Mapping):
            walk(node["items"], path + "[]")

    walk(schema, "")
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


def hook_of(obj: Mapping[str, Any]) -> dict[str, Any] | None:
    ann = (obj.get("metadata") or {}).get("annotations") or {}
    if "helm.sh/hook" not in ann:
        return None
    phases = sorted(p.strip() for p in str(ann["helm.sh/hook"]).split(","))
    policy = sorted(p.strip() for p in str(ann.get("helm.sh/hook-delete-policy", "")).split(",") if p.strip())
    return {
        "phases": phases,
        "weight": int(ann.get("helm.sh/hook-weight", 0)),
        "deletePolicy": policy,
        "argocd": sorted({HELM_TO_ARGOCD.get(p, "unsupported") for p in phases}),
    }


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


def derive_images(
    docs: list[tuple[str, dict[str, Any] | None]],
    values: Mapping[str, Any],
    flat: Mapping[str, Any],
    tag_defaults: Mapping[str, Any],
    app_versions: Mapping[str, str],
    subcharts: Mapping[str, Any],
) -> list[dict[str, Any]]:
    uses: dict[str, list[str]] = {}
    for _source, obj in docs:
        if obj is None:
            continue
        spec = pod_spec(obj)
        if spec is None:
            continue
        owner = f"{obj['kind']}/{obj['metadata']['name']}"
        for field in ("initContainers", "containers"):
            for ctr in spec.get(field) or []:
                uses.setdefault(ctr["image"], []).append(f"{owner}:{field[:-1]}/{ctr['name']}")
                for env in ctr.get("env") or []:
                    if str(env.get("name", "")).endswith("_IMAGE") and isinstance(env.get("value"), str):
                        uses.setdefault(env["value"], []).append(f"{owner}:env/{env['name']}")

    candidates = [(p, d, *compose(p, d)) for p, d in image_dicts(values)]
    out: list[dict[str, Any]] = []
    matched_paths: set[str] = set()
    for ref in sorted(uses):
        repo, tag = split_ref(ref)
        rec: dict[str, Any] = {"ref": ref, "registry": ref.split("/", 1)[0], "repository": repo, "tag": tag}
        rec["staging"] = ref.startswith(STAGING_PREFIXES)
        rec["rendered"] = True
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
            matched_paths.add(path)
            break
        else:
            for path, value in flat.items():
                if value == ref:
                    rec["keys"] = {"ref": path}
                    matched_paths.add(path)
                    break
        rec["usedBy"] = sorted(uses[ref])
        out.append(rec)

    # images the default values name but the default render does not use (their subchart or feature is off)
    toggle_of = {info["valuesKey"]: info.get("condition") for info in subcharts.values()}
    extra: list[dict[str, Any]] = []
    for path, _d, crepo, keys, ctag in candidates:
        if path in matched_paths or ctag is None or not path:
            continue
        extra.append({"ref": f"{crepo}:{ctag}", "keys": keys, "path": path})
    for path, value in flat.items():
        if isinstance(value, str) and IMAGE_REF.match(value) and path not in matched_paths:
            extra.append({"ref": value, "keys": {"ref": path}, "path": path})
    for item in sorted(extra, key=lambda e: (e["ref"], e["path"])):
        ref = item["ref"]
        repo, tag = split_ref(ref)
        top = re.split(r"(?<!\\)\.", item["path"])[0]
        rec = {"ref": ref, "registry": ref.split("/", 1)[0], "repository": repo, "tag": tag}
        rec["staging"] = ref.startswith(STAGING_PREFIXES)
        rec["rendered"] = False
        rec["keys"] = item["keys"]
        if top in toggle_of:
            rec["enabledBy"] = toggle_of[top]
        out.append(rec)
    return out


# --- template facts --------------------------------------------------------------------------------------------------
def keyed_entries(section: Mapping[str, Any], tag: str) -> dict[str, dict[str, Any]]:
    """Brace-expanded, range-filtered ``key: {why, since?, until?}`` entries of template-facts.yaml."""
    out: dict[str, dict[str, Any]] = {}
    for pattern, entry in section.items():
        if not in_range(entry, tag):
            continue
        for key in expand_braces(pattern):
            out[key] = {"why": " ".join(str(entry["why"]).split())}
    return dict(sorted(out.items()))


def resolve_toggles(
    spec: Mapping[str, Any],
    tag: str,
    flat: Mapping[str, Any],
    values: Mapping[str, Any],
    objects: list[dict[str, Any]],
    scopes: Scopes,
) -> dict[str, Any]:
    grouped: dict[str, dict[str, Any]] = {}
    for name, entry in spec.items():
        if not in_range(entry, tag):
            continue
        key = entry.get("key", name.split("@", 1)[0])
        tgl = grouped.setdefault(key, {"exists": True, "objects": [], "objectsWhenOff": [], "effects": []})
        if entry.get("exists") is False:
            tgl["exists"] = False
        if "subchart" in entry:
            tgl["subchart"] = entry["subchart"]
        for sel in entry.get("select") or []:
            hits = [
                o
                for o in objects
                if (
                    o["source"] == sel["source"]
                    or (sel["source"].endswith("/") and o["source"].startswith(sel["source"]))
                )
                and ("name" not in sel or o["name"] == sel["name"])
            ]
            if not hits:
                raise ValueError(f"{tag}: toggle {name}: selector {sel} matches no rendered object")
            tgl["objects"].extend({k: v for k, v in o.items() if k != "source"} for o in hits)
        for field in ("objects", "objectsWhenOff"):
            for o in entry.get(field) or []:
                orec: dict[str, Any] = {
                    "apiVersion": o["apiVersion"],
                    "kind": o["kind"],
                    "name": o["name"],
                    "namespaced": scopes.namespaced(o["apiVersion"], o["kind"]),
                }
                if "hook" in o:
                    phases = sorted(o["hook"]["phases"])
                    orec["hook"] = {
                        "phases": phases,
                        "weight": int(o["hook"].get("weight", 0)),
                        "deletePolicy": sorted(o["hook"].get("deletePolicy", [])),
                        "argocd": sorted({HELM_TO_ARGOCD.get(p, "unsupported") for p in phases}),
                    }
                if "when" in o:
                    orec["when"] = o["when"]
                tgl[field].append(orec)
        tgl["effects"].extend(" ".join(str(e).split()) for e in entry.get("effects") or [])

    out: dict[str, Any] = {}
    for key in sorted(grouped):
        tgl = grouped[key]
        rec: dict[str, Any] = {"exists": tgl["exists"]}
        if tgl["exists"]:
            found, default = lookup(values, key)
            if not found:
                raise ValueError(f"{tag}: toggle {key} is not a values key of this release")
            rec["default"] = default
        for field in ("subchart", "objects", "objectsWhenOff", "effects"):
            if tgl.get(field):
                rec[field] = tgl[field]
        out[key] = rec
    return out


# --- retired keys ----------------------------------------------------------------------------------------------------
def key_set(facts: Mapping[str, Any]) -> set[str]:
    """Every valid key path of a release: default values (with intermediate maps), extra keys."""
    keys: set[str] = set()
    for path in facts["values"]:
        parts = re.split(r"(?<!\\)\.", path)
        keys.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    for path in facts["extraKeys"]:
        parts = re.split(r"(?<!\\)\.", path)
        keys.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    return keys


def minimal(keys: Iterable[str]) -> list[str]:
    """Sorted keys without those below another key of the set."""
    ks = sorted(set(keys))
    return [k for k in ks if not any(k.startswith(g + ".") for g in ks if g != k)]


def derive_retired(
    current: Mapping[str, Any], earlier: Sequence[tuple[str, Mapping[str, Any]]], tf: Mapping[str, Any]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for group in tf.get("retired") or []:
        for key, use in group["keys"].items():
            rec = {"since": group["since"], "why": " ".join(str(group["why"]).split())}
            if use:
                rec["use"] = use
            out[key] = rec

    now = key_set(current)
    leaves = set(current["freeForm"])
    # keys under a subchart whose defaults are not known here: the parent only stopped overriding them
    opaque = {info["valuesKey"] for info in current["subcharts"].values() if not info["valuesKnown"]}
    last_seen: dict[str, str] = {}
    for tag, facts in earlier:  # oldest first
        for key in key_set(facts):
            last_seen[key] = tag
    order = [t for t, _ in earlier] + [current["release"]]
    hints = {k: v for pattern, v in (tf.get("retiredHints") or {}).items() for k in expand_braces(pattern)}
    for key in minimal(k for k in last_seen if k not in now and not under(k, leaves)):
        if re.split(r"(?<!\\)\.", key)[0] in opaque:
            continue
        since = order[order.index(last_seen[key]) + 1]
        rec = {
            "since": since,
            "why": f"in the default values up to {last_seen[key]}; no template of this release reads it",
        }
        if key in hints:
            rec["why"] = " ".join(str(hints[key]["why"]).split())
            use = hints[key].get("use")
            if use:
                rec["use"] = key.rsplit(".", 1)[0] + use if use.startswith(".") else " ".join(str(use).split())
        out[key] = rec
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
def derive_base(shared_root: Path, tag: str, tf: Mapping[str, Any]) -> dict[str, Any]:
    """Everything but ``retired`` (which compares with earlier releases)."""
    rel = shared_root / tag
    chart = load_yaml(rel / "Chart.yaml")
    nfd_chart = load_yaml(rel / "nfd-Chart.yaml")
    deps = chart.get("dependencies") or []
    nfd_dep = next(d for d in deps if d["name"] == NFD)
    nfd_key = nfd_dep.get("alias") or NFD
    values = merged_values(rel, nfd_key)

    extra_keys = keyed_entries(tf.get("extraKeys") or {}, tag)
    existing = set(all_paths(values)) | set(extra_keys)
    freeform = {p: t for p, t in freeform_candidates(nfd_key).items() if p in existing}
    flat = flatten(values, set(freeform))
    for key in list(extra_keys):
        if key in flat or (under(key, freeform) and key not in freeform):
            raise ValueError(f"{tag}: extra key {key} is already a default values key")

    inert = keyed_entries(tf.get("inert") or {}, tag)
    for key in inert:
        if key not in flat:
            raise ValueError(f"{tag}: inert key {key} is not a default values leaf")

    schema_path = rel / "nfd-values.schema.json"
    schema = json.loads(schema_path.read_text(encoding="utf-8")) if schema_path.exists() else None
    no_schema = set(tf.get("noValuesSchema") or [])
    subcharts: dict[str, Any] = {}
    for dep in deps:
        key = dep.get("alias") or dep["name"]
        cond = dep.get("condition")
        enabled = True
        if cond:
            for path in cond.split(","):
                found, val = lookup(values, path.strip())
                if found:
                    enabled = bool(val)
                    break
        info: dict[str, Any] = {"valuesKey": key, "version": str(dep["version"]), "condition": cond, "enabled": enabled}
        info["repository"] = dep.get("repository") or None
        if dep["name"] == NFD:
            info["appVersion"] = str(nfd_chart.get("appVersion"))
            info["valuesKnown"] = True
            info["valuesSchema"] = schema is not None
            refs = remote_refs(schema) if schema is not None else []
            info["schemaNeedsNetwork"] = bool(refs)
            if refs:
                info["schemaRemoteRefs"] = refs
        else:
            if dep["name"] not in no_schema:
                raise ValueError(f"{tag}: no schema fact for subchart {dep['name']}")
            info["valuesKnown"] = False
            info["valuesSchema"] = False
            info["schemaNeedsNetwork"] = False
        subcharts[dep["name"]] = info

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
        "toggles": resolve_toggles(tf.get("toggles") or {}, tag, flat, values, objects, scopes),
        "_schemaFreeForm": {f"{nfd_key}.{p}": t for p, t in schema_freeform(schema).items()} if schema else None,
    }


def derive(shared_root: Path, tag: str, template_facts: Mapping[str, Any]) -> dict[str, Any]:
    """The facts of one release (pure: same inputs, same result)."""
    window = list(template_facts["window"])
    if tag not in window:
        raise ValueError(f"{tag} is not in the window {window}")
    earlier = [(t, derive_base(shared_root, t, template_facts)) for t in window[: window.index(tag)]]
    facts = derive_base(shared_root, tag, template_facts)
    facts["retired"] = derive_retired(facts, earlier, template_facts)
    return facts


def derive_all(shared_root: Path, template_facts: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """All releases of the window (shares the per-release work that ``derive`` repeats)."""
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
    }


def header(tag: str) -> str:
    return (
        f"# network-operator chart facts for {tag}: derived from shared/upstream/network-operator/{tag}/"
        " plus the hand-written template-facts.yaml (read from the chart templates at the tag).\n"
        "# Generated by generator/catalog/chart_facts.py; do not edit."
        " Regenerate: python -m generator.catalog.chart_facts\n"
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
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
