"""``networkOperator.values`` checked for what they mean, not only for their keys (``generator.check.values_keys``
checks those): what a value does to the cluster, judged before anything is rendered or written.

Refused (each an error at the value's line; the message says why and what to do instead):

- **namespace**: a value that moves the operator or NFD out of the operator namespace (``namespaceOverride``);
  ``networkOperator.namespace`` moves everything together;
- **privilege**: a host namespace (``hostNetwork``, ``hostPID``, ``hostIPC``) the chart's default does not use, a
  security context more privileged than the chart's default for that workload (``privileged``, ``runAsUser: 0``,
  ``allowPrivilegeEscalation``, added capabilities, fewer dropped ones), a privileged init container;
- **image source**: an image the chart renders from a registry that is neither one the release publishes its
  images in nor a mirror of ``imageRegistry`` (a mirror entry is the way to pull from elsewhere);
- **re-enabled**: a value that turns back on what the bundle turns off on purpose (``nfd.deployNodeFeatureRules``,
  ``upgradeCRDs``);
- **truthiness**: a value the chart tests as a boolean given as anything else (``nfd.enabled: 'false'``: Helm's
  templates treat a non-empty string as true);
- **secret**: a private key (PEM), ``operator.admissionController.certificate.tlsKey``, or a secret-looking
  environment variable with a literal value: gen writes the values into committed files, and secrets are never
  written there; they belong in a Secret in the cluster.

Warned: a security context that is less hardened without being more privileged (``readOnlyRootFilesystem: false``,
``runAsNonRoot: false`` without a root user).
"""

from __future__ import annotations

import re
from typing import Any

from generator.catalog.charts import ChartFacts, lookup
from generator.check.registries import source_problem
from generator.cluster.model import Cluster
from generator.core.finding import JsonPath
from generator.core.objects import as_dict, as_list
from generator.core.privileges import HOST_NAMESPACES
from generator.render.operator_values import helm_values, merge, public_values

Problems = list[tuple[JsonPath, str]]

SECURITY_CONTEXT = "io.k8s.api.core.v1.SecurityContext"
POD_SECURITY_CONTEXT = "io.k8s.api.core.v1.PodSecurityContext"
CONTAINERS = "io.k8s.api.core.v1.Container[]"
NAMESPACE_KEYS = ("namespaceOverride", "namespace")
TLS_KEY = "operator.admissionController.certificate.tlsKey"
_PEM_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----")
_SECRET_ENV = re.compile(r"(?i)(passw(or)?d|secret|token|api[_-]?key|private[_-]?key|credential)")
_SECRET_FIX = ("secrets are never written to committed output, and gen writes the chart's values into output/; "
               "put it in a Secret in the cluster")

# What gen sets on purpose, and why a value may not turn it back
REENABLED: dict[str, tuple[Any, str]] = {
    "nfd.deployNodeFeatureRules": (False, "turns back on the chart's own NodeFeatureRule, which the bundle replaces "
                                          "with its own (feature.node.kubernetes.io/pci-15b3.present, the guide's "
                                          "rule): two rules would label the nodes; add a NodeFeatureRule of your own "
                                          "in overlays/<name>/ for more labels"),
    "upgradeCRDs": (False, "turns back on the chart's pre-install/pre-upgrade Job that replaces the CRDs wholesale "
                           "and drops Argo CD's tracking annotation on every sync; Argo CD applies the chart's CRDs "
                           "itself, so remove the value"),
}


def meaning_problems(cluster: Cluster, facts: ChartFacts) -> tuple[Problems, Problems]:
    """(errors, warnings), each a path inside ``networkOperator.values`` and a message."""
    values = cluster.chart_values
    errors: Problems = []
    warnings: Problems = []
    _walk(values, (), facts, cluster, errors, warnings)
    for key, (wanted, why) in REENABLED.items():
        given = lookup(values, key)
        if given is not None and given != wanted and isinstance(given, bool):
            errors.append((tuple(key.split(".")), f"{why} (the bundle sets {str(wanted).lower()})"))
    errors += _image_problems(cluster, facts)
    return errors, warnings


def _walk(node: Any, path: JsonPath, facts: ChartFacts, cluster: Cluster, errors: Problems,
          warnings: Problems) -> None:
    """Every value under ``node`` (at ``path`` in the values)."""
    dotted = ".".join(str(p) for p in path)
    kind = facts.free_form_type(dotted)
    if kind in (SECURITY_CONTEXT, POD_SECURITY_CONTEXT) and isinstance(node, dict):
        default = facts.values.get(dotted)
        _context(merge(default if isinstance(default, dict) else {}, node), default, path, errors, warnings)
    if kind == CONTAINERS and isinstance(node, list):
        for i, container in enumerate(node):
            _init_container(container, (*path, i), cluster, facts, errors)
    if isinstance(node, list):
        for i, item in enumerate(node):
            _walk(item, (*path, i), facts, cluster, errors, warnings)
    elif isinstance(node, dict):
        if isinstance(node.get("name"), str) and "value" in node:  # an environment variable
            _env(node, path, errors)
        for key, value in node.items():
            _walk(value, (*path, key), facts, cluster, errors, warnings)
    else:
        _leaf(node, path, facts, cluster, errors)


def _env(env: dict[str, Any], path: JsonPath, errors: Problems) -> None:
    if _SECRET_ENV.search(env["name"]) and isinstance(env["value"], str) and env["value"]:
        errors.append(((*path, "value"), f"the environment variable {env['name']!r} looks like a secret and has a "
                                         f"literal value; {_SECRET_FIX} and refer to it with valueFrom.secretKeyRef"))


def _leaf(value: Any, path: JsonPath, facts: ChartFacts, cluster: Cluster, errors: Problems) -> None:
    dotted = ".".join(str(p) for p in path)
    leaf = path[-1] if path else ""
    if (isinstance(value, str) and _PEM_KEY.search(value)) or (dotted == TLS_KEY and value):
        errors.append((path, f"holds a private key; {_SECRET_FIX} (for the admission controller's certificate: the "
                             "Secret webhook-server-cert, or operator.admissionController.useCertManager: true)"))
        return
    default = facts.values.get(dotted)
    if isinstance(default, bool) and value is not None and not isinstance(value, bool):
        shown = f"the string {value!r}" if isinstance(value, str) else f"{value!r}"
        meant = "false" if str(value).strip().lower() in ("false", "no", "off", "0", "") else "true"
        errors.append((path, f"is {shown}, where the chart takes true or false: Helm's templates treat any non-empty "
                             "string (and any non-zero number) as true, and a chart condition ignores a value that is "
                             f"not a boolean; write {meant} without quotes"))
    if leaf in HOST_NAMESPACES and value is True and default is not True:
        errors.append((path, f"gives the workload the node's {_host(leaf)}, which the chart {facts.version} does not "
                             "by default; remove the value (nothing the bundle deploys needs it)"))
    if leaf in NAMESPACE_KEYS and isinstance(value, str) and value and value != cluster.namespace:
        errors.append((path, f"moves it to the namespace {value!r}, out of the operator namespace "
                             f"{cluster.namespace!r} (labelled privileged, the one the Application and its AppProject "
                             "hold the chart's objects to); remove it, or set networkOperator.namespace to move the "
                             "operator and NFD together"))


def _host(field: str) -> str:
    return {"hostNetwork": "network", "hostPID": "PID namespace", "hostIPC": "IPC namespace"}[field]


def _context(effective: dict[str, Any], default: Any, path: JsonPath, errors: Problems, warnings: Problems) -> None:
    """A (pod) security context as Helm merges it over the chart's default, against that default."""
    before = default if isinstance(default, dict) else {}
    fix = "remove it (nothing the bundle deploys needs it)"
    for field in ("privileged", "allowPrivilegeEscalation"):
        if effective.get(field) is True and before.get(field) is not True:
            errors.append(((*path, field), f"{field}: true makes the workload more privileged than the chart's "
                                           f"default for it; {fix}"))
    if effective.get("runAsUser") == 0 and before.get("runAsUser") != 0:
        errors.append(((*path, "runAsUser"), f"runAsUser: 0 runs the workload as root, unlike the chart's default for "
                                             f"it; {fix}"))
    caps, old_caps = as_dict(effective.get("capabilities")), as_dict(before.get("capabilities"))
    added = [c for c in as_list(caps.get("add")) if c not in as_list(old_caps.get("add"))]
    if added:
        errors.append(((*path, "capabilities", "add"), f"adds the capabilities {', '.join(map(str, added))}, beyond "
                                                       f"the chart's default for the workload; {fix}"))
    kept = [c for c in as_list(old_caps.get("drop")) if c not in as_list(caps.get("drop"))]
    if kept:
        errors.append(((*path, "capabilities", "drop"), f"no longer drops {', '.join(map(str, kept))}, which the "
                                                        f"chart's default for the workload drops; {fix}"))
    for field, relaxed in (("readOnlyRootFilesystem", False), ("runAsNonRoot", False)):
        if effective.get(field) is relaxed and before.get(field) is not relaxed and effective.get("runAsUser") != 0:
            warnings.append(((*path, field), f"{field}: false is less hardened than the chart's default"))


def _init_container(container: Any, path: JsonPath, cluster: Cluster, facts: ChartFacts, errors: Problems) -> None:
    if not isinstance(container, dict):
        return
    context = container.get("securityContext")
    if isinstance(context, dict):
        _context(context, {}, (*path, "securityContext"), errors, [])
    image = container.get("image")
    if isinstance(image, str):
        problem = source_problem(image, facts.tag, cluster.images)
        if problem:
            errors.append(((*path, "image"), f"{problem}; {_MIRROR_FIX}"))


_MIRROR_FIX = ("to pull images from another registry, add it as a mirror (imageRegistry: {<published prefix>: <your "
               "registry>}) and remove the value: gen points every image at the mirror")


def _image_problems(cluster: Cluster, facts: ChartFacts) -> Problems:
    """The chart's images whose registry a value sets (repository or whole reference), as the chart will pull them
    (mirrors applied)."""
    out: Problems = []
    values = cluster.chart_values
    final = helm_values(cluster)
    for image in facts.rendered_images(public_values(cluster)):
        keys = [image.keys[k] for k in ("ref", "repository") if k in image.keys]
        given = [k for k in keys if lookup(values, k) is not None]
        if not given:
            continue
        problem = source_problem(facts.image_ref(image, final), facts.tag, cluster.images)
        if problem:
            out.append((tuple(given[0].split(".")), f"{problem} (the image the chart pulls with this value); "
                                                    f"{_MIRROR_FIX}"))
    return out
