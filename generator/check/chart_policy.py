"""What the network-operator chart renders, held to a policy like a user's overlay: the release's chart with its
own defaults defines what is expected (``privileges`` and ``objects`` in the chart facts, derived from the release's
default render), and anything beyond it is an error naming the object and the field.

- ``chart-privilege``: a workload with a privilege its default render does not have: a host namespace
  (hostNetwork, hostPID, hostIPC), a hostPath it does not mount, a privileged container, an added capability, an
  explicit root user. A workload the default render does not have may have none of them.
- ``chart-namespace``: a namespaced object outside the operator namespace, a cluster-scoped object (a
  ValidatingWebhookConfiguration, a CRD, ...) the chart does not render with these values, or a kind gen cannot
  place; a CRD that converts through a webhook.
- ``chart-rbac``: a ClusterRole or ClusterRoleBinding the chart does not render with these values, a ClusterRole
  that grants more than the same role of the default render, a binding to another role or to other subjects.
  (Objects that a value of the chart turns on, ``toggles`` in the facts, are known by kind and name; their rules
  are not in the facts, so only their identity is checked.)
- ``chart-image-source``: an image that is neither from a repository the release publishes its images in nor
  from a mirror of the spec's ``imageRegistry`` (a staging image is ``image-published``'s).

A chart from a mirror or a cache is whatever its archive holds; this is what stops one that adds a privileged,
hostPID pod mounting ``/`` from an unknown registry, or widens the operator's ClusterRole, from being committed.
"""

from __future__ import annotations

from typing import Any

from generator import catalog
from generator.catalog.charts import ChartFacts
from generator.check.chart_objects import container_images, is_staging
from generator.check.registries import source_problem
from generator.cluster.model import Images
from generator.core.finding import Finding
from generator.core.objects import as_dict, as_list, as_str, group_kind, name_of, namespace_of
from generator.core.privileges import granted, privileges, rbac_rule, workload_key
from generator.core.rules import define

CHART_PRIVILEGE = define(
    "chart-privilege", "error",
    "a workload the network-operator chart renders is more privileged than the release's chart renders it by "
    "default (host namespaces, a hostPath, a privileged container, an added capability, root)",
    "bundle")
CHART_NAMESPACE = define(
    "chart-namespace", "error",
    "an object the network-operator chart renders is outside the operator namespace, or is a cluster-scoped object "
    "(or a kind) the release's chart does not render",
    "bundle")
CHART_RBAC = define(
    "chart-rbac", "error",
    "a ClusterRole or ClusterRoleBinding the network-operator chart renders is new, or grants more than the "
    "release's chart grants by default",
    "bundle")
CHART_IMAGE_SOURCE = define(
    "chart-image-source", "error",
    "an image the network-operator chart renders comes neither from a repository the release publishes its images "
    "in nor from a mirror of the spec's imageRegistry",
    "bundle")

RBAC_GROUP = "rbac.authorization.k8s.io"
_WHAT = {"hostNetwork": "uses the node's network (hostNetwork)", "hostPID": "joins the node's PID namespace (hostPID)",
         "hostIPC": "joins the node's IPC namespace (hostIPC)", "privileged": "runs a privileged container",
         "root": "runs as root (runAsUser: 0)"}


def _describe(privilege: str) -> str:
    if privilege.startswith("hostPath:"):
        return f"mounts the node's {privilege.partition(':')[2]} (hostPath)"
    if privilege.startswith("capability:"):
        return f"adds the capability {privilege.partition(':')[2]}"
    return _WHAT.get(privilege, privilege)


class _Expected:
    """What the release's chart renders with the cluster's values: the identities of its cluster-scoped objects and
    the scope of every kind it (or Kubernetes) has."""

    def __init__(self, facts: ChartFacts, values: dict[str, Any]):
        self.facts = facts
        rendered = facts.rendered_objects(values)
        self.cluster_scoped = {(o.kind, o.name) for o in rendered if not o.namespaced}
        self.cluster_scoped |= {("CustomResourceDefinition", crd.name) for crd in facts.crds}
        known = [*facts.objects, *(o for t in facts.toggles.values() for o in (*t.objects, *t.objects_when_off))]
        self.scopes: dict[tuple[str, str], bool] = {(o.group, o.kind): o.namespaced for o in known}
        self.scopes.update({(c.group, c.kind): c.scope == "Namespaced" for c in facts.crds})
        self.scopes.update({key: not cluster for key, cluster in catalog.load().builtin_scopes.items()})

    def namespaced(self, obj: dict[str, Any]) -> bool | None:
        return self.scopes.get(group_kind(obj))


def check_chart_policy(objects: list[Any], facts: ChartFacts, values: dict[str, Any], namespace: str,
                       images: Images) -> list[Finding]:
    """Findings (``index`` into ``objects``: what helm rendered) of the render policy, for a chart rendered with
    ``values`` into ``namespace``."""
    expected = _Expected(facts, values)
    out: list[Finding] = []
    for index, obj in enumerate(objects):
        if not isinstance(obj, dict):
            continue
        out += _placement(index, obj, expected, namespace)
        out += _rbac(index, obj, expected, namespace)
        out += _privileges(index, obj, facts)
        out += [CHART_IMAGE_SOURCE.at(path, f"{workload_key(obj)}: {problem}; pull it through a mirror "
                                            "(imageRegistry) or use the release's chart as published", index)
                for path, ref in container_images(obj) if not is_staging(ref)
                for problem in [source_problem(ref, facts.tag, images)] if problem]
    return out


def _placement(index: int, obj: dict[str, Any], expected: _Expected, namespace: str) -> list[Finding]:
    label = workload_key(obj)
    scope = expected.namespaced(obj)
    if scope is None:
        return [CHART_NAMESPACE.at(("kind",), f"{label}: {'/'.join(filter(None, group_kind(obj)))} is a kind the "
                                              f"release's chart {expected.facts.version} does not render; gen cannot "
                                              "tell where it would land", index)]
    if scope:
        where = namespace_of(obj)
        if where and where != namespace:
            return [CHART_NAMESPACE.at(("metadata", "namespace"), f"{label}: in namespace {where!r}, outside the "
                                                                  f"operator namespace {namespace!r}", index)]
        return []
    out = []
    group, kind = group_kind(obj)
    if group != RBAC_GROUP and (kind, name_of(obj)) not in expected.cluster_scoped:
        out.append(CHART_NAMESPACE.at(("metadata", "name"), f"{label}: a cluster-scoped object the release's chart "
                                                            f"{expected.facts.version} does not render with these "
                                                            "values", index))
    if kind == "CustomResourceDefinition" and as_str(as_dict(as_dict(obj.get("spec")).get("conversion"))
                                                     .get("strategy")) == "Webhook":
        out.append(CHART_NAMESPACE.at(("spec", "conversion", "strategy"), f"{label}: converts its objects through "
                                                                          "a webhook; the chart's CRDs do not", index))
    return out


def _rbac(index: int, obj: dict[str, Any], expected: _Expected, namespace: str) -> list[Finding]:
    group, kind = group_kind(obj)
    if group != RBAC_GROUP or kind not in ("ClusterRole", "ClusterRoleBinding"):
        return []
    name, label = name_of(obj), workload_key(obj)
    rbac = expected.facts.privileges
    default = rbac.cluster_roles.get(name) if kind == "ClusterRole" else rbac.cluster_role_bindings.get(name)
    if default is None:
        if (kind, name) in expected.cluster_scoped:
            return []  # turned on by a value of the chart: known by name (the facts do not hold its rules)
        return [CHART_RBAC.at(("metadata", "name"), f"{label}: cluster-scoped RBAC the release's chart "
                                                    f"{expected.facts.version} does not render", index)]
    if kind == "ClusterRole":
        out = []
        if obj.get("aggregationRule"):
            out.append(CHART_RBAC.at(("aggregationRule",), f"{label}: aggregates other roles; the chart's does not",
                                     index))
        rules = [dict(r) for r in rbac.cluster_roles[name]]
        for i, rule in enumerate(as_list(obj.get("rules"))):
            extra = granted(rbac_rule(rule), rules)
            if extra:
                shown = ", ".join(extra[:3]) + (f" and {len(extra) - 3} more" if len(extra) > 3 else "")
                out.append(CHART_RBAC.at(("rules", i), f"{label}: grants {shown}, beyond what the release's chart "
                                                       "grants by default", index))
        return out
    return _binding(index, obj, rbac.cluster_role_bindings[name], rbac.render_namespace, namespace)


def _binding(index: int, obj: dict[str, Any], default: tuple[str, tuple[str, ...]], facts_namespace: str,
             namespace: str) -> list[Finding]:
    label = workload_key(obj)
    ref = as_dict(obj.get("roleRef"))
    out = []
    if f"{as_str(ref.get('kind'))}/{as_str(ref.get('name'))}" != default[0]:
        out.append(CHART_RBAC.at(("roleRef",), f"{label}: binds {as_str(ref.get('kind'))} "
                                               f"{as_str(ref.get('name'))!r}; the release's chart binds {default[0]}",
                                 index))
    group_prefix = "system:serviceaccounts:"
    for i, subject in enumerate(as_list(obj.get("subjects"))):
        subject = as_dict(subject)
        where, name = as_str(subject.get("namespace")), as_str(subject.get("name"))
        # the facts name the namespace they were rendered in; the cluster's stands for it, any other never matches
        if where:
            where = facts_namespace if where == namespace else where + "\0"
        if name.startswith(group_prefix):
            name = group_prefix + facts_namespace if name == group_prefix + namespace else name + "\0"
        if f"{as_str(subject.get('kind'))}/{where}/{name}" not in default[1]:
            out.append(CHART_RBAC.at(("subjects", i), f"{label}: binds {as_str(subject.get('kind'))} "
                                                      f"{as_str(subject.get('name'))!r}, which the release's chart "
                                                      "does not", index))
    return out


def _privileges(index: int, obj: dict[str, Any], facts: ChartFacts) -> list[Finding]:
    label = workload_key(obj)
    allowed = facts.privileges.workloads.get(label, frozenset())
    return [CHART_PRIVILEGE.at(path, f"{label}: {_describe(privilege)}, which the release's chart {facts.version} "
                                     "does not do by default; remove the value that turns it on, or use the "
                                     "release's chart as published", index)
            for privilege, path in privileges(obj).items() if privilege not in allowed]
