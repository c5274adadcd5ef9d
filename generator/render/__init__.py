"""Stage 2: Cluster models -> Bundles (every file of output/<name>/ as bytes), as pure functions."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from generator.core.kube import Obj
from generator.render.output import Bundle

if TYPE_CHECKING:  # the renderers are imported when render() runs: importing generator.render.output stays cheap
    from generator.cluster.model import Cluster


@dataclass(frozen=True)
class Rendered:
    """The bundles of the clusters a command works on, their fleet bootstrap (``output/fleet/``), and the
    rdma-infiniband chart (``output/charts/``) when it is part of the output."""

    clusters: list[tuple[Cluster, Bundle]]
    fleet: Bundle | None
    chart: Bundle | None = None

    def bundles(self, *, with_fleet: bool = False) -> list[Bundle]:
        """What to write: the clusters' bundles, the shared ones they read (a release's CRDs), the chart, and
        output/fleet/ when asked and known (it needs every spec of the repo)."""
        return output_bundles([bundle for _, bundle in self.clusters], self.chart, self.fleet if with_fleet else None)


def output_bundles(clusters: Sequence[Bundle], chart: Bundle | None, fleet: Bundle | None) -> list[Bundle]:
    """The clusters' bundles, then the shared ones they read (each once, by name), the chart and the fleet."""
    out = list(clusters)
    shared = {read.cluster: read for bundle in out for read in bundle.reads}
    out += [shared[name] for name in sorted(shared)]
    out += [b for b in (chart, fleet) if b is not None]
    return out


def render(clusters: Sequence[Cluster], user_overlays: Collection[str] = (),
           charts: Mapping[str, list[Obj]] | None = None, fleet: Sequence[Cluster] | None = None,
           chart_defaults: Cluster | None = None) -> Rendered:
    """Every cluster's bundle (including overlays/<name>/ where the name is in ``user_overlays``, and the chart
    render in ``charts`` by cluster name, for ``argocd.delivery: rendered``), the bootstrap of ``fleet`` (every
    cluster of the repo; by default ``clusters``; None or empty: no bootstrap), and with ``chart_defaults`` (the cluster
    of the chart's default values) the rdma-infiniband chart."""
    from generator.render.cluster_bundle import render_bundle
    from generator.render.fleet import fleet_bundle
    from generator.render.rdma_chart import chart_bundle

    charts = charts or {}
    pairs = [(cluster, render_bundle(cluster, cluster.name in user_overlays, charts.get(cluster.name)))
             for cluster in clusters]
    members = clusters if fleet is None else fleet
    chart = chart_bundle(chart_defaults) if chart_defaults else None
    return Rendered(pairs, fleet_bundle(members) if members else None, chart)
