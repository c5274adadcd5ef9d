"""The migrations of one upgrade step: the spec edits gen makes for the cluster (moving to the new release, IPoIB IPAM
off whereabouts, renamed chart values), and what needs a human. Their words are data
(``generator/catalog/upgrades.yaml``); which apply, and the edits, are decided here."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from generator import catalog
from generator.catalog.charts import chart_facts
from generator.cluster.model import Cluster
from generator.render.image_refs import parse
from generator.render.inventory import cluster_images
from generator.upgrade.spec_edit import Edit
from generator.upgrade.values_changes import RETIRED, set_keys, value_changes

DATA = Path(catalog.__file__).resolve().parent / "upgrades.yaml"
AUTOMATIC, HUMAN, CHECK = "automatic", "human", "check"


@dataclass(frozen=True)
class Migration:
    id: str
    kind: str  # AUTOMATIC | HUMAN | CHECK
    title: str
    why: str
    pods: str = ""
    order: tuple[str, ...] = ()
    details: tuple[str, ...] = ()  # this cluster's items: keys moved, findings, ...
    accepted: bool = False  # HUMAN, resolved by --accept-breaking


@functools.cache
def _data() -> dict[str, Any]:
    return yaml.safe_load(DATA.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def component_effect(component: str, removed: bool = False) -> str:
    """What a change (or the removal) of a NicClusterPolicy component does on the nodes (data)."""
    if removed:
        return str(_data()["removed"].get(component, "the operator deletes its DaemonSet"))
    return str(_data()["components"].get(component, "its DaemonSet rolls"))


def migration(id_: str, details: tuple[str, ...] = (), accepted: bool = False, name: str = "") -> Migration:
    raw = _data()["migrations"][id_]
    why = str(raw["why"]).replace("<name>", name)
    return Migration(id_, str(raw["kind"]), str(raw["title"]), why, str(raw.get("pods") or ""),
                     tuple(str(s) for s in raw.get("order") or ()), details, accepted)


def _get(raw: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = raw
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _tags(cluster: Cluster) -> dict[str, str]:
    """Public image name -> the reference the cluster pulls it by, digests left out."""
    return {used.name: str(dataclasses.replace(parse(used.source), digest="")) for used in cluster_images(cluster)}


def _stale_digests(cluster: Cluster, target: catalog.Release, out: StepEdits, accept_breaking: bool) -> list[Migration]:
    """A digest pinned for an image whose tag the new release changes (or drops) would keep pulling the old image:
    a person must pin the new digest; --accept-breaking drops the pin."""
    if not cluster.images.digests:
        return []
    unpinned = dataclasses.replace(cluster, images=dataclasses.replace(cluster.images, digests=()))
    before = _tags(unpinned)
    ipam = unpinned.ipoib.ipam if unpinned.ipoib.ipam in target.ipam else target.ipam[0]
    after = _tags(dataclasses.replace(unpinned, release=target, ipoib=dataclasses.replace(unpinned.ipoib, ipam=ipam)))
    stale = []
    for name, _digest in cluster.images.digests:
        if before.get(name) != after.get(name):
            out.edits.append(Edit(("imageDigests", name), delete=True))
            new = after.get(name)
            stale.append(f"imageDigests.{name}: pins {before.get(name)}; {target.tag} uses " +
                         (f"{new}: pin its digest (crane digest {new})" if new else "no such image: drop the pin"))
    return [migration("image-digest-stale", tuple(stale), accepted=accept_breaking)] if stale else []


def _kubernetes(cluster: Cluster, target: catalog.Release, out: StepEdits) -> list[Migration]:
    """Whether the cluster's Kubernetes is in the target's supported range: a refusal naming the Kubernetes upgrade
    it needs first (the step is then planned as after it), or a check of the range where it changes."""
    kube = cluster.kubernetes
    low, high = target.lifecycle.kubernetes
    supported = f"{target.tag} supports Kubernetes {low} to {high}"
    if kube.given and not target.supports_kubernetes(kube.version):
        older = catalog.minor_key(kube.version) < catalog.minor_key(low)
        planned = catalog.minor(low if older else high)
        out.edits.append(Edit(("kubernetes", "version"), planned))
        detail = (f"{supported}; the cluster runs {kube.version}: upgrade it to {planned} or later first"
                  if older else f"{supported}; the cluster runs {kube.version}, which it leaves behind")
        return [migration("kubernetes-upgrade-first" if older else "kubernetes-beyond-range", (detail,))]
    old_range = cluster.release.lifecycle.kubernetes
    if old_range == target.lifecycle.kubernetes:
        return []
    this = (f"the cluster runs {kube.version} (kubernetes.version): in range" if kube.given else
            f"kubernetes.version is not set: gen assumes {target.newest_kubernetes}, the newest {target.tag} "
            f"supports (it assumed {kube.version} for {cluster.release.tag}); set it so gen checks the cluster's own")
    return [migration("kubernetes-range", (f"{supported} ({cluster.release.tag}: {old_range[0]} to {old_range[1]})",
                                           this))]


def _pools_keep_drivers(cluster: Cluster, raw: dict[str, Any], target: catalog.Release, out: StepEdits
                        ) -> list[Migration]:
    """A step into NicNodePolicies: each pool that follows the release is pinned to the driver its nodes run, so that
    the move reloads no node (the new DaemonSets' first pods would load the new driver undrained)."""
    cat = catalog.load()
    if not cluster.pools or cat.has_node_policies(cluster.release) or not cat.has_node_policies(target):
        return []
    listed = raw.get("pools")
    entries: list[Any] = listed if isinstance(listed, list) else []
    pinned = []
    for pool in cluster.pools:
        entry = entries[pool.index] if pool.index < len(entries) and isinstance(entries[pool.index], dict) else {}
        if _get(entry, ("driver", "version")) is not None or pool.driver.version == target.doca_driver:
            continue
        out.edits.append(Edit(("pools", pool.index, "driver", "version"), pool.driver.version))
        pinned.append(f"pools[{pool.index}] ({pool.name}).driver.version: {pool.driver.version}, the driver its nodes "
                      f"run ({target.tag}'s is {target.doca_driver}): then gen upgrade --cluster {cluster.name} "
                      f"--pool {pool.name}")
    return [migration("pools-keep-drivers", tuple(pinned), name=cluster.name)] if pinned else []


@dataclass
class StepEdits:
    """What one step does to the spec: the edits (for the spec file) and the migrations (for the plan)."""

    edits: list[Edit] = field(default_factory=list)
    migrations: list[Migration] = field(default_factory=list)

    @property
    def refused(self) -> list[Migration]:
        return [m for m in self.migrations if m.kind == HUMAN and not m.accepted]


def step_edits(cluster: Cluster, raw: dict[str, Any], target: catalog.Release, *,
               accept_breaking: bool) -> StepEdits:
    """The edits that move ``cluster`` (whose spec file holds ``raw``, defaults not applied) to ``target``."""
    out = StepEdits([Edit(("networkOperator", "version"), target.tag, after="vmSize", first=True)])
    if cluster.ipoib.ipam == "whereabouts" and "whereabouts" not in target.ipam:
        if _get(raw, ("ipoib", "ipam")) is not None:
            out.edits.append(Edit(("ipoib", "ipam"), "nv-ipam"))
        out.migrations.append(migration("whereabouts-to-nv-ipam" if cluster.mode == "ipoib" else "ipoib-overlay-ipam"))
    out.migrations += _stale_digests(cluster, target, out, accept_breaking)
    out.migrations += _kubernetes(cluster, target, out)
    out.migrations += _pools_keep_drivers(cluster, raw, target, out)
    values = _get(raw, ("networkOperator", "values"))
    if isinstance(values, dict) and values:
        old, new = chart_facts(cluster.release.tag), chart_facts(target.tag)
        moved: list[str] = []
        dropped: list[str] = []
        kept: list[str] = []
        for change in value_changes(set_keys(values, old), old, new):
            if change.change != RETIRED:
                continue
            source = ("networkOperator", "values", *change.key.split("."))
            if change.replacement:
                target_path = ("networkOperator", "values", *change.replacement.split("."))
                if target_path[:-1] == source[:-1] and _get(raw, target_path) is None:
                    out.edits.append(Edit(source, rename_to=target_path[-1]))
                else:
                    out.edits += [Edit(target_path, _get(raw, source)), Edit(source, delete=True)]
                moved.append(f"networkOperator.values.{change.key} -> networkOperator.values.{change.replacement}")
            else:  # planned as dropped (the new chart would ignore it); written only with --accept-breaking
                out.edits.append(Edit(source, delete=True))
                (dropped if accept_breaking else kept).append(f"networkOperator.values.{change.key}: {change.detail}")
        if moved:
            out.migrations.append(migration("chart-value-renamed", tuple(moved)))
        if dropped:
            out.migrations.append(migration("chart-value-retired", tuple(dropped), accepted=True))
        if kept:
            out.migrations.append(migration("chart-value-retired", tuple(kept)))
    return out
