"""Which network-operator release a set of plain manifests is written for, from the image versions of its
NicClusterPolicy and NicNodePolicies: ``gen lint`` checks against it when no ``--release`` or cluster spec says."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from generator import catalog
from generator.core.objects import as_dict, as_str, group_kind, name_of

# components tagged by the release itself (v25.7.0 on: nvcr.io/nvidia/mellanox/<image>:network-operator-v25.7.0)
_RELEASE_TAG = re.compile(r"^network-operator-(v\d+\.\d+\.\d+)$")


def _components(spec: dict[str, Any]) -> list[dict[str, Any]]:
    found = [value for value in spec.values() if isinstance(value, dict)]
    found += [value for value in as_dict(spec.get("secondaryNetwork")).values() if isinstance(value, dict)]
    return found


def _candidates(image: str, version: str, cat: catalog.Catalog) -> set[str]:
    """The catalog releases whose images include this one (a release's own tag names it alone)."""
    tagged = _RELEASE_TAG.match(version)
    if tagged:
        return {tagged.group(1)} & set(cat.releases)
    return {tag for tag, release in cat.releases.items()
            if any(i.image == image and i.version == version for i in release.images.values())}


def infer_release(objects: list[Any]) -> tuple[str, str] | None:
    """(release, how it was found) from the policies' component images, or None when none names a catalog release.
    Each component votes for the releases that ship its image and version; the most votes win (a tie: the catalog's
    default release if it is among them, else the newest)."""
    cat = catalog.load()
    votes: Counter[str] = Counter()
    policies: list[str] = []
    for obj in objects:
        if not isinstance(obj, dict):
            continue
        group, kind = group_kind(obj)
        if group != "mellanox.com" or kind not in ("NicClusterPolicy", "NicNodePolicy"):
            continue
        counted = False
        for component in _components(as_dict(obj.get("spec"))):
            version = as_str(component.get("version")).partition("@")[0]
            candidates = _candidates(as_str(component.get("image")), version, cat)
            votes.update(candidates)
            counted |= bool(candidates)
        if counted and f"{kind} {name_of(obj)!r}" not in policies:
            policies.append(f"{kind} {name_of(obj)!r}")
    if not votes:
        return None
    most = max(votes.values())
    tied = [tag for tag, n in votes.items() if n == most]
    tag = cat.default_release if cat.default_release in tied else max(tied, key=catalog.version_key)
    named = ", ".join(policies[:2]) + (f" and {len(policies) - 2} more" if len(policies) > 2 else "")
    return tag, f"from the image versions of {named}"
