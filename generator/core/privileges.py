"""What a workload may do to its node, as short names: the host namespaces it joins, the host paths it mounts, the
privileged containers, added capabilities and explicit root users of its pods. Pure; used to compare what a chart
renders with what the same chart renders by default (``generator.check.chart_policy``), and by the maintainers'
tool that records the defaults (``maint/derive_chart_facts.py``).

Names: ``hostNetwork``, ``hostPID``, ``hostIPC``, ``hostPath:/path`` (no trailing slash), ``privileged``,
``capability:NAME`` (upper-case, without ``CAP_``), ``root`` (a container, or its pod, set to ``runAsUser: 0``).
"""

from __future__ import annotations

from typing import Any

from generator.core.objects import Path, as_dict, as_list, as_str, pod_templates

HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")
_CONTAINER_FIELDS = ("initContainers", "containers", "ephemeralContainers")


def _capability(name: Any) -> str:
    text = as_str(name).upper()
    return "capability:" + (text[4:] if text.startswith("CAP_") else text)


def _container_privileges(container: dict[str, Any], pod_user: Any, base: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    context = as_dict(container.get("securityContext"))
    if context.get("privileged") is True:
        out.setdefault("privileged", (*base, "securityContext", "privileged"))
    for i, cap in enumerate(as_list(as_dict(context.get("capabilities")).get("add"))):
        out.setdefault(_capability(cap), (*base, "securityContext", "capabilities", "add", i))
    user = context.get("runAsUser", pod_user)
    if user == 0 and not isinstance(user, bool):
        out.setdefault("root", (*base, "securityContext", "runAsUser") if "runAsUser" in context else base)
    return out


def privileges(obj: Any) -> dict[str, Path]:
    """Each privilege the pods of ``obj`` have -> the path (inside ``obj``) of its first occurrence; empty for an
    object without pods."""
    out: dict[str, Path] = {}
    if not isinstance(obj, dict):
        return out
    for tpath, template in pod_templates(obj):
        spec = as_dict(template.get("spec"))
        base: Path = (*tpath, "spec")
        for field in HOST_NAMESPACES:
            if spec.get(field) is True:
                out.setdefault(field, (*base, field))
        for i, volume in enumerate(as_list(spec.get("volumes"))):
            host = as_dict(as_dict(volume).get("hostPath"))
            if "path" in host:
                path = as_str(host.get("path")).rstrip("/") or "/"
                out.setdefault(f"hostPath:{path}", (*base, "volumes", i, "hostPath", "path"))
        pod_user = as_dict(spec.get("securityContext")).get("runAsUser")
        for field in _CONTAINER_FIELDS:
            for i, container in enumerate(as_list(spec.get(field))):
                if isinstance(container, dict):
                    for name, where in _container_privileges(container, pod_user, (*base, field, i)).items():
                        out.setdefault(name, where)
    return out


def workload_key(obj: dict[str, Any]) -> str:
    """``Kind/name``: how chart facts name a workload."""
    meta = as_dict(obj.get("metadata"))
    return f"{as_str(obj.get('kind'))}/{as_str(meta.get('name'))}"


def rbac_rule(rule: Any) -> dict[str, list[str]]:
    """A PolicyRule with its lists sorted and empty ones left out (the form chart facts record)."""
    out: dict[str, list[str]] = {}
    for field in ("apiGroups", "resources", "resourceNames", "nonResourceURLs", "verbs"):
        values = sorted({as_str(v) for v in as_list(as_dict(rule).get(field))})
        if values:
            out[field] = values
    return out


def _covers(allowed: list[str], wanted: str) -> bool:
    return "*" in allowed or wanted in allowed


def _grants(rule: dict[str, list[str]], group: str, resource: str, name: str, verb: str) -> bool:
    return (_covers(rule.get("apiGroups") or [""], group) and _covers(rule.get("resources") or [], resource)
            and _covers(rule.get("verbs") or [], verb)
            and (not rule.get("resourceNames") or bool(name and name in rule["resourceNames"])))


def granted(rule: dict[str, list[str]], by: list[dict[str, list[str]]]) -> list[str]:
    """What ``rule`` grants that none of ``by`` grants (each as ``verb group/resource[/name]`` or ``verb URL``)."""
    verbs = rule.get("verbs") or []
    if rule.get("nonResourceURLs"):
        return [f"{verb} {url}" for url in rule["nonResourceURLs"] for verb in verbs
                if not any(_covers(b.get("nonResourceURLs") or [], url) and _covers(b.get("verbs") or [], verb)
                           for b in by)]
    resource_rules = [b for b in by if not b.get("nonResourceURLs")]
    return [f"{verb} {group or 'core'}/{resource}{'/' + name if name else ''}"
            for group in rule.get("apiGroups") or [""] for resource in rule.get("resources") or []
            for name in rule.get("resourceNames") or [""] for verb in verbs
            if not any(_grants(b, group, resource, name, verb) for b in resource_rules)]
