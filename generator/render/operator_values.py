"""The network-operator chart's values for a cluster: the guide's, what a GitOps install needs, the published
location of any image the chart defaults to a staging registry, the pool's tolerations for the NFD worker, and
the user's ``networkOperator.values`` merged over them (maps merge, lists replace, as in Helm); then every image the
chart renders with those values moved to the spec's mirror and pinned to its digest (``imageRegistry``,
``imageDigests``), the user's own image values included."""

from __future__ import annotations

import copy
from typing import Any

from generator import catalog
from generator.catalog.charts import ChartFacts, chart_facts, lookup
from generator.cluster.model import Cluster, Images
from generator.core.kube import Obj
from generator.render.image_refs import rewrite

NFD_WORKER_TOLERATIONS = "node-feature-discovery.worker.tolerations"


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` merged into a copy of ``base`` as Helm merges values files: maps merge, anything else replaces."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def set_dotted(values: Obj, dotted: str, value: object) -> None:
    """``values[a][b][c] = value`` for ``dotted`` a.b.c, making the maps on the way."""
    *parents, leaf = dotted.split(".")
    node = values
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def generated_values(cluster: Cluster) -> Obj:
    """What gen sets, before the user's values."""
    facts = chart_facts(cluster.release.tag)
    values: Obj = {
        # the bundle ships its own NodeFeatureRule (the guide's values)
        "nfd": {"enabled": True, "deployNodeFeatureRules": False},
        # the chart's pre-install/pre-upgrade Job replaces CRDs wholesale and drops Argo CD's tracking
        # annotation; Argo CD applies the chart's crds/ itself
        "upgradeCRDs": False,
    }
    if cluster.image_pull_secrets:
        values["imagePullSecrets"] = list(cluster.image_pull_secrets)
    cat = catalog.load()
    for image in facts.images:
        if not (image.rendered and image.staging and "repository" in image.keys):
            continue
        repository, _, rest = image.ref.rpartition("/")
        name = rest.partition(":")[0]
        if "image" in image.keys:
            published_repository, _, published_name = cat.published(f"{repository}/{name}").rpartition("/")
            if published_name == name:
                set_dotted(values, image.keys["repository"], published_repository)
        else:
            set_dotted(values, image.keys["repository"], cat.published(f"{repository}/{name}"))
    if cluster.tolerations:
        # Helm replaces lists: keep the chart's own tolerations of the NFD worker and add the pool's
        defaults = list(facts.values.get(NFD_WORKER_TOLERATIONS) or [])
        set_dotted(values, NFD_WORKER_TOLERATIONS, defaults + [t for t in cluster.tolerations if t not in defaults])
    return values


def public_values(cluster: Cluster) -> Obj:
    """The values before the mirrors and digests: the chart's images at their public locations."""
    return merge(generated_values(cluster), cluster.chart_values)


def mirrored_values(values: Obj, facts: ChartFacts, images: Images) -> Obj:
    """``values`` with every image the chart renders with them rewritten by ``images``: the keys that set it (the
    operator and its hook Jobs, the init container's env, NFD, any subchart the values turn on) are set where
    the rewrite changes them."""
    if not images.mirrors and not images.digests:
        return values
    out = copy.deepcopy(values)
    for image in facts.rendered_images(values):
        ref = facts.image_ref(image, values)
        before, after = image.values_for(ref), image.values_for(rewrite(ref, images))
        for key, value in after.items():
            if before.get(key) != value:
                set_dotted(out, key, value)
    return out


def helm_values(cluster: Cluster) -> Obj:
    """The values Argo CD (or gen, rendering the chart) passes to the chart."""
    return mirrored_values(public_values(cluster), chart_facts(cluster.release.tag), cluster.images)


def nfd_worker_tolerations(cluster: Cluster) -> list[Obj]:
    """What the chart gives the NFD worker DaemonSet with these values."""
    facts = chart_facts(cluster.release.tag)
    return list(lookup(helm_values(cluster), NFD_WORKER_TOLERATIONS, facts.values.get(NFD_WORKER_TOLERATIONS)) or [])
