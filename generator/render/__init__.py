"""Stage 2: Cluster models -> Bundles (every file of output/<name>/ as bytes), as pure functions."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from generator.cluster.model import Cluster
from generator.render.bundle import Bundle, render_bundle
from generator.render.fleet import fleet_bundle


@dataclass(frozen=True)
class Rendered:
    """The bundles of the clusters a command works on, and their fleet bootstrap (``output/fleet/``)."""

    clusters: list[tuple[Cluster, Bundle]]
    fleet: Bundle | None

    def bundles(self, *, with_fleet: bool = False) -> list[Bundle]:
        """The clusters' bundles, plus output/fleet/ when asked (it is only written when every cluster is in)."""
        out = [bundle for _, bundle in self.clusters]
        if with_fleet and self.fleet is not None:
            out.append(self.fleet)
        return out


def render(clusters: Sequence[Cluster], user_overlays: Collection[str] = ()) -> Rendered:
    """Every cluster's bundle (including overlays/<name>/ where the name is in ``user_overlays``), and the fleet."""
    pairs = [(cluster, render_bundle(cluster, cluster.name in user_overlays)) for cluster in clusters]
    return Rendered(pairs, fleet_bundle(clusters) if clusters else None)
