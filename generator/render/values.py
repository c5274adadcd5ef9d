"""The network-operator chart's values for a cluster: the guide's, what a GitOps install needs, the published
location of any image the chart defaults to a staging registry, the pool's tolerations for the NFD worker, and
the user's ``networkOperator.values`` merged over them (maps merge, lists replace, as in Helm)."""

from __future__ import annotations

from generator import catalog
from generator.catalog.charts import chart_facts, lookup
from generator.cluster.model import Cluster
from generator.cluster.values import merge
from generator.kube import Obj

NFD_WORKER_TOLERATIONS = "node-feature-discovery.worker.tolerations"


def _set(values: Obj, dotted: str, value: object) -> None:
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
                _set(values, image.keys["repository"], published_repository)
        else:
            _set(values, image.keys["repository"], cat.published(f"{repository}/{name}"))
    if cluster.tolerations:
        # Helm replaces lists: keep the chart's own tolerations of the NFD worker and add the pool's
        defaults = list(facts.values.get(NFD_WORKER_TOLERATIONS) or [])
        _set(values, NFD_WORKER_TOLERATIONS, defaults + [t for t in cluster.tolerations if t not in defaults])
    return values


def helm_values(cluster: Cluster) -> Obj:
    """The values Argo CD (or gen, rendering the chart) passes to the chart."""
    return merge(generated_values(cluster), cluster.chart_values)


def nfd_worker_tolerations(cluster: Cluster) -> list[Obj]:
    """What the chart gives the NFD worker DaemonSet with these values."""
    facts = chart_facts(cluster.release.tag)
    return list(lookup(helm_values(cluster), NFD_WORKER_TOLERATIONS, facts.values.get(NFD_WORKER_TOLERATIONS)) or [])
