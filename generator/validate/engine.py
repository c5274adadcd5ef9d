"""Strict schema validation of Kubernetes objects: custom kinds from pinned CRDs, core kinds from
the strict schemas shipped inside ``kubernetes-validate``; both through ``jsonschema_rs``.

Usage::

    v = Validator("v26.4.1")                    # Argo CD v3.5.1, Kubernetes 1.33
    findings = v.validate(obj, "bundle/nic.yaml")
    findings = v.validate_many([(obj, file), ...])
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import jsonschema_rs
import yaml

from generator.model import Finding
from generator.validate.crd_schema import (
    CONVERTER_VERSION,
    DNS1123_LABEL,
    DNS1123_SUBDOMAIN,
    LABEL_VALUE,
    QUALIFIED_NAME,
    QUANTITY_PATTERN,
    convert_crd,
)
from generator.validate.store import (
    ARGO_CD,
    DEFAULT_ARGOCD,
    NETWORK_OPERATOR,
    LockedFile,
    SchemaStore,
    atomic_write,
    open_store,
)

DEFAULT_KUBE_VERSION = "1.33"
RULE_SCHEMA = "schema"
RULE_UNKNOWN_KIND = "unknown-kind"
_K8S_BASE = "https://kubernetes.io/api/"
_MAX_VALUE_CHARS = 60

_PATTERN_NAMES = {
    QUANTITY_PATTERN: "not a Kubernetes quantity (e.g. 500m, 4Gi)",
    DNS1123_SUBDOMAIN: "not a valid DNS-1123 subdomain (lowercase letters, digits, '-' and '.'; "
    "starts and ends with a letter or digit)",
    DNS1123_LABEL: "not a valid DNS-1123 label (lowercase letters, digits and '-'; "
    "starts and ends with a letter or digit)",
    QUALIFIED_NAME: "not a valid label/annotation key ([prefix/]name; name: letters, digits, '-', '_', '.')",
    LABEL_VALUE: "not a valid label value (letters, digits, '-', '_', '.'; at most 63 characters)",
}


# ---------------------------------------------------------------------------------------------
# paths and messages


def dotted_path(parts: Iterable[str | int]) -> str:
    """``['spec', 'containers', 0, 'image']`` -> ``spec.containers[0].image``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _show(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 3] + "..."


def _is_int_or_string(kind: Any) -> bool:
    """An anyOf/oneOf whose branches are exactly 'integer' and 'string' type checks."""
    types: set[str] = set()
    for branch in getattr(kind, "context", None) or []:
        if len(branch) != 1 or not isinstance(branch[0].kind, jsonschema_rs.ValidationErrorKind.Type):
            return False
        types.update(branch[0].kind.types)
    return types == {"integer", "string"}


def error_messages(error: Any) -> list[tuple[str, str]]:
    """(dotted path, readable message) pairs for one jsonschema_rs error."""
    kinds = jsonschema_rs.ValidationErrorKind
    kind = error.kind
    path = dotted_path(error.instance_path)
    if isinstance(kind, kinds.AdditionalProperties):
        return [(_join(path, name), f"unknown field '{name}' (strict field validation rejects it)")
                for name in kind.unexpected]
    if isinstance(kind, kinds.Required):
        return [(_join(path, kind.property), f"missing required field '{kind.property}'")]
    if isinstance(kind, kinds.Pattern):
        described = _PATTERN_NAMES.get(kind.pattern)
        if described:
            return [(path, f"{_show(error.instance)} is {described}")]
        return [(path, f"{_show(error.instance)} does not match the pattern {kind.pattern}")]
    if isinstance(kind, (kinds.AnyOf, kinds.OneOfNotValid)):
        if _is_int_or_string(kind):
            return [(path, f"must be an integer or a string, got {_show(error.instance)}")]
        context = getattr(kind, "context", None) or []
        if context and all(len(b) == 1 and isinstance(b[0].kind, kinds.Required) for b in context):
            fields = ", ".join(sorted({b[0].kind.property for b in context}))
            return [(path, f"needs at least one of the fields: {fields}")]
        # If exactly one branch has the right type, its errors are the useful ones.
        branches = [b for b in context
                    if not (len(b) == 1 and isinstance(b[0].kind, kinds.Type))]
        if len(branches) == 1:
            return [pair for sub in branches[0] for pair in error_messages(sub)]
        return [(path, f"{_show(error.instance)} matches none of the allowed forms")]
    if isinstance(kind, kinds.Enum):
        allowed = ", ".join(_show(v) for v in kind.options)
        return [(path, f"{_show(error.instance)} is not an allowed value (allowed: {allowed})")]
    if isinstance(kind, kinds.Constant):
        return [(path, f"must be {_show(kind.expected_value)}, got {_show(error.instance)}")]
    if isinstance(kind, kinds.Type):
        wanted = " or ".join(kind.types)
        return [(path, f"{_show(error.instance)} is not of type {wanted}")]
    if isinstance(kind, kinds.PropertyNames):
        inner = kind.error
        inner_kind = inner.kind
        if isinstance(inner_kind, kinds.Pattern) and inner_kind.pattern in _PATTERN_NAMES:
            return [(path, f"key {_show(inner.instance)} is {_PATTERN_NAMES[inner_kind.pattern]}")]
        return [(path, f"key {_show(inner.instance)}: {inner.message}")]
    message = str(error.message)
    if len(message) > 300:
        message = message[:297] + "..."
    return [(path, message)]


def _non_json_path(value: Any, path: tuple[str | int, ...] = ()) -> tuple[tuple[str | int, ...], str] | None:
    """Where the first value JSON cannot represent is, and its type name."""
    if isinstance(value, dict):
        for key, sub in value.items():
            if not isinstance(key, str):
                return (*path, str(key)), f"{type(key).__name__} mapping key"
            found = _non_json_path(sub, (*path, key))
            if found:
                return found
        return None
    if isinstance(value, list):
        for index, sub in enumerate(value):
            found = _non_json_path(sub, (*path, index))
            if found:
                return found
        return None
    if value is None or isinstance(value, (str, bool, int, float)):
        return None
    return path, type(value).__name__


def object_label(obj: Any) -> str:
    """``Kind/name`` or ``Kind/namespace/name`` ("" when unknown)."""
    if not isinstance(obj, dict):
        return ""
    kind = obj.get("kind") if isinstance(obj.get("kind"), str) else "?"
    raw_meta = obj.get("metadata")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    name = meta.get("name") if isinstance(meta.get("name"), str) else "?"
    namespace = meta.get("namespace")
    return f"{kind}/{namespace}/{name}" if isinstance(namespace, str) and namespace else f"{kind}/{name}"


# ---------------------------------------------------------------------------------------------
# CRD schemas (converted, cached on disk by the CRD file's sha256)


@dataclass(frozen=True)
class _CrdKind:
    api_version: str
    kind: str
    source: LockedFile
    schema_file: str  # file name inside the converted-cache folder of ``source``
    cel_rules_dropped: int


def _schema_file_name(api_version: str, kind: str) -> str:
    return f"{api_version.replace('/', '_')}_{kind}.json"


class _CrdCache:
    """Converted schemas of locked CRD files; on disk under ``<cache>/converted/c<N>/<sha256>/``."""

    def __init__(self, store: SchemaStore):
        self.store = store
        self.root = store.cache_dir / "converted" / f"c{CONVERTER_VERSION}"
        self._memory: dict[tuple[str, str], dict[str, Any]] = {}  # (sha, file name) -> schema

    def kinds(self, entry: LockedFile) -> list[_CrdKind]:
        folder = self.root / entry.sha256
        index_file = folder / "index.json"
        try:
            index = json.loads(index_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            index = self._convert(entry)
        return [_CrdKind(i["apiVersion"], i["kind"], entry, i["file"], i["celRulesDropped"]) for i in index]

    def schema(self, crd: _CrdKind) -> dict[str, Any]:
        key = (crd.source.sha256, crd.schema_file)
        if key not in self._memory:
            try:
                text = (self.root / crd.source.sha256 / crd.schema_file).read_text(encoding="utf-8")
                self._memory[key] = json.loads(text)
            except (OSError, ValueError):
                self._convert(crd.source)
        return self._memory[key]

    def _convert(self, entry: LockedFile) -> list[dict[str, Any]]:
        text = self.store.read(entry.path).decode("utf-8")
        index: list[dict[str, Any]] = []
        folder = self.root / entry.sha256
        outputs: dict[str, bytes] = {}
        for doc in yaml.load_all(text, Loader=yaml.CSafeLoader):  # trusted, digest-checked upstream data
            if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
                continue
            for converted in convert_crd(doc):
                name = _schema_file_name(converted.api_version, converted.kind)
                self._memory[(entry.sha256, name)] = converted.schema
                outputs[name] = json.dumps(converted.schema, sort_keys=True, default=str).encode("utf-8")
                index.append({"apiVersion": converted.api_version, "kind": converted.kind, "file": name,
                              "celRulesDropped": converted.cel_rules_dropped})
        try:  # best effort: a read-only cache only costs speed
            for name, data in outputs.items():
                atomic_write(folder / name, data)
            atomic_write(folder / "index.json", json.dumps(index, sort_keys=True).encode("utf-8"))
        except OSError:
            pass
        return index


# ---------------------------------------------------------------------------------------------
# core kinds (kubernetes-validate's strict schemas)


def _kubernetes_validate_schema_dir(kube_version: str) -> Path:
    spec = importlib.util.find_spec("kubernetes_validate")  # finds it without importing it (~150 ms)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("kubernetes-validate is not installed (it ships the core-kind schemas)")
    major_minor = ".".join(kube_version.lstrip("v").split(".")[:2])
    folder = Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"
    folder = folder / f"v{major_minor}.0-local-strict"
    if not folder.is_dir():
        raise ValueError(f"Kubernetes {kube_version}: no strict schemas in kubernetes-validate ({folder})")
    return folder


class _CoreSchemas:
    """Strict core-kind schemas of one Kubernetes version, with one shared registry."""

    _instances: ClassVar[dict[str, _CoreSchemas]] = {}

    def __init__(self, kube_version: str):
        self.folder = _kubernetes_validate_schema_dir(kube_version)
        self._registry: Any = None
        self._validators: dict[tuple[str, str], Any] = {}

    @classmethod
    def get(cls, kube_version: str) -> _CoreSchemas:
        if kube_version not in cls._instances:
            cls._instances[kube_version] = cls(kube_version)
        return cls._instances[kube_version]

    def validator(self, api_version: str, kind: str) -> Any:
        """A compiled validator, or None when this Kubernetes version has no such kind."""
        key = (api_version, kind)
        if key in self._validators:
            return self._validators[key]
        group, _, version = api_version.rpartition("/")
        stem = f"{kind.lower()}-{group.split('.')[0]}-{version}" if group else f"{kind.lower()}-{version}"
        file = self.folder / f"{stem}.json"
        validator = None
        if file.is_file() and "/" not in kind and kind[:1].isupper():
            schema = json.loads(file.read_text(encoding="utf-8"))
            props = schema.get("properties", {})
            if api_version in props.get("apiVersion", {}).get("enum", []) and kind in props.get(
                "kind", {}
            ).get("enum", []):
                if self._registry is None:
                    definitions = json.loads((self.folder / "_definitions.json").read_text(encoding="utf-8"))
                    self._registry = jsonschema_rs.Registry([(_K8S_BASE + "_definitions.json", definitions)])
                validator = jsonschema_rs.Draft202012Validator(
                    schema, registry=self._registry, base_uri=_K8S_BASE + file.name, validate_formats=True
                )
        self._validators[key] = validator
        return validator


# ---------------------------------------------------------------------------------------------
# the validator


class Validator:
    """Validates objects for one network-operator release and one Argo CD version.

    Custom kinds (the release's chart and operand CRDs, Argo CD's CRDs) use strict schemas
    converted from the pinned CRDs; core kinds use kubernetes-validate's strict schemas for
    ``kube_version``. Schemas are compiled on first use and kept.
    """

    def __init__(self, release: str, argocd: str = DEFAULT_ARGOCD, *, store: SchemaStore | None = None,
                 kube_version: str = DEFAULT_KUBE_VERSION):
        self.release = release
        self.argocd = argocd
        self.kube_version = kube_version
        self.store = store or open_store()
        self._crds = _CrdCache(self.store)
        self._core = _CoreSchemas.get(kube_version)
        self._custom: dict[tuple[str, str], _CrdKind] = {}
        self._kinds: dict[str, list[str]] = {}  # kind -> apiVersions served (custom kinds)
        sources = (self.store.files(NETWORK_OPERATOR, release, "crds")
                   + self.store.files(NETWORK_OPERATOR, release, "operand-crds")
                   + self.store.files(ARGO_CD, argocd, "crds"))
        for entry in sources:
            for crd in self._crds.kinds(entry):
                self._custom.setdefault((crd.api_version, crd.kind), crd)
                self._kinds.setdefault(crd.kind, []).append(crd.api_version)
        self._compiled: dict[tuple[str, str], Any] = {}

    # -- lookup ------------------------------------------------------------------------------

    def custom_kinds(self) -> list[tuple[str, str]]:
        """(apiVersion, kind) of every custom kind this validator knows."""
        return sorted(self._custom)

    def cel_rules_dropped(self, api_version: str, kind: str) -> int:
        """How many CEL rules the CRD declares (not checked offline)."""
        crd = self._custom.get((api_version, kind))
        return crd.cel_rules_dropped if crd else 0

    def schema_for(self, api_version: str, kind: str) -> dict[str, Any] | None:
        """The converted strict schema of a custom kind (None for core or unknown kinds)."""
        crd = self._custom.get((api_version, kind))
        return self._crds.schema(crd) if crd else None

    def _validator(self, api_version: str, kind: str) -> Any:
        key = (api_version, kind)
        if key not in self._compiled:
            crd = self._custom.get(key)
            if crd is not None:
                self._compiled[key] = jsonschema_rs.Draft202012Validator(
                    self._crds.schema(crd), validate_formats=True
                )
            else:
                self._compiled[key] = self._core.validator(api_version, kind)
        return self._compiled[key]

    # -- validation --------------------------------------------------------------------------

    def validate(self, obj: Any, file: str) -> list[Finding]:
        """Findings for one object; [] when it is valid."""
        label = object_label(obj)

        def finding(path: str, message: str, rule: str = RULE_SCHEMA, severity: str = "error") -> Finding:
            return Finding(file, label, path, rule, message, severity)  # type: ignore[arg-type]

        if not isinstance(obj, dict):
            return [finding("", f"a Kubernetes object must be a mapping, got {type(obj).__name__}")]
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        missing = [name for name, value in (("apiVersion", api_version), ("kind", kind))
                   if not isinstance(value, str) or not value]
        if missing:
            return [finding(name, f"missing or empty '{name}'") for name in missing]
        assert isinstance(api_version, str) and isinstance(kind, str)
        validator = self._validator(api_version, kind)
        if validator is None:
            served = self._kinds.get(kind)
            if served:
                return [finding("apiVersion", f"{kind} is not served as {api_version!r}; use "
                                + " or ".join(repr(v) for v in sorted(set(served)))
                                + f" (network-operator {self.release}, Argo CD {self.argocd})")]
            return [finding("", f"no schema for {api_version} {kind} (network-operator {self.release}, "
                                f"Argo CD {self.argocd}, Kubernetes {self.kube_version}); not validated",
                            RULE_UNKNOWN_KIND, "warning")]
        try:
            if validator.is_valid(obj):
                return []
            errors = list(validator.iter_errors(obj))
        except ValueError as exc:
            where = _non_json_path(obj)
            path = dotted_path(where[0]) if where else ""
            what = f"a {where[1]}" if where else "a value"
            return [finding(path, f"{what} cannot be represented in JSON (quote it in YAML?): {exc}")]
        findings = [finding(path, message) for error in errors for path, message in error_messages(error)]
        return sorted(set(findings), key=lambda f: (f.path, f.message))

    def validate_many(self, objs: Iterable[tuple[Any, str]]) -> list[Finding]:
        """Findings for many (object, file) pairs, in input order."""
        validate = self.validate
        return [f for obj, file in objs for f in validate(obj, file)]


__all__ = [
    "DEFAULT_KUBE_VERSION",
    "RULE_SCHEMA",
    "RULE_UNKNOWN_KIND",
    "Validator",
    "dotted_path",
    "error_messages",
    "object_label",
]
