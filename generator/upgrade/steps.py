"""An upgrade plan: for each step between two releases, what changes in the spec, the CRDs, the chart values, the
nodes and the sync, and what gen refuses. Assembled from what the caller rendered and built (pure)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from generator.catalog.charts import chart_facts
from generator.check.engine import checker_for
from generator.check.validators.kinds import Schemas
from generator.cluster.model import Cluster
from generator.core.finding import Finding
from generator.core.kube import Obj
from generator.core.rules import parse_directives
from generator.render import flux
from generator.render.cluster_bundle import GUIDE_PREFIX_NOTE
from generator.render.operator_values import helm_values
from generator.render.resources import webhook_enabled
from generator.report import sync_plan
from generator.report.sync_plan import Row
from generator.sources.schema_store import SchemaStore
from generator.upgrade.disruption import Disruption, disruptions, driver_policy
from generator.upgrade.gpu_steps import network_step_note
from generator.upgrade.migrations import HUMAN, Migration, migration
from generator.upgrade.pool_moves import move_to_pools, replay
from generator.upgrade.schema_changes import CrdChange, FieldChange, crd_changes, field_changes
from generator.upgrade.spec_edit import Edit
from generator.upgrade.values_changes import ValueChange, set_keys, value_changes


@dataclass(frozen=True)
class Built:
    """One cluster as gen would write it: the objects Argo CD applies for its mode (kustomize-built), the chart's
    objects where helm rendered them, and the errors of the checks."""

    cluster: Cluster
    objects: list[Obj]
    chart_objects: list[Obj] | None
    errors: list[Finding]


@dataclass(frozen=True)
class Step:
    source: Cluster
    target: Cluster
    spec: list[tuple[str, str, str]]  # (field, old, new) as written in the spec file
    fields: list[FieldChange]
    crds: list[CrdChange]
    values: list[ValueChange]
    migrations: list[Migration]
    disruptions: list[Disruption]
    driver_policy: str
    sync: list[Row]
    errors: list[Finding]
    objects: int
    gpu: str = ""  # a GPU Operator cluster: the step leaves (or stays outside) NVIDIA's validated GPUDirect pairs
    flux_sync: str = ""  # gitops: flux: the Kustomization chain that applies the step (sync_plan.flux_plan)

    @property
    def refused(self) -> list[Migration]:
        return [m for m in self.migrations if m.kind == HUMAN and not m.accepted]


@dataclass
class Plan:
    cluster: str
    spec_file: str
    steps: list[Step] = field(default_factory=list)
    pool: str = ""  # a pool's driver moves (gen upgrade --pool), not the release

    @property
    def refused(self) -> list[Migration]:
        return [m for step in self.steps for m in step.refused]


def _values_keys(cluster: Cluster) -> list[str]:
    return set_keys(helm_values(cluster), chart_facts(cluster.release.tag))


def _value_changes(old: Cluster, new: Cluster) -> list[ValueChange]:
    keys = sorted(set(_values_keys(old)) | set(_values_keys(new)))
    return value_changes(keys, chart_facts(old.release.tag), chart_facts(new.release.tag))


def _spec_lines(edits: list[Edit], old_raw: dict[str, object], old: Cluster) -> list[tuple[str, str, str]]:
    out = []
    for edit in edits:
        node: object = old_raw
        for key in edit.path:
            if isinstance(key, int):
                node = node[key] if isinstance(node, list) and key < len(node) else None
            else:
                node = node.get(key) if isinstance(node, dict) else None
        before = str(node) if node is not None else ("(default: " + old.release.tag + ")"
                                                     if edit.path == ("networkOperator", "version") else "(not set)")
        after = "(removed)" if edit.delete else f"renamed {edit.rename_to}" if edit.rename_to else str(edit.value)
        out.append((edit.dotted, before, after))
    return out


def plan_step(old: Built, new: Built, edits: list[Edit], old_raw: dict[str, object], migrations: list[Migration],
              old_schemas: Schemas, new_schemas: Schemas, store: SchemaStore) -> Step:
    """One step, from the cluster as built before and after it."""
    source, target = old.cluster, new.cluster
    found = list(migrations)
    in_overlay = [f for f in new.errors if f.file.startswith("overlays/")]
    if in_overlay:
        found.append(migration("overlay-breaks", tuple(_finding_line(f) for f in in_overlay), name=target.name))
    found += _platform_change(source, target)
    found += pools_move(old.objects, new.objects, target, store)
    old_images = chart_facts(source.release.tag).images_with(helm_values(source))
    new_images = chart_facts(target.release.tag).images_with(helm_values(target))
    policy = next((o for o in new.objects if o.get("kind") == "NicClusterPolicy"), None)
    return Step(
        source=source,
        target=target,
        spec=_spec_lines(edits, old_raw, source),
        fields=field_changes(old.objects, old_schemas, new_schemas),
        crds=crd_changes(store, source.release.tag, target.release.tag),
        values=_value_changes(source, target),
        migrations=found,
        disruptions=disruptions(old.objects, new.objects, old_images, new_images),
        driver_policy=driver_policy(policy),
        sync=sync_plan.plan(target, new.objects, new.chart_objects),
        errors=new.errors,
        objects=len(new.objects),
        gpu=network_step_note(source, target),
        flux_sync=_flux_sync(target),
    )


def _flux_sync(cluster: Cluster) -> str:
    """How Flux applies the step (a cluster delivered by Flux): its chain, each Kustomization with what it applies."""
    if cluster.gitops != "flux":
        return ""
    links = flux.chain(cluster)
    applied = {link.step.directory: [obj for objs in link.step.files.values() for obj in objs] for link in links}
    return sync_plan.flux_plan(cluster, links, applied)


def pools_move(before: list[Obj], after: list[Obj], target: Cluster, store: SchemaStore | None) -> list[Migration]:
    """The move from one NicClusterPolicy to the pools' NicNodePolicies, when the step makes it: its order (replayed
    through the target release's webhook rules), what it does to the DaemonSets and nodes. Refused (a human decides)
    where a pool would reload its driver undrained or the webhook would refuse an apply."""
    move = move_to_pools(before, after)
    if move is None:
        return []
    webhook = checker_for(target.release.tag, store=store).webhook
    disabled = frozenset() if webhook_enabled(target) else frozenset(parse_directives(GUIDE_PREFIX_NOTE)[0])
    refusals = replay(before, move.applies, webhook, disabled)
    order = tuple(f"{a.action} {a.label} ({a.when}): " + "; ".join(a.effects) for a in move.applies)
    details = [f"the admission webhook of {target.release.tag} would refuse {r.apply.label}: {f.rule}: {f.message}"
               for r in refusals for f in r.findings]
    details += [f"{name}: its nodes would reload the DOCA driver undrained; keep its pool on the driver it runs "
                "(pools[].driver.version) for the move" for name in move.reloads]
    if not details:
        details.append(f"the admission webhook of {target.release.tag} accepts each apply in this order (gen's "
                       "webhook rules, replayed against the policies stored before it); no node reloads the driver")
    found = dataclasses.replace(migration("pools-to-nicnodepolicies", tuple(details), name=target.name), order=order)
    if refusals or move.reloads:
        found = dataclasses.replace(found, kind=HUMAN)
    return [found]


def _platform_change(source: Cluster, target: Cluster) -> list[Migration]:
    """Where the node platform (so the DOCA driver image the nodes pull) differs after the step: it follows an
    assumed Kubernetes version that moves with the release."""
    changed = [(old, new) for old, new in zip(source.platforms, target.platforms, strict=False) if old != new]
    if not changed or not target.node.assumed:
        return []
    driver = target.release.image("docaDriver").version
    return [migration("node-platform-changes", tuple(
        f"{old.describe()} -> {new.describe()}: {driver}{new.driver_suffix} (gen assumes Kubernetes "
        f"{target.kubernetes.version} for {target.release.tag}, {source.kubernetes.version} for "
        f"{source.release.tag})" for old, new in changed))]


def _finding_line(f: Finding) -> str:
    where = f"{f.file}:{f.line}" if f.line else f.file
    at = f" ({f.dotted_path})" if f.path else ""
    return f"{where}: {f.rule}: {f.message}{at}"
