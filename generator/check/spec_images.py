"""What the schema cannot say about ``imageRegistry`` and ``imageDigests``: prefixes that are image-name prefixes,
mirrors that stay out of the prefixes they replace, digests of images the cluster uses, and a DOCA driver digest
only where the release's operator can pull one."""

from __future__ import annotations

import re

from generator import catalog
from generator.cluster.model import Cluster
from generator.core.finding import JsonPath
from generator.render.image_refs import matching_prefix, mirrored_name
from generator.render.inventory import UsedImage

# github.com/distribution/reference: a registry host (a name with a dot, or with a port, or localhost), lower-case
# here, then path components
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_HOST = rf"(?:{_LABEL}(?:\.{_LABEL})+(?::[0-9]+)?|{_LABEL}:[0-9]+|localhost)"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
PREFIX = re.compile(rf"^{_HOST}(?:/{_COMPONENT})*$")
_FORM = "a registry host[:port] and optional path, e.g. nvcr.io/nvidia or myacr.azurecr.io/nvidia"

Problems = list[tuple[JsonPath, str]]


def prefix_problem(text: str, what: str) -> str:
    """Why ``text`` is not an image-name prefix ("" when it is one); ``what`` names it in the message."""
    if PREFIX.match(text):
        return ""
    if "://" in text:
        why = "has a scheme; give it without one (registries are always https)"
    elif "@" in text:
        why = "has a digest; pin digests in imageDigests"
    elif text.endswith("/"):
        why = "ends with '/'; drop it"
    elif ":" in text.rpartition("/")[2] and "/" in text:
        why = "has a tag; give the name only (tags come from the release)"
    elif text.lower() != text:
        why = "must be lower-case"
    elif not re.match(rf"^{_HOST}(?:/|$)", text):
        why = "does not start with a registry host (a name with a dot, a port, or localhost)"
    else:
        why = "is not an image name (path components of a-z, 0-9 and single '.', '_', '__' or '-' between them)"
    return f"{what} {text!r} {why}; {_FORM}"


def image_problems(cluster: Cluster, used: list[str]) -> tuple[Problems, Problems]:
    """(errors, warnings) about the cluster's mirrors and digests; ``used``: the public image names it uses (what
    ``gen images`` lists), sorted."""
    errors: Problems = []
    warnings: Problems = []
    mirrors = dict(cluster.images.mirrors)
    for source, mirror in mirrors.items():
        path: JsonPath = ("imageRegistry", source)
        problem = prefix_problem(source, "the public prefix") or prefix_problem(mirror, "the mirror")
        if problem:
            errors.append((path, problem))
            continue
        inside = matching_prefix(mirror, mirrors)
        if inside is not None:
            errors.append((path, f"the mirror {mirror!r} is under {inside!r}, which imageRegistry replaces too; "
                                 "give a mirror outside every public prefix"))
    if errors:
        return errors, warnings
    chosen = {matching_prefix(name, mirrors) for name in used}
    for source, mirror in mirrors.items():
        path = ("imageRegistry", source)
        if source not in chosen:
            warnings.append((path, f"matches no image the cluster uses (gen images --cluster {cluster.name} lists "
                                   "them); remove it or correct the prefix"))
            continue
        for name in used:
            if matching_prefix(name, mirrors) == source and "/" not in mirrored_name(name, cluster.images):
                errors.append((path, f"would move {name!r} to {mirror!r}, a registry without a repository; give the "
                                     "mirror a path"))
                break
    errors += _digest_problems(cluster, used)
    warnings += _driver_pin_warnings(cluster)
    return errors, warnings


def platform_pin_problems(cluster: Cluster, images: list[UsedImage]) -> Problems:
    """A pinned image the nodes pull one per platform (the GPU driver: ``<version>-<os><version>``): one digest is one
    platform's image, so with pools on several platforms every pool would pull that one (the wrong OS on the others).
    The DOCA driver's pin is refused earlier, with the pools (``generator.cluster.pools``)."""
    out: Problems = []
    pinned = dict(cluster.images.digests)
    for name in sorted({used.name for used in images if used.platform and used.name in pinned}):
        platforms = sorted({used.platform for used in images if used.name == name and used.platform})
        if len(platforms) > 1:
            pools = ", ".join(f"{p.name}: {p.node.platform.os}{p.node.platform.os_version}" for p in cluster.pools)
            out.append((("imageDigests", name), f"pins {name}, whose image is per node OS, and the pools run "
                                               f"{len(platforms)} ({pools}): a digest is one OS's image, and every "
                                               "pool would pull it; remove the pin (the tag then names each OS's "
                                               "image), or give the pools one node.osSku"))
    return out


def _driver_pin_warnings(cluster: Cluster) -> Problems:
    """A DOCA driver digest is the digest of one platform's image: where the platform is assumed (it follows an
    assumed Kubernetes version), the pin may be of another platform's image than the nodes pull."""
    driver = cluster.release.image("docaDriver")
    name = f"{driver.repository}/{driver.image}"
    if not cluster.node.assumed or name not in dict(cluster.images.digests):
        return []
    platform = cluster.node.platform
    return [(("imageDigests", name), f"pins the DOCA driver, whose image is per node platform: this must be the "
                                     f"digest of {driver.version}{platform.driver_suffix}, the image of "
                                     f"{platform.describe()} nodes that gen assumes from Kubernetes "
                                     f"{cluster.kubernetes.version} (the newest {cluster.release.tag} supports); set "
                                     "kubernetes.version (or a versioned node.osSku) so the pin follows the nodes")]


def _digest_problems(cluster: Cluster, used: list[str]) -> Problems:
    cat = catalog.load()
    driver = cluster.release.image("docaDriver")
    out: Problems = []
    for name, _ in cluster.images.digests:
        path: JsonPath = ("imageDigests", name)
        problem = prefix_problem(name, "the image name")
        if problem:  # the digest's form is the schema's
            out.append((path, problem))
        elif name not in used:
            out.append((path, f"{name!r} is not an image the cluster uses; pin one of: {', '.join(used)}"))
        elif name == f"{driver.repository}/{driver.image}" and not cat.takes_driver_digest(cluster.release):
            out.append((path, f"network-operator {cluster.release.tag} appends the node's OS to the DOCA driver's "
                              f"version ({driver.version}{cluster.node.platform.driver_suffix}), so it cannot pull "
                              "the driver by "
                              f"digest; the operator can from {cat.driver_digests_since}: remove the digest or use "
                              f"networkOperator.version {cat.driver_digests_since} or later"))
    return out
