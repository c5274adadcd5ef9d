"""Every image a cluster's bundle and chart make nodes pull (``gen images``): where it is published, where the spec's
mirror puts it, and the reference the cluster pulls, as the operator composes it from the output.

The NicClusterPolicy's components of every mode overlay (each is built and may be synced), the images the chart
renders with the cluster's values (its chart facts), and the verify Jobs' images when they are on. The example pod is
the user's own application and is left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator import catalog
from generator.catalog.charts import chart_facts, lookup
from generator.catalog.gpu import load_gpu
from generator.cluster.model import Cluster
from generator.core.kube import POLICY_NAME
from generator.render.bundle_objects import DRIVER, policy_components
from generator.render.gpu import (
    RELOADER_NAME,
    cluster_policy,
    facts_of,
    gpu_values,
    operator_of,
    public_gpu_values,
    reloader_namespace,
    wants_reloader,
)
from generator.render.image_refs import (
    Reference,
    driver_image,
    mirrored_name,
    operator_image,
    parse,
    pinned,
    pinned_digest,
    policy_image,
    rewrite,
)
from generator.render.operator_values import helm_values, public_values
from generator.render.verify import NCCL_NAME, VERIFY_NAME

POLICY_NAME_GPU = "cluster-policy"  # the ClusterPolicy the gpu-operator chart renders
GPU_APPLICATION_NAME = "gpu-operator-application.yaml"
# where each catalog component sits in the NicClusterPolicy
POLICY_FIELDS = {
    DRIVER: "spec.ofedDriver",
    "docaTelemetryService": "spec.docaTelemetryService",
    "sriovDevicePlugin": "spec.sriovDevicePlugin",
    "rdmaSharedDevicePlugin": "spec.rdmaSharedDevicePlugin",
    "cniPlugins": "spec.secondaryNetwork.cniPlugins",
    "multus": "spec.secondaryNetwork.multus",
    "ipoib": "spec.secondaryNetwork.ipoib",
    "whereabouts": "spec.secondaryNetwork.ipamPlugin",
    "nvIpam": "spec.nvIpam",
}


@dataclass(frozen=True)
class UsedImage:
    source: str  # the public image, with its pinned digest: what to copy
    mirror: str  # where the spec's mirror keeps it (the source when no mirror applies): where to copy it
    reference: str  # what the cluster pulls, composed from the output as the operator or the chart does
    digest: str  # the digest it is pulled by ("" when none)
    component: str  # what uses it
    used_by: tuple[str, ...]  # where
    platform: str = ""  # the node platform whose nodes pull it (the DOCA driver: one image per platform); "" for all

    @property
    def name(self) -> str:
        """The public image name, without tag or digest (an ``imageDigests`` key)."""
        return parse(self.source).name

    def as_dict(self) -> dict[str, object]:
        return {"source": self.source, "reference": self.reference, "mirror": self.mirror,
                "digest": self.digest or None, "component": self.component, "usedBy": list(self.used_by),
                "platform": self.platform or None}


def _policy_images(cluster: Cluster) -> list[UsedImage]:
    cat = catalog.load()
    out = []
    for component, modes in policy_components(cluster).items():
        image = cluster.release.image(component)
        driver = component == DRIVER
        name = f"{image.repository}/{image.image}"
        digest = pinned_digest(name, cluster.images)
        spec = policy_image(image, cluster.images, driver=driver)
        # the DOCA driver: one image per node platform, named by the nodes' OS and architecture
        pulls = [(image.version + p.driver_suffix, p.name,
                  driver_image(spec["repository"], spec["image"], spec["version"], p.driver_suffix,
                               cat.takes_driver_digest(cluster.release)))
                 for p in cluster.platforms] if driver else \
            [(image.version, "", operator_image(spec["repository"], spec["image"], spec["version"]))]
        out += [UsedImage(
            source=str(Reference(name, tag, digest)),
            mirror=str(Reference(mirrored_name(name, cluster.images), tag, digest)),
            reference=reference,
            digest=digest,
            component=f"NicClusterPolicy/{POLICY_NAME} {POLICY_FIELDS[component]}",
            used_by=tuple(f"overlays/{mode}" for mode in modes),
            platform=platform,
        ) for tag, platform, reference in pulls]
    return out


def _chart_images(cluster: Cluster) -> list[UsedImage]:
    facts = chart_facts(cluster.release.tag)
    public, values = public_values(cluster), helm_values(cluster)
    objects = {f"{o.kind}/{o.name}" for o in facts.rendered_objects(values)}
    out = []
    for image in facts.rendered_images(values):
        users = tuple(use for use in image.used_by if use.split(":", 1)[0] in objects)
        source = facts.image_ref(image, public)
        keys = image.keys.get("ref") or image.keys["repository"].rsplit(".", 1)[0]
        out.append(UsedImage(
            source=pinned(source, cluster.images),
            mirror=rewrite(source, cluster.images),
            reference=facts.image_ref(image, values),
            digest=parse(rewrite(source, cluster.images)).digest,
            component=f"network-operator chart {facts.version} ({keys})",
            used_by=users or (f"{image.enabled_by}: true",),
        ))
    return out


def _verify_image(cluster: Cluster) -> list[UsedImage]:
    if not cluster.verify.enabled:
        return []
    jobs = [(cluster.verify.image, VERIFY_NAME)]
    if cluster.verify.nccl.enabled:
        jobs.append((cluster.verify.nccl.image, NCCL_NAME))
    out = []
    for source, job in jobs:
        mirror = rewrite(source, cluster.images)
        out.append(UsedImage(source=pinned(source, cluster.images), mirror=mirror, reference=mirror,
                             digest=parse(mirror).digest, component=f"verify Job/{job}",
                             used_by=(f"overlays/{cluster.mode}",)))
    return out


def _gpu_images(cluster: Cluster) -> list[UsedImage]:
    """The GPU half's: the nvidia-peermem reloader's, or the gpu-operator chart's and those the operator pulls for the
    ClusterPolicy's operands that are on (the GPU driver: one image per node OS, ``<version>-<os><version>``)."""
    if wants_reloader(cluster):
        source = load_gpu().reloader.image
        mirror = rewrite(source, cluster.images)
        return [UsedImage(source=pinned(source, cluster.images), mirror=mirror, reference=mirror,
                          digest=parse(mirror).digest, component=f"DaemonSet/{reloader_namespace()}/{RELOADER_NAME}",
                          used_by=("base",))]
    operator = operator_of(cluster)
    if operator is None:
        return []
    facts = facts_of(operator)
    public, values = public_gpu_values(cluster, operator), gpu_values(cluster)
    out = []
    for image in facts.chart.rendered_images(values):
        source = facts.chart.image_ref(image, public)
        keys = image.keys.get("ref") or image.keys["repository"].rsplit(".", 1)[0]
        out.append(UsedImage(source=pinned(source, cluster.images), mirror=rewrite(source, cluster.images),
                             reference=facts.chart.image_ref(image, values),
                             digest=parse(rewrite(source, cluster.images)).digest,
                             component=f"gpu-operator chart {facts.chart.version} ({keys})",
                             used_by=(f"argocd/{GPU_APPLICATION_NAME}",)))
    public_policy = facts.cluster_policy(public)["spec"]
    policy = cluster_policy(cluster)["spec"]
    for operand in facts.operands:
        if operand.enabled_by and lookup(policy, operand.enabled_by) is not True:
            continue
        out += _operand_images(cluster, operand.component, operand.os_suffix, lookup(public_policy, operand.component),
                               lookup(policy, operand.component))
    return out


def _operand_images(cluster: Cluster, component: str, os_suffix: bool, public: object,
                    pulled: object) -> list[UsedImage]:
    if not isinstance(public, dict) or not isinstance(pulled, dict):
        return []
    name = f"{public.get('repository')}/{public.get('image')}"
    version = str(public.get("version", ""))
    digest = pinned_digest(name, cluster.images)
    spec = {k: str(pulled.get(k, "")) for k in ("repository", "image", "version")}
    where = f"ClusterPolicy/{POLICY_NAME_GPU} spec.{component}"
    if not os_suffix:
        return [UsedImage(source=str(Reference(name, version, digest)),
                          mirror=str(Reference(mirrored_name(name, cluster.images), version, digest)),
                          reference=operator_image(spec["repository"], spec["image"], spec["version"]),
                          digest=digest, component=where, used_by=(f"argocd/{GPU_APPLICATION_NAME}",))]
    out = []
    for os_tag in sorted({f"{p.os}{p.os_version}" for p in cluster.platforms}):  # the operator appends -<os><ver>
        tag = f"{version}-{os_tag}"
        reference = operator_image(spec["repository"], spec["image"], spec["version"])
        if not spec["version"].startswith("sha256:"):
            reference += f"-{os_tag}"
        out.append(UsedImage(source=str(Reference(name, tag, digest)),
                             mirror=str(Reference(mirrored_name(name, cluster.images), tag, digest)),
                             reference=reference, digest=digest, component=where,
                             used_by=(f"argocd/{GPU_APPLICATION_NAME}",), platform=os_tag))
    return out


def cluster_images(cluster: Cluster) -> list[UsedImage]:
    """Every image the cluster's output makes nodes pull, sorted by source."""
    found = _policy_images(cluster) + _chart_images(cluster) + _verify_image(cluster) + _gpu_images(cluster)
    return sorted(found, key=lambda u: (u.source, u.mirror, u.component))


def source_names(cluster: Cluster) -> list[str]:
    """The public image names the cluster uses (what ``imageDigests`` and ``imageRegistry`` refer to), sorted."""
    return sorted({used.name for used in cluster_images(cluster)})
