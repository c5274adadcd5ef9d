"""Image references as the cluster pulls them: parsed, moved to the spec's mirrors (``imageRegistry``), pinned to the
spec's digests (``imageDigests``), and composed from a NicClusterPolicy component as the operator composes them.

A mirror matches by the longest prefix on path-segment boundaries: ``nvcr.io/nvidia`` moves
``nvcr.io/nvidia/mellanox/x`` to ``<mirror>/mellanox/x``, never ``nvcr.io/nvidiax/y``. A digest is keyed by the
public image name (no tag) and goes with the image to its mirror. Pure functions: objects.py, values.py and
verify.py write what they give, inventory.py lists it, and the checks compose what the operator will pull.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from generator.catalog import Image
from generator.cluster.model import Images


@dataclass(frozen=True)
class Reference:
    """``name[:tag][@digest]``; ``name`` holds the registry host (and port) and the path."""

    name: str
    tag: str = ""
    digest: str = ""

    def __str__(self) -> str:
        return self.name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")


def parse(reference: str) -> Reference:
    """Split a reference; a ``:`` before the last ``/`` is a registry port, not a tag."""
    rest, _, digest = reference.partition("@")
    slash, colon = rest.rfind("/"), rest.rfind(":")
    if colon > slash:
        return Reference(rest[:colon], rest[colon + 1:], digest)
    return Reference(rest, "", digest)


def under(name: str, prefix: str) -> bool:
    """Whether ``prefix`` is ``name`` or a leading run of its path segments."""
    return name == prefix or name.startswith(prefix + "/")


def matching_prefix(name: str, prefixes: Iterable[str]) -> str | None:
    """The longest of ``prefixes`` that ``name`` is under, if any."""
    found = [prefix for prefix in prefixes if under(name, prefix)]
    return max(found, key=len) if found else None


def mirrored_name(name: str, images: Images) -> str:
    """Where ``name`` is pulled from with the spec's mirrors (itself when no mirror applies)."""
    mirrors = dict(images.mirrors)
    prefix = matching_prefix(name, mirrors)
    return name if prefix is None else mirrors[prefix] + name[len(prefix):]


def pinned_digest(name: str, images: Images) -> str:
    """The digest the spec pins for the public image ``name`` ("" when none)."""
    return dict(images.digests).get(name, "")


def rewrite(reference: str, images: Images) -> str:
    """``reference`` moved to its mirror, with the pinned digest of its public name (replacing any it had)."""
    ref = parse(reference)
    return str(Reference(mirrored_name(ref.name, images), ref.tag, pinned_digest(ref.name, images) or ref.digest))


def pinned(reference: str, images: Images) -> str:
    """``reference`` at its public location, with its pinned digest: what to copy into the mirror."""
    ref = parse(reference)
    return str(Reference(ref.name, ref.tag, pinned_digest(ref.name, images) or ref.digest))


# -- the operator's names for what it deploys -------------------------------------------------------------------------


def operator_image(repository: str, image: str, version: str) -> str:
    """The image of an operand: pkg/render/render.go ``imagePath`` (every supported release)."""
    if version.startswith("sha256:"):
        return f"{repository}/{image}@{version}"
    return f"{repository}/{image}:{version}"


def driver_image(repository: str, image: str, version: str, suffix: str, takes_digest: bool) -> str:
    """The DOCA driver image a node pulls: pkg/state/state_ofed.go ``getMofedDriverImageName`` (no precompiled
    image): the node's ``-<os><version>-<arch>`` is appended to the version, except, from the release that
    ``takes_digest``, to a ``sha256`` version, which is pulled as a digest."""
    if takes_digest and version.startswith("sha256"):
        return f"{repository}/{image}@{version}"
    return f"{repository}/{image}:{version}{suffix}"


def policy_image(image: Image, images: Images, *, driver: bool = False) -> dict[str, str]:
    """A NicClusterPolicy component's ``repository``/``image``/``version``, mirrored and pinned.

    A pinned driver takes the bare digest as its version (the operator then pulls ``repository/image@digest``; the
    loader allows it only from the release that supports it). Every other component takes ``tag@digest``, which
    ``imagePath`` turns into ``repository/image:tag@digest``, pulled by the digest: a bare ``sha256:`` version would
    also be pulled, but the multus manifests up to v25.10.0 choose the thin plugin's command by the version's
    prefix (``v4``, ``network-operator``), so the tag must stay in front."""
    source = f"{image.repository}/{image.image}"
    repository, _, name = mirrored_name(source, images).rpartition("/")
    digest = pinned_digest(source, images)
    version = image.version
    if digest:
        version = digest if driver else f"{version}@{digest}"
    return {"repository": repository, "image": name, "version": version}
