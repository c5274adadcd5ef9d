"""Where a release's images may come from: the repositories NVIDIA publishes them in, and the spec's mirrors.

A release's published repositories are those of every image its chart can render (any subchart's; a staging
repository at its published location, ``publishedImages`` in the catalog) and of every component its
NicClusterPolicy deploys (the catalog's ``images``): for v25.4.0, ``nvcr.io/nvidia/cloud-native``,
``nvcr.io/nvidia/mellanox``, ``ghcr.io/mellanox``, ``ghcr.io/k8snetworkplumbingwg``, ``registry.k8s.io/nfd``,
``nvcr.io/nvidia/doca``. An image is from one when its name (without tag or digest) is in one of them (whole path
segments); it is from a mirror when it is under a mirror the spec's ``imageRegistry`` names.
"""

from __future__ import annotations

import functools

from generator import catalog
from generator.catalog.charts import chart_facts
from generator.cluster.model import Images
from generator.core.formats import image_reference_error
from generator.render.image_refs import parse, under

STAGING = ("nvcr.io/nvstaging/",)


def _repository(name: str) -> str:
    return name.rpartition("/")[0]


@functools.cache
def published_repositories(tag: str) -> tuple[str, ...]:
    """The repositories the release's images are published in, sorted."""
    cat = catalog.load()
    found = set()
    for image in chart_facts(tag).images:
        found.add(_repository(cat.published(parse(image.ref).name)))
    for component in cat.release(tag).images.values():
        found.add(cat.published(component.repository))
    return tuple(sorted(r for r in found if r and not r.startswith(STAGING)))


def _under(name: str, prefixes: tuple[str, ...] | list[str]) -> bool:
    return any(under(name, prefix) for prefix in prefixes)


def source_problem(reference: str, tag: str, images: Images) -> str:
    """Why ``reference`` is not an image of the release's published repositories or the spec's mirrors ("" when it
    is one, or when it does not parse: ``image-reference`` says that)."""
    if image_reference_error(reference):
        return ""
    name = parse(reference).name
    mirrors = [mirror for _, mirror in images.mirrors]
    if _under(name, published_repositories(tag)) or _under(name, mirrors):
        return ""
    where = "the staging registry, which nodes cannot pull from" if name.startswith(STAGING) else \
        "neither a repository network-operator " + tag + " publishes its images in (" + \
        ", ".join(published_repositories(tag)) + ")" + (" nor a mirror of imageRegistry" if mirrors else "")
    return f"{reference!r} is from {where}"
