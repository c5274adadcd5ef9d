"""Safe accessors for untrusted parsed objects (any value may be of any type), for every check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from generator.core.finding import JsonPath as Path


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def group_kind(obj: dict[str, Any]) -> tuple[str, str]:
    """(API group, kind): ``mellanox.com/v1alpha1`` NicClusterPolicy -> ("mellanox.com", "NicClusterPolicy")."""
    api = as_str(obj.get("apiVersion"))
    group = api.rpartition("/")[0] if "/" in api else ""
    return group, as_str(obj.get("kind"))


def name_of(obj: dict[str, Any]) -> str:
    return as_str(as_dict(obj.get("metadata")).get("name"))


def namespace_of(obj: dict[str, Any]) -> str:
    return as_str(as_dict(obj.get("metadata")).get("namespace"))


_TEMPLATE_PATHS: dict[str, Path] = {
    "Deployment": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


def get_in(obj: Any, path: Path) -> Any:
    for part in path:
        if isinstance(part, int):
            obj = obj[part] if isinstance(obj, list) and 0 <= part < len(obj) else None
        else:
            obj = obj.get(part) if isinstance(obj, dict) else None
        if obj is None:
            return None
    return obj


def pod_templates(obj: dict[str, Any]) -> Iterator[tuple[Path, dict[str, Any]]]:
    """(path of the pod template or Pod, the template) for Pods and the built-in workload kinds."""
    group, kind = group_kind(obj)
    if group in ("", "apps", "batch"):
        if kind == "Pod" and group == "":
            yield (), obj
            return
        path = _TEMPLATE_PATHS.get(kind)
        if path is not None:
            template = get_in(obj, path)
            if isinstance(template, dict):
                yield path, template


def containers(template: dict[str, Any]) -> Iterator[tuple[Path, dict[str, Any]]]:
    spec = as_dict(template.get("spec"))
    for field in ("initContainers", "containers"):
        for index, container in enumerate(as_list(spec.get(field))):
            if isinstance(container, dict):
                yield ("spec", field, index), container


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
