"""The upgrade plan as text a reviewer reads top to bottom: one section per step, each answering what changes in the
spec, the API (CRDs), the chart values, the nodes, and the sync, and what gen refuses."""

from __future__ import annotations

import textwrap
from itertools import groupby

from generator import catalog
from generator.cluster.model import Cluster
from generator.core.errors import printable
from generator.upgrade.gpu_steps import GpuPlan
from generator.upgrade.migrations import AUTOMATIC, CHECK, HUMAN, Migration
from generator.upgrade.pool_moves import Move, Refusal
from generator.upgrade.schema_changes import ADDED
from generator.upgrade.steps import Plan, Step

WIDTH = 100


def _wrap(text: str, indent: int) -> list[str]:
    return textwrap.wrap(" ".join(text.split()), WIDTH - indent, initial_indent=" " * indent,
                         subsequent_indent=" " * indent, break_on_hyphens=False, break_long_words=False)


def _pool_header(plan: Plan) -> list[str]:
    step = plan.steps[0]
    old = next(p for p in step.source.pools if p.name == plan.pool)
    new = next(p for p in step.target.pools if p.name == plan.pool)
    others = [p.name for p in step.target.pools if p.name != plan.pool]
    return _wrap(f"gen upgrade: {plan.cluster}: pool {plan.pool} ({new.vm_size.name}) moves its DOCA driver "
                 f"{old.driver.version} -> {new.driver.version}; network-operator {step.target.release.tag} and the "
                 f"other pools ({', '.join(others) or 'none'}) stay as they are", 0)


def _header(plan: Plan) -> list[str]:
    if plan.pool:
        return _pool_header(plan)
    first, last = plan.steps[0].source, plan.steps[-1].target
    path = " -> ".join([first.release.tag, *(s.target.release.tag for s in plan.steps)])
    lines = [f"gen upgrade: {plan.cluster} ({first.mode}, {first.vm_size.name}) {first.release.tag} -> "
             f"{last.release.tag}, {len(plan.steps)} step(s): {path}"]
    status = last.release.status
    if status.status != "latest":
        lines += _wrap(f"Note: {last.release.tag} is {status.status.replace('-', ' ')} ('{status.word}' in the "
                       f"{status.per} notes); the release to be on is {catalog.load().latest.tag}.", 0)
    if len(plan.steps) > 1:
        engine = "Flux" if last.gitops == "flux" else "Argo CD"
        lines += _wrap("NVIDIA supports upgrading one release at a time: to sync each step before the next, run gen "
                       f"upgrade --to {plan.steps[0].target.release.tag} first, commit, let {engine} sync, then go on. "
                       f"Without that, this run writes {last.release.tag} and {engine} applies it in one sync; "
                       "every step below is what that one sync crosses.", 0)
    return lines


def _migration(m: Migration) -> list[str]:
    label = {AUTOMATIC: "applied", HUMAN: "needs a human", CHECK: "check"}[m.kind]
    if m.kind == HUMAN:
        label = "dropped with --accept-breaking" if m.accepted else "REFUSED, needs a human"
    out = [f"  - {label}: {m.title}"]
    out += _wrap(m.why, 6)
    out += [f"      - {d}" for d in m.details]
    if m.pods:
        out += _wrap(f"Pods: {m.pods}", 6)
    if m.order:
        out.append("      Order that avoids an outage:")
        for i, step in enumerate(m.order, 1):
            wrapped = _wrap(step, 11)
            out.append(f"        {i}. {wrapped[0].strip()}")
            out += wrapped[1:]
    return out


def _step(step: Step, index: int, plan: Plan) -> list[str]:
    old, new = step.source, step.target
    out = ["", f"== Step {index}: {old.release.tag} -> {new.release.tag} (chart {old.release.chart_version} -> "
               f"{new.release.chart_version})"]
    if plan.pool:
        out = ["", f"== Step {index}: pool {plan.pool}'s DOCA driver, on {new.release.tag}"]
    sections: tuple[list[str], ...] = (
        _spec_section(step, plan), _fields_section(step), _crds_section(step), _values_section(step),
        _notes_section(step), _migrations_section(step), _nodes_section(step), _gpu_section(step),
        _sync_section(step))
    if plan.pool:  # the release stays: no API, chart, notes or GPU Operator pairing to compare
        sections = (_spec_section(step, plan), _migrations_section(step), _nodes_section(step), _sync_section(step))
    for section in sections:
        if section:  # a section with nothing to say is left out (only NVIDIA's notes can be)
            out += ["", *section]
    return out


def _spec_section(step: Step, plan: Plan) -> list[str]:
    return [f"Spec ({plan.spec_file})", *(f"  {field}: {before} -> {after}" for field, before, after in step.spec)]


def _fields_section(step: Step) -> list[str]:
    out = ["CRD fields the cluster's objects use (old objects against the new CRDs)"]
    used = [c for c in step.fields if c.change != ADDED]
    added = [c for c in step.fields if c.change == ADDED]
    if not step.fields:
        out.append("  no change")
    for (kind, name), changes in groupby(used, key=lambda c: (c.kind, c.name)):
        out.append(f"  {kind} {name}")
        for c in changes:
            note = " (the API server would prune or refuse it)" if c.breaking else ""
            detail = f": {c.detail}" if c.detail else ""
            out.append(f"    {c.change:24} {c.path or '(the whole object)'}{detail}{note}")
    if added:
        out += _wrap("new fields the cluster does not set: " + ", ".join(f"{c.kind}.{c.path}" for c in added), 2)
    return out


def _crds_section(step: Step) -> list[str]:
    return ["CRDs", *([f"  {c.change:8} {c.name} (installed by {c.installed_by})" for c in step.crds]
                      or ["  no change"])]


def _values_section(step: Step) -> list[str]:
    old, new = step.source, step.target
    return [f"Chart values the cluster sets (network-operator {old.release.chart_version} -> "
            f"{new.release.chart_version})",
            *([f"  {v.change:16} {v.key}: {v.detail}" for v in step.values] or ["  no change"])]


def _notes_section(step: Step) -> list[str]:
    """NVIDIA's notes on what breaks in the target release; nothing when it has none."""
    new = step.target
    if not new.release.lifecycle.breaking:
        return []
    out = [f"NVIDIA's notes for {new.release.tag} (what changed since the release before)"]
    for note in new.release.lifecycle.breaking:
        wrapped = _wrap(note, 4)
        out += [f"  - {wrapped[0].strip()}", *wrapped[1:]]
    return out


def _migrations_section(step: Step) -> list[str]:
    return ["Migrations", *([line for m in step.migrations for line in _migration(m)] or ["  none"])]


def _nodes_section(step: Step) -> list[str]:
    out = ["Nodes and pods"]
    for d in step.disruptions:
        out.append(f"  - {d.what}: {d.change}")
        out += _wrap(d.effect, 6)
        if d.detail:
            out += _wrap(d.detail, 6)
        elif d.what == "ofedDriver" and d.change != "removed":
            out += _wrap(step.driver_policy, 6)
    if not step.disruptions:
        out.append("  nothing restarts")
    return out


def _gpu_section(step: Step) -> list[str]:
    """A GPU Operator cluster's step that leaves NVIDIA's validated GPUDirect pairs: a warning."""
    return ["GPUDirect RDMA", *_wrap(f"warning: {step.gpu}", 2)] if step.gpu else []


def render_gpu(plan: GpuPlan) -> str:
    """A GPU Operator upgrade (``gen upgrade --gpu-to``), one section per step."""
    first, last = plan.steps[0].source, plan.steps[-1].target
    tags = [_gpu_tag(first), *(_gpu_tag(s.target) for s in plan.steps)]
    lines = [f"gen upgrade: {plan.cluster} GPU Operator {tags[0]} -> {tags[-1]}, {len(plan.steps)} step(s): "
             f"{' -> '.join(tags)} (network-operator {last.release.tag})"]
    for index, step in enumerate(plan.steps, 1):
        old, new = _gpu_tag(step.source), _gpu_tag(step.target)
        lines += ["", f"== GPU Operator step {index}: {old} -> {new} (chart gpu-operator {old} -> {new})", "",
                  f"Spec ({plan.spec_file})", f"  gpu.operator.version: {old} -> {new}", "",
                  "CRDs", *([f"  {c.change:8} {c.name} (installed by {c.installed_by})" for c in step.crds]
                            or ["  no change"]), "",
                  f"Chart values the cluster sets (gpu-operator {old} -> {new})",
                  *([f"  {v.change:16} {v.key}: {v.detail}" for v in step.values] or ["  no change"]), "",
                  "Nodes and pods (the ClusterPolicy the operator deploys from)"]
        for change in step.operands:
            lines.append(f"  - {change.component}: {change.change}")
            lines += _wrap(change.effect, 6)
        if not step.operands:
            lines.append("  nothing restarts")
        if step.notes:
            lines += ["", "Notes", *(line for note in step.notes for line in _wrap(f"- {note}", 2))]
        lines += ["", "Checks"]
        lines += ([f"  {f.file}{':' + str(f.line) if f.line else ''}: {f.rule}: {f.message}" for f in step.errors]
                  or [f"  the bundle validates with GPU Operator {new}"])
    return "".join(printable(line.rstrip()) + "\n" for line in lines)


def _gpu_tag(cluster: Cluster) -> str:
    return cluster.gpu.operator.release.tag if cluster.gpu and cluster.gpu.operator else "-"


def _sync_section(step: Step) -> list[str]:
    new = step.target
    if step.flux_sync:  # gitops: flux: the Kustomization chain, as gen plan shows it
        out = ["Flux (the Kustomizations in order, each Ready before the next starts)"]
        out += [f"  {line}" for line in step.flux_sync.splitlines()]
    else:
        out = ["Argo CD sync (phase wave: objects)"]
        for (phase, wave), rows in groupby(step.sync, key=lambda r: (r.phase, r.wave)):
            names = ", ".join(f"{r.kind} {r.name}" for r in rows)
            out += _wrap(f"{phase} {wave}: {names}", 2)
    if step.errors:
        out.append(f"  the sync would be refused or break: {len(step.errors)} error(s) in the new bundle:")
        out += [f"    {f.file}{':' + str(f.line) if f.line else ''}: {f.rule}: {f.message}" for f in step.errors]
    else:
        out.append(f"  nothing would be refused: the bundle validates for {new.release.tag} ({step.objects} objects "
                   f"in overlays/{new.mode})")
    return out


def move_lines(move: Move, refusals: list[Refusal], release: str, webhook_on: bool) -> list[str]:
    """The move to NicNodePolicies as a reviewer reads it: each apply in order with what it does to the DaemonSets
    and the nodes, the webhook's verdict on the order (replayed), and the nodes that reload the driver."""
    out = _wrap(f"Moving to NicNodePolicies: {len(move.applies)} applies, in this order, in one sync (Argo CD's sync "
                "waves wait for the NicClusterPolicy's health before the NicNodePolicies; Flux's rdma-pools waits on "
                "rdma-policy)", 0)
    for number, apply in enumerate(move.applies, 1):
        wrapped = _wrap(f"{apply.action} {apply.label}: {apply.when}", 5)
        out += [f"  {number}. {wrapped[0].strip()}", *wrapped[1:]]
        for effect in apply.effects:
            lines = _wrap(effect, 7)
            out += [f"     - {lines[0].strip()}", *lines[1:]]
    reloads = ", ".join(move.reloads)
    out += _wrap("Nodes that reload the DOCA driver: " + (f"those of {reloads}, undrained (see above)" if reloads
                                                          else "none (every pool keeps the version it runs)"), 2)
    if refusals:
        out.append(f"  The admission webhook of {release} would refuse (gen's webhook rules, each apply replayed "
                   "against the policies stored before it):")
        out += [f"    {r.apply.label}: {f.rule}: {f.message}" for r in refusals for f in r.findings]
    else:
        said = ("" if webhook_on else " It is off in this cluster's chart values (the chart's default); the order "
                "keeps each section in one kind of policy all the same.")
        out += _wrap(f"The admission webhook of {release} accepts every apply in this order: gen's webhook rules, "
                     f"each apply replayed against the policies stored before it.{said}", 2)
    return out


def render(plan: Plan) -> str:
    lines = _header(plan)
    for i, step in enumerate(plan.steps, 1):
        lines += _step(step, i, plan)
    return "".join(printable(line.rstrip()) + "\n" for line in lines)
