"""Strict schemas of Kubernetes core kinds, read from the files ``kubernetes-validate`` ships (its
``v<minor>.0-local-strict`` folders) and compiled with jsonschema_rs; ``kubernetes_validate`` itself is never
imported (it re-reads its definitions on every call)."""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import jsonschema_rs

from generator.catalog import minor_key
from generator.check.validators.crd import INT32, INT64, bounded
from generator.core.errors import ToolMissing

_K8S_BASE = "https://kubernetes.io/api/"


_FOLDER = re.compile(r"^v(\d+)\.(\d+)\.0-local-strict$")


def _schemas_root() -> Path:
    spec = importlib.util.find_spec("kubernetes_validate")  # finds it without importing it (~150 ms)
    if spec is None or not spec.submodule_search_locations:
        raise ToolMissing("kubernetes-validate is not installed (it ships the core-kind schemas); run scripts/setup.sh")
    return Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"


@functools.cache
def shipped_versions() -> tuple[str, ...]:
    """The Kubernetes minor versions kubernetes-validate ships strict schemas of, oldest first."""
    root = _schemas_root()
    found = [m.groups() for m in (_FOLDER.match(p.name) for p in root.iterdir() if p.is_dir()) if m]
    return tuple(f"{major}.{minor}" for major, minor in sorted(found, key=lambda g: (int(g[0]), int(g[1]))))


def schema_version(kube_version: str, shipped: tuple[str, ...] | None = None) -> str:
    """The version whose schemas check ``kube_version``'s core kinds: itself where kubernetes-validate ships it, else
    the nearest it ships (the newer of two as near)."""
    wanted = minor_key(kube_version)
    shipped = shipped_versions() if shipped is None else shipped
    if not shipped:
        raise ToolMissing("kubernetes-validate ships no strict schemas; reinstall it (scripts/setup.sh)")
    return min(shipped, key=lambda v: (abs(minor_key(v)[1] - wanted[1]) + 1000 * abs(minor_key(v)[0] - wanted[0]),
                                       tuple(-part for part in minor_key(v))))


def schema_dir(kube_version: str) -> Path:
    """The strict schemas of ``kube_version``, or of the nearest version shipped (``schema_version``)."""
    return _schemas_root() / f"v{schema_version(kube_version)}.0-local-strict"


def _with_bounds(node: Any) -> Any:
    """The schema with every integer bounded to the Go type it is decoded into (``format: int32`` or int64): the
    API server cannot decode a larger number into a typed object and refuses it. In place; returns ``node``."""
    if isinstance(node, dict):
        kind = node.get("type")
        if kind == "integer" or (isinstance(kind, list) and "integer" in kind):
            bounded(node, INT32 if node.get("format") == "int32" else INT64)
        for value in node.values():
            _with_bounds(value)
    elif isinstance(node, list):
        for value in node:
            _with_bounds(value)
    return node


class CoreSchemas:
    """Core-kind validators of one Kubernetes version, sharing one registry of definitions."""

    def __init__(self, kube_version: str):
        self.folder = schema_dir(kube_version)
        self._registry: Any = None
        self._defs: dict[str, Any] = {}

    @functools.cache  # noqa: B019 - one instance per Kubernetes version (core_schemas), kept for the process
    def raw(self, api_version: str, kind: str) -> dict[str, Any] | None:
        """The kind's schema (integers bounded), or None when this Kubernetes version has no such kind."""
        group, _, version = api_version.rpartition("/")
        stem = f"{kind.lower()}-{group.split('.')[0]}-{version}" if group else f"{kind.lower()}-{version}"
        file = self.folder / f"{stem}.json"
        if not (file.is_file() and "/" not in kind and kind[:1].isupper()):
            return None
        schema = json.loads(file.read_text(encoding="utf-8"))
        props = schema.get("properties", {})
        if api_version not in props.get("apiVersion", {}).get("enum", []) \
                or kind not in props.get("kind", {}).get("enum", []):
            return None
        return dict(_with_bounds(schema))

    @functools.cache  # noqa: B019 - as above
    def validator(self, api_version: str, kind: str) -> Any:
        """A compiled validator, or None when this Kubernetes version has no such kind."""
        schema = self.raw(api_version, kind)
        if schema is None:
            return None
        self._definitions()
        group, _, version = api_version.rpartition("/")
        stem = f"{kind.lower()}-{group.split('.')[0]}-{version}" if group else f"{kind.lower()}-{version}"
        return jsonschema_rs.Draft202012Validator(schema, registry=self._registry, base_uri=f"{_K8S_BASE}{stem}.json",
                                                  validate_formats=True)

    def resolve(self, node: Any) -> Any:
        """A schema node with its ``$ref`` (to a definition) followed; anything else as it is."""
        for _ in range(64):  # a definition that is only a reference to another: bounded
            if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
                break
            self._definitions()
            node = self._defs.get(node["$ref"].rpartition("/")[2])
        return node

    @functools.cache  # noqa: B019 - as above
    def type_validator(self, type_name: str) -> Any:
        """A validator of a Kubernetes type by its OpenAPI name (``io.k8s.api.core.v1.Toleration``; ``X[]`` for a
        list of X; ``map[string]string``, ``map[string]bool``, ``string[]``), or None for a type it does not know."""
        plain = {"map[string]string": {"type": "object", "additionalProperties": {"type": "string"}},
                 "map[string]bool": {"type": "object", "additionalProperties": {"type": "boolean"}},
                 "string[]": {"type": "array", "items": {"type": "string"}}}
        if type_name in plain:
            return jsonschema_rs.Draft202012Validator(plain[type_name])
        is_list = type_name.endswith("[]")
        name = type_name.removesuffix("[]")
        if not name.startswith("io.k8s."):
            return None
        self._definitions()
        ref: dict[str, Any] = {"$ref": f"{_K8S_BASE}_definitions.json#/$defs/{name}"}
        schema = {"type": "array", "items": ref} if is_list else ref
        return jsonschema_rs.Draft202012Validator(schema, registry=self._registry, validate_formats=True)

    def _definitions(self) -> None:
        if self._registry is None:
            definitions = _with_bounds(json.loads((self.folder / "_definitions.json").read_text(encoding="utf-8")))
            self._defs = definitions.get("$defs", {})
            self._registry = jsonschema_rs.Registry([(_K8S_BASE + "_definitions.json", definitions)])


def core_schemas(kube_version: str) -> CoreSchemas:
    """The core schemas that check ``kube_version``: one per folder of strict schemas, so the versions
    kubernetes-validate does not ship share the nearest one's (and its registry of definitions) instead of each
    loading a copy."""
    return _core_of(schema_version(kube_version))


@functools.cache
def _core_of(shipped_version: str) -> CoreSchemas:
    return CoreSchemas(shipped_version)
