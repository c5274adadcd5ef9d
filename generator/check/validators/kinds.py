"""The strict schema of every kind an object may have, for one network-operator release, one Argo CD
release, one Flux release and one Kubernetes version: custom kinds converted from the pinned CRDs, core kinds from
kubernetes-validate's strict schemas. Compiled on first use; one ``Schemas`` per (release, Argo CD, Flux) per
process (``schemas_for``). The Flux CRDs are read only when a Flux kind is asked for, so a repository without Flux
objects never needs them in its schema cache."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema_rs

from generator import catalog
from generator.catalog.gpu import load_gpu
from generator.check.validators.crd import convert_crd
from generator.check.validators.kube_core import CoreSchemas, core_schemas
from generator.core.cache import DiskCache, cache_root, digest
from generator.core.identity import package_digest
from generator.sources.schema_store import (
    ARGO_CD,
    FLUX,
    GPU_OPERATOR,
    NETWORK_OPERATOR,
    LockedFile,
    SchemaStore,
    open_store,
)
from generator.yamlio import cached as cached_yaml

FLUX_GROUP_SUFFIX = ".toolkit.fluxcd.io"  # kustomize., helm., source.toolkit.fluxcd.io
# the API groups of the GPU Operator's CRDs (spec.group of each file in the lock's gpu-operator/<tag>/crds/):
# nvidia.com (ClusterPolicy, NVIDIADriver; GPUCluster from v26.7.0) and resource.nvidia.com (ComputeDomain,
# ComputeDomainClique, from v26.7.0); tests/check/cel/test_rules_flux_gpu.py holds every locked release to these
GPU_GROUP = "nvidia.com"
ARGO_CD_GROUP = "argoproj.io"  # Application, ApplicationSet, AppProject (spec.group of every locked Argo CD CRD)
GPU_GROUPS = frozenset({GPU_GROUP, "resource.nvidia.com"})


@dataclass(frozen=True)
class CustomKind:
    api_version: str
    kind: str
    scope: str  # Namespaced | Cluster
    schema: dict[str, Any]
    cel_rules_dropped: int  # x-kubernetes-validations rules: evaluated by generator.check.cel on ``openapi``
    openapi: Mapping[str, Any] = field(default_factory=dict, compare=False)  # the CRD's raw openAPIV3Schema
    status_subresource: bool = False  # the CRD version declares subresources.status


CONVERTED_VERSION = 1


@functools.cache
def _converted(store: SchemaStore, entry: LockedFile) -> tuple[CustomKind, ...]:
    """Every served version of every CRD in one locked file, converted from the digest-checked file.

    Kept per process, and in gen's cache keyed by the file's sha256 (checked against the lock on every read, here
    too) and by gen itself (the converter is part of it): converting a release's CRDs takes ~40 ms a run. The entry
    is authenticated like every cache entry, so a planted one (a ``{}`` that would let every field pass) is a miss,
    and only what a conversion gives is ever read back."""
    data = store.read(entry.path)
    cache = DiskCache(cache_root(), "crd-schemas", CONVERTED_VERSION)
    key = digest(package_digest(), entry.path, entry.sha256)
    kept = _from_json(cache.get_json(key))
    if kept is not None:
        return kept
    kinds: list[CustomKind] = []
    for doc in cached_yaml.load_all(data.decode("utf-8")):  # trusted, digest-checked upstream data
        if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
            scope = str((doc.get("spec") or {}).get("scope", "Namespaced"))
            kinds += [CustomKind(c.api_version, c.kind, scope, c.schema, c.cel_rules_dropped, c.openapi,
                                 c.status_subresource) for c in convert_crd(doc)]
    value = {"kinds": [{"api_version": k.api_version, "kind": k.kind, "scope": k.scope, "schema": k.schema,
                        "cel_rules_dropped": k.cel_rules_dropped, "openapi": k.openapi,
                        "status_subresource": k.status_subresource} for k in kinds]}
    if json.loads(json.dumps(value)) == value:  # only what JSON holds exactly (no tuples, no NaN)
        cache.put_json(key, value)
    return tuple(kinds)


def _from_json(entry: Any) -> tuple[CustomKind, ...] | None:
    """The kinds of a cache entry ``_converted`` wrote; None when it is not one."""
    if not isinstance(entry, dict) or not isinstance(entry.get("kinds"), list):
        return None
    try:
        return tuple(CustomKind(str(k["api_version"]), str(k["kind"]), str(k["scope"]), dict(k["schema"]),
                                int(k["cel_rules_dropped"]), dict(k["openapi"]), k["status_subresource"] is True)
                     for k in entry["kinds"])
    except (KeyError, TypeError, ValueError):
        return None


def _project_of(group: str) -> str | None:
    """The project whose CRDs are read only when first asked for that defines the API group, or None."""
    if group == ARGO_CD_GROUP:
        return ARGO_CD
    if group.endswith(FLUX_GROUP_SUFFIX):
        return FLUX
    return GPU_OPERATOR if group in GPU_GROUPS else None


class Schemas:
    """Validators by (apiVersion, kind) for one network-operator release, one Argo CD release, Flux, and one GPU
    Operator release (its ClusterPolicy and NVIDIADriver; the Flux and GPU Operator CRDs are read when first asked
    for)."""

    def __init__(self, release: str, argocd: str, store: SchemaStore, kube_version: str, flux: str = "",
                 gpu_release: str = ""):
        self.release, self.argocd, self.kube_version = release, argocd, kube_version
        self.flux = flux or list(catalog.load().flux_versions)[-1]
        self.gpu_release = gpu_release or load_gpu().default_release
        self._store = store
        self._core: CoreSchemas = core_schemas(kube_version)
        self._custom: dict[tuple[str, str], CustomKind] = {}
        self._served: dict[str, list[str]] = {}  # kind -> apiVersions served (custom kinds)
        self._add([*store.files(NETWORK_OPERATOR, release, "crds"),
                   *store.files(NETWORK_OPERATOR, release, "operand-crds")])
        self._unread = {ARGO_CD: argocd, FLUX: self.flux, GPU_OPERATOR: self.gpu_release}  # read when first asked for
        self._compiled: dict[tuple[str, str], Any] = {}

    def _add(self, entries: list[LockedFile]) -> None:
        for entry in entries:
            for custom in _converted(self._store, entry):
                self._custom.setdefault((custom.api_version, custom.kind), custom)
                self._served.setdefault(custom.kind, []).append(custom.api_version)

    def _load_group(self, group: str) -> None:
        """The Argo CD, Flux and GPU Operator CRDs are read on the first of their groups asked for (a repo with none
        of them never needs them, nor pays for converting or reading them: Argo CD's are 1.1 MB converted, most of
        the time of linting one file)."""
        project = _project_of(group)
        if project in self._unread:
            self._add(self._store.files(project, self._unread.pop(project), "crds"))

    def _lookup(self, api_version: str, kind: str) -> CustomKind | None:
        self._load_group(api_version.rpartition("/")[0])
        return self._custom.get((api_version, kind))

    def scope_of(self, group: str, kind: str) -> str | None:
        """A custom kind's scope (``Cluster`` or ``Namespaced``) by group and kind, whatever its version; None when
        no CRD has it."""
        self._load_group(group)
        for (api_version, custom_kind), custom in self._custom.items():
            if custom_kind == kind and api_version.rpartition("/")[0] == group:
                return custom.scope
        return None

    def describe(self) -> str:
        return f"network-operator {self.release}, Argo CD {self.argocd}"

    def custom_kinds(self) -> list[tuple[str, str]]:
        """(apiVersion, kind) of every custom kind of the network-operator, Argo CD and GPU Operator CRDs (the Flux
        kinds once one of them was asked for)."""
        self._load_group(ARGO_CD_GROUP)
        self._load_group(GPU_GROUP)
        return sorted(self._custom)

    def served(self, kind: str) -> list[str]:
        """The apiVersions a custom kind of this name is served as (the network-operator's and Argo CD's CRDs, and
        the Flux and GPU Operator ones once one of their groups was asked for); [] for none."""
        self._load_group(ARGO_CD_GROUP)
        return list(self._served.get(kind, []))

    def custom(self, api_version: str, kind: str) -> CustomKind | None:
        return self._lookup(api_version, kind)

    def core(self) -> CoreSchemas:
        """The core kinds' schemas of this Kubernetes version."""
        return self._core

    def cluster_scoped(self, api_version: str, kind: str) -> bool | None:
        """Whether a kind is cluster-scoped: its CRD's scope, or the catalog's for a built-in; None when unknown."""
        custom = self._lookup(api_version, kind)
        if custom is not None:
            return custom.scope == "Cluster"
        group = api_version.rpartition("/")[0]
        return catalog.load().builtin_scopes.get((group, kind))

    def status_reset(self, api_version: str, kind: str) -> bool:
        """Whether the API server drops the status written with an object of this kind (a status subresource:
        the CRD version declares one, or the built-in's strategy resets status on create)."""
        custom = self._lookup(api_version, kind)
        if custom is not None:
            return custom.status_subresource
        return (api_version.rpartition("/")[0], kind) in catalog.load().status_reset_kinds

    def validator(self, api_version: str, kind: str) -> Any:
        """A compiled strict validator, or None when no schema of this kind is known."""
        key = (api_version, kind)
        if key not in self._compiled:
            custom = self._lookup(*key)
            if custom is not None:
                self._compiled[key] = _compiled(custom)
            else:
                self._compiled[key] = self._core.validator(api_version, kind)
        return self._compiled[key]


_COMPILED: dict[int, tuple[CustomKind, Any]] = {}


def _compiled(custom: CustomKind) -> Any:
    """The strict validator of one converted kind, compiled once per process and shared by every ``Schemas`` that
    has it: a kind comes from one locked CRD file (``_converted`` keeps its kinds per file), and a fleet asks for the
    same file under many Kubernetes versions and GPU Operator releases. Compiled from the kind's schema alone, so
    sharing it changes no verdict; compiled once per ``Schemas``, they took 130 MB of a 500-cluster gen bundle."""
    kept = _COMPILED.get(id(custom))
    if kept is None or kept[0] is not custom:
        kept = (custom, jsonschema_rs.Draft202012Validator(custom.schema, validate_formats=True))
        _COMPILED[id(custom)] = kept  # the kind is kept with it: its id names no other object while kept
    return kept[1]


@functools.cache
def _schemas(release: str, argocd: str, store: SchemaStore, kube_version: str, flux: str,
             gpu_release: str) -> Schemas:
    return Schemas(release, argocd, store, kube_version, flux, gpu_release)


def schemas_for(release: str, argocd: str | None = None, store: SchemaStore | None = None,
                kube_version: str | None = None, flux: str | None = None, gpu_release: str | None = None) -> Schemas:
    """The Schemas of a release for a cluster of ``kube_version`` (default: the catalog's default Argo CD, newest
    Flux, the Kubernetes version gen lint assumes and the default GPU Operator release), kept per process."""
    cat = catalog.load()
    return _schemas(release, argocd or cat.default_argocd, store or open_store(), kube_version or cat.lint_kubernetes,
                    flux or list(cat.flux_versions)[-1], gpu_release or load_gpu().default_release)
