"""Checks of the network-operator chart as Argo CD will apply it: its values, its images, and whether what must run
on the InfiniBand nodes tolerates the pool's taints. They run on the chart as helm rendered it when the chart is at
hand, else on what the catalog's chart facts say it renders with the cluster's values."""

from __future__ import annotations

from typing import Any

from generator import catalog
from generator.cluster.model import Images
from generator.core.finding import Finding
from generator.core.formats import image_reference_error
from generator.core.kube import SECONDARY_NETWORK_COMPONENTS
from generator.core.objects import (
    Path,
    as_dict,
    as_list,
    as_str,
    containers,
    group_kind,
    object_label,
    pod_templates,
)
from generator.core.rules import define
from generator.render.image_refs import driver_image, matching_prefix, operator_image, parse, rewrite
from generator.render.resources import SRIOV_RESOURCE_NAME, WEBHOOK_SRIOV_RESOURCE_PREFIX

CHART_RENDER = define(
    "chart-render", "error",
    "`helm template` of the release's network-operator chart with the cluster's values failed",
    "build")
CHART_VALUES = define(
    "chart-values", "error",
    "a value the release's network-operator chart does not read, ignores, or takes in another type",
    "schema")
IMAGE_PUBLISHED = define(
    "image-published", "error",
    "an image comes from NVIDIA's staging registry (nvcr.io/nvstaging), which nodes cannot pull from; use the "
    "published repository",
    "cross")
IMAGE_MIRROR = define(
    "image-mirror", "error",
    "the spec's imageRegistry moves an image's registry to a mirror, but the image still points at the public "
    "source (an overlay patch or a value set it there); nodes would pull it from the public registry",
    "cross")
IMAGE_REFERENCE = define(
    "image-reference", "error",
    "an image reference does not parse (github.com/distribution/reference): a container image, a *_IMAGE env "
    "value, or a NicClusterPolicy component as the operator composes it (repository/image:version, @version for "
    "sha256:, the DOCA driver with the node's -<os><version>-<arch>)",
    "cross")
POOL_TAINTS = define(
    "pool-taints", "error",
    "something that must run on the InfiniBand nodes (the NFD worker, the NicClusterPolicy's operands, RDMA pods) "
    "does not tolerate a taint the spec says the node pool has; it would never be scheduled there",
    "cross")

STAGING = ("nvcr.io/nvstaging/",)


def is_staging(reference: str) -> bool:
    return reference.startswith(STAGING)


def container_images(obj: dict[str, Any]) -> list[tuple[Path, str]]:
    """(path, reference) of the images of an object's containers and their ``*_IMAGE`` env values."""
    out: list[tuple[Path, str]] = []
    for tpath, template in pod_templates(obj):
        for cpath, container in containers(template):
            base = (*tpath, *cpath)
            if isinstance(container.get("image"), str):
                out.append(((*base, "image"), container["image"]))
            for i, env in enumerate(as_list(container.get("env"))):
                env = as_dict(env)
                if as_str(env.get("name")).endswith("_IMAGE") and isinstance(env.get("value"), str):
                    out.append(((*base, "env", i, "value"), env["value"]))
    return out


def image_references(obj: dict[str, Any]) -> list[tuple[Path, str]]:
    """(path, reference) of every image an object names: containers, ``*_IMAGE`` env values, and the
    NicClusterPolicy's component repositories."""
    out = container_images(obj)
    for path, _, component in _components(obj):
        repository = as_str(component.get("repository"))
        if repository:
            out.append(((*path, "repository"), repository))
    return out


# the image components of a NicClusterPolicy or NicNodePolicy (spec.<name> / spec.secondaryNetwork.<name>; ipamPlugin:
# releases up to v25.7.0)
IMAGE_COMPONENTS = ("ofedDriver", "rdmaSharedDevicePlugin", "sriovDevicePlugin", "ibKubernetes", "nvIpam",
                    "nicFeatureDiscovery", "docaTelemetryService")


def _components(obj: dict[str, Any]) -> list[tuple[Path, str, dict[str, Any]]]:
    """(path, name, spec) of the image components of a NicClusterPolicy or NicNodePolicy."""
    group, kind = group_kind(obj)
    if group != "mellanox.com" or kind not in ("NicClusterPolicy", "NicNodePolicy"):
        return []
    spec = as_dict(obj.get("spec"))
    secondary = as_dict(spec.get("secondaryNetwork"))
    out: list[tuple[Path, str, dict[str, Any]]] = [(("spec", n), n, as_dict(spec.get(n))) for n in IMAGE_COMPONENTS]
    out += [(("spec", "secondaryNetwork", n), n, as_dict(secondary.get(n))) for n in SECONDARY_NETWORK_COMPONENTS]
    return [(path, name, component) for path, name, component in out if component]


def pulled_images(obj: dict[str, Any], release: str) -> list[tuple[Path, str]]:
    """(path, reference) of every image an object makes a node pull with the release's operator: containers,
    ``*_IMAGE`` env values, and the policy's components composed as the operator composes them (the DOCA driver for
    one node platform, ``lint_platform``: every platform's reference differs only in that suffix, which checks of
    the reference's form and its registry do not depend on)."""
    out = container_images(obj)
    cat = catalog.load()
    for path, name, component in _components(obj):
        repository, image = as_str(component.get("repository")), as_str(component.get("image"))
        version = as_str(component.get("version"))
        if not (repository and image and version):
            continue
        if name == "ofedDriver":
            takes_digest = release in cat.releases and cat.takes_driver_digest(cat.release(release))
            out.append((path, driver_image(repository, image, version, cat.lint_platform.driver_suffix,
                                           takes_digest)))
        else:
            out.append((path, operator_image(repository, image, version)))
    return out


def check_images(members: list[tuple[int, Any]], release: str = "") -> list[Finding]:
    """Staging images (``image-published``) and references that do not parse (``image-reference``)."""
    out = []
    for index, obj in members:
        if not isinstance(obj, dict):
            continue
        out += [IMAGE_PUBLISHED.at(path, f"{ref!r} is in the staging registry; nodes cannot pull it", index)
                for path, ref in image_references(obj) if is_staging(ref)]
        for path, ref in pulled_images(obj, release):
            problem = image_reference_error(ref)
            if problem:
                out.append(IMAGE_REFERENCE.at(path, f"{ref!r} is not an image reference ({problem}); no node can "
                                                    "pull it", index))
    return out


def unmirrored(reference: str, images: Images) -> str:
    """The public prefix ``imageRegistry`` moves that ``reference`` still points at ("" when none)."""
    return matching_prefix(parse(reference).name, dict(images.mirrors)) or ""


def mirror_message(reference: str, images: Images) -> str:
    prefix = unmirrored(reference, images)
    return (f"{reference!r} is pulled from {prefix!r}, which imageRegistry moves to "
            f"{dict(images.mirrors)[prefix]!r}; point it at {rewrite(reference, images)!r} (or drop the override "
            "that sets it)")


def check_mirrored(members: list[tuple[int, Any]], images: Images, release: str) -> list[Finding]:
    """With mirrors set: every image of ``members`` that still points at a public prefix they replace."""
    if not images.mirrors:
        return []
    return [IMAGE_MIRROR.at(path, f"{object_label(obj)}: {mirror_message(ref, images)}", index)
            for index, obj in members if isinstance(obj, dict)
            for path, ref in pulled_images(obj, release) if unmirrored(ref, images)]


# -- taints and tolerations (k8s.io/api/core/v1 Toleration.ToleratesTaint) -------------------------------------


def tolerates(toleration: dict[str, Any], taint: dict[str, Any]) -> bool:
    effect = as_str(toleration.get("effect"))
    if effect and effect != as_str(taint.get("effect")):
        return False
    key = as_str(toleration.get("key"))
    operator = as_str(toleration.get("operator")) or "Equal"
    if key and key != as_str(taint.get("key")):
        return False
    if operator == "Exists":
        return True
    return bool(key) and as_str(toleration.get("value")) == as_str(taint.get("value"))


def untolerated(tolerations: list[Any], taints: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    """The taints (NoSchedule, NoExecute) none of ``tolerations`` tolerates."""
    return [t for t in taints if t.get("effect") in ("NoSchedule", "NoExecute")
            and not any(isinstance(tol, dict) and tolerates(tol, t) for tol in tolerations)]


def taint_text(taint: dict[str, Any]) -> str:
    value = f"={taint['value']}" if taint.get("value") else ""
    return f"{taint.get('key')}{value}:{taint.get('effect')}"


# what a pod template that must run on the InfiniBand nodes holds: an RDMA resource (rdma/..., or the SR-IOV resource
# under the prefix the webhook accepts) or the NodeFeatureRule's label
_NODE_LEVEL_MARKERS = ("rdma/", f"{WEBHOOK_SRIOV_RESOURCE_PREFIX}/{SRIOV_RESOURCE_NAME}", "pci-15b3.present")


def node_level(obj: dict[str, Any]) -> list[tuple[Path, list[Any]]]:
    """(path of the tolerations, tolerations) of what must run on the InfiniBand nodes in ``obj``: DaemonSets (the
    NFD worker), the NicClusterPolicy (its operand DaemonSets), and pods that ask for RDMA devices or that select
    the InfiniBand nodes."""
    group, kind = group_kind(obj)
    if group == "mellanox.com" and kind == "NicClusterPolicy":
        return [(("spec", "tolerations"), as_list(as_dict(obj.get("spec")).get("tolerations")))]
    out = []
    for tpath, template in pod_templates(obj):
        spec = as_dict(template.get("spec"))
        text = str(spec)
        if kind == "DaemonSet" or any(marker in text for marker in _NODE_LEVEL_MARKERS):
            out.append(((*tpath, "spec", "tolerations"), as_list(spec.get("tolerations"))))
    return out


def check_taints(members: list[tuple[int, Any]], taints: tuple[dict[str, Any], ...], spec_file: str) -> list[Finding]:
    out = []
    for index, obj in members:
        if not isinstance(obj, dict):
            continue
        for path, tolerations in node_level(obj):
            for taint in untolerated(tolerations, taints):
                out.append(POOL_TAINTS.at(path, f"does not tolerate the pool's taint {taint_text(taint)}, so it never "
                                                f"runs on those nodes; add a matching toleration to tolerations: in "
                                                f"{spec_file}", index))
    return out
