"""What the generated AppProject admits: Argo CD's rules (IsGroupKindPermitted, IsDestinationPermitted) applied
offline to every object a cluster's overlay builds, so an object Argo CD would refuse to sync (a cluster-scoped
kind the project does not whitelist, a namespace outside its destinations) fails ``gen bundle``, not the sync."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from generator import catalog
from generator.check.validators.kinds import Schemas
from generator.core.finding import Finding
from generator.core.objects import as_dict, as_str, group_kind, name_of
from generator.core.rules import define

ARGOCD_PROJECT = define(
    "argocd-project", "error",
    "the cluster's AppProject does not admit an object its overlay builds (a cluster-scoped kind it does not "
    "whitelist, or a namespace outside its destinations): Argo CD would refuse to sync it",
    "argocd")


def is_cluster_scoped(group: str, kind: str, schemas: Schemas | None = None) -> bool | None:
    """True/False for Kubernetes built-ins and for the kinds of the release's CRDs; None when unknown."""
    builtin = catalog.load().builtin_scopes.get((group, kind))
    if builtin is not None:
        return builtin
    if schemas is not None:
        scope = schemas.scope_of(group, kind)
        if scope is not None:
            return scope == "Cluster"
    return None


def _glob(pattern: str, value: str) -> bool:
    return pattern == value or fnmatchcase(value, pattern)


def _listed(entries: Any, group: str, kind: str, name: str) -> bool:
    return any(_glob(as_str(e.get("group")), group) and _glob(as_str(e.get("kind")), kind)
               and _glob(as_str(e.get("name")) or "*", name) for e in entries or [] if isinstance(e, dict))


def project_allows(project: dict[str, Any], obj: dict[str, Any], destination_namespace: str,
                   cluster_scoped: bool | None) -> tuple[bool, str]:
    """Whether Argo CD lets an Application of ``project`` sync ``obj`` (and why not).

    Cluster-scoped kinds must be in clusterResourceWhitelist and not in clusterResourceBlacklist. Namespaced
    kinds are allowed unless in namespaceResourceBlacklist, or, when namespaceResourceWhitelist is set, unless
    missing from it; their namespace (the object's, else the destination's) must match one of the project's
    destinations.
    """
    spec = as_dict(project.get("spec"))
    group, kind = group_kind(obj)
    name = name_of(obj)
    label = f"{group or 'core'}/{kind} {name}"
    if cluster_scoped is None:
        return False, f"{label}: scope unknown (neither a Kubernetes built-in nor a kind of the release's CRDs)"
    if cluster_scoped:
        if not _listed(spec.get("clusterResourceWhitelist"), group, kind, name):
            return False, f"{label}: cluster-scoped kind not in clusterResourceWhitelist"
        if _listed(spec.get("clusterResourceBlacklist"), group, kind, name):
            return False, f"{label}: in clusterResourceBlacklist"
        return True, f"{label}: cluster-scoped, whitelisted"
    if "namespaceResourceWhitelist" in spec and not _listed(spec["namespaceResourceWhitelist"], group, kind, name):
        return False, f"{label}: not in namespaceResourceWhitelist"
    if _listed(spec.get("namespaceResourceBlacklist"), group, kind, name):
        return False, f"{label}: in namespaceResourceBlacklist"
    namespace = as_str(as_dict(obj.get("metadata")).get("namespace")) or destination_namespace
    destinations = [d for d in spec.get("destinations") or [] if isinstance(d, dict)]
    if not any(_glob(as_str(d.get("namespace")), namespace) for d in destinations):
        return False, f"{label}: namespace {namespace!r} is not a destination of the project"
    return True, f"{label}: namespaced, in {namespace}"


def check_project(project: dict[str, Any], members: list[tuple[int, Any]], destination_namespace: str,
                  schemas: Schemas) -> list[Finding]:
    """A finding for each object of ``members`` (index, object) that the project would not admit."""
    out = []
    for index, obj in members:
        if not isinstance(obj, dict):
            continue
        scoped = is_cluster_scoped(*group_kind(obj), schemas)
        allowed, why = project_allows(project, obj, destination_namespace, scoped)
        if allowed:
            continue
        name = as_str(as_dict(project.get("metadata")).get("name"))
        if scoped is None:
            out.append(ARGOCD_PROJECT.at((), f"AppProject {name!r} may not admit it: {why}; if it is cluster-scoped, "
                                             "Argo CD refuses to sync it", index, "warning"))
        else:
            out.append(ARGOCD_PROJECT.at((), f"AppProject {name!r} does not admit it: {why}; Argo CD would refuse "
                                             "to sync it", index))
    return out
