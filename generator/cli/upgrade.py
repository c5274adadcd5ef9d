"""``gen upgrade --cluster NAME --to TAG``: move a cluster's spec to a newer network-operator release, one release at a
time, print the plan, and write the spec and the bundle only when every step validates and nothing needs a human.
``--gpu-to TAG`` does the same for the GPU Operator (``gpu.operator.version``), one release gen can deploy at a time."""

from __future__ import annotations

import argparse
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator import catalog
from generator.catalog.gpu import load_gpu
from generator.check.validators.kinds import schemas_for
from generator.cli.bundle import bundle
from generator.cli.options import schema_source
from generator.cluster.model import Cluster
from generator.cluster.parse import MAX_SPEC_BYTES
from generator.cluster.repo import leftover_note, leftover_temps, remove_leftover_temps, select, spec_dir
from generator.core import layout
from generator.core.errors import EXIT_FAILED, EXIT_OK, InputError, os_failure
from generator.core.fs import read_regular, write_atomic_at
from generator.pipeline.chart_renders import note_missing_charts
from generator.pipeline.checking import check_clusters
from generator.pipeline.clusters import checked_cluster, load_fleet
from generator.pipeline.messages import Messages
from generator.sources.schema_store import open_store
from generator.upgrade import plan_text as report
from generator.upgrade.gpu_steps import GpuPlan, gpu_step
from generator.upgrade.migrations import migration, step_edits
from generator.upgrade.spec_edit import Edit, apply_edits, changed_lines
from generator.upgrade.steps import Built, Plan, plan_step
from generator.yamlio.load import YamlInputError, load_single

HELP = ("move a cluster to a newer network-operator release, or one pool to another DOCA driver: print the plan, then "
        "write the spec and bundle if every step validates")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cluster", required=True, metavar="NAME", help="the cluster spec clusters/NAME.yaml")
    p.add_argument("--to", metavar="TAG", help="the network-operator release to move to (gen releases)")
    p.add_argument("--gpu-to", metavar="TAG", help="the GPU Operator release to move to (gen catalog gpu-operator; a "
                                                   "cluster with gpu.driver operator)")
    p.add_argument("--pool", metavar="POOL", help="instead of --to: move one pool of the spec (pools[].name) to "
                   "another DOCA driver, the others staying on theirs (a canary; network-operator v26.4.0 and later)")
    p.add_argument("--driver", metavar="VERSION", help="with --pool: the DOCA driver version to move the pool to "
                   "(default: the release's, which the pool then follows)")
    p.add_argument("--dry-run", action="store_true", help="print the plan; write nothing")
    p.add_argument("--accept-breaking", action="store_true",
                   help="let gen drop what the new release no longer reads (retired chart values) instead of refusing")
    schema_source(p)


def _built(repo: Path, cluster: Cluster, mirror: Path | None, messages: Messages) -> Built:
    checked = check_clusters(repo, [cluster], None, mirror, messages)
    chart = checked.charts.get(cluster.name)
    chart_objects = chart.objects if chart is not None and not chart.error and cluster.argocd.delivery == "helm" \
        else None
    errors = [f for f in checked.findings if f.severity == "error"]
    return Built(cluster, checked.builds[(cluster.name, cluster.mode)].objects, chart_objects, errors)


def _raw(text: str, file: str) -> dict[str, Any]:
    try:
        value = load_single(text.encode(), file, max_bytes=MAX_SPEC_BYTES).value
    except YamlInputError as exc:  # parse_cluster read it before: not expected
        raise InputError(str(exc)) from None
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Upgrade:
    """A computed upgrade: the plan, and the spec file's text before and after."""

    plan: Plan
    before: str
    after: str
    target: str

    @property
    def errors(self) -> int:
        return sum(len(step.errors) for step in self.plan.steps)


def _spec(repo: Path, name: str) -> tuple[str, str]:
    """The spec file's name and text (a regular file in clusters/, never a link)."""
    file = layout.spec_file(name)
    path = spec_dir(repo) / f"{name}.yaml"
    if path.is_symlink():
        raise InputError(f"{file}: is a symbolic link; gen upgrade edits only a regular file in clusters/ (edit the "
                         "file it points to by hand, or replace the link with the file)")
    return file, read_regular(path, MAX_SPEC_BYTES, file).decode("utf-8")


def plan_upgrade(repo: Path, name: str, to: str, *, accept_breaking: bool, mirror: Path | None,
                 messages: Messages) -> Upgrade | None:
    """Every step from the cluster's release to ``to``, rendered, built and checked in memory; None when the cluster
    is already on ``to``. Raises InputError for an unknown release, a downgrade, or a spec gen may not edit."""
    cat = catalog.load()
    [name] = select(repo, [name], all_clusters=False)
    file, before = _spec(repo, name)
    current = load_fleet(repo, [name]).selected[0]
    target = cat.releases.get(to)
    if target is None:
        raise InputError(f"--to {to!r}: not a release gen knows; known: {', '.join(cat.release_tags)}")
    if target.key == current.release.key:
        return None
    if target.key < current.release.key:
        raise InputError(f"--to {target.tag}: {file} is on {current.release.tag}; gen upgrades, never downgrades "
                         "(NVIDIA supports no downgrade): restore the older spec and output from git instead")
    text = before
    store = open_store(mirror)
    plan = Plan(name, file)
    steps = [t for t in cat.release_tags if current.release.key < catalog.version_key(t) <= target.key]
    note_missing_charts({current.release.tag, *steps}, mirror, messages)  # every release of the way, in one note
    old = _built(repo, current, mirror, messages)
    for tag in steps:
        raw = _raw(text, file)
        step = step_edits(old.cluster, raw, cat.release(tag), accept_breaking=accept_breaking)
        new_text = apply_edits(text, step.edits, file)
        new = _built(repo, checked_cluster(new_text.encode(), file, expected_name=name), mirror, messages)
        plan.steps.append(plan_step(old, new, step.edits, raw, step.migrations,
                                    schemas_for(old.cluster.release.tag, None, store,
                                                old.cluster.kubernetes.version),
                                    schemas_for(tag, None, store, new.cluster.kubernetes.version), store))
        text, old = new_text, new
    return Upgrade(plan, before, text, target.tag)


def plan_pool(repo: Path, name: str, pool_name: str, driver: str | None, *, mirror: Path | None,
              messages: Messages) -> Upgrade | None:
    """One pool's DOCA driver moved (to ``driver``, else to the release's), the cluster built and checked before and
    after; None when the pool runs that driver already. Raises InputError for an unknown pool, or a cluster whose
    pools share the NicClusterPolicy (before v26.4.0)."""
    [name] = select(repo, [name], all_clusters=False)
    file, text = _spec(repo, name)
    current = load_fleet(repo, [name]).selected[0]
    pool = next((p for p in current.pools if p.name == pool_name), None)
    if pool is None:
        known = ", ".join(p.name for p in current.pools)
        raise InputError(f"--pool {pool_name!r}: {file} has " + (f"no such pool; its pools: {known}" if known else
                         "no pools (spec pools); give the cluster its pools first"))
    cat = catalog.load()
    if not current.node_policies:
        later = [r.tag for r in cat.releases.values() if cat.has_node_policies(r)]
        raise InputError(f"--pool {pool_name}: {file} is on {current.release.tag}, where the pools share the "
                         f"NicClusterPolicy and its one driver (NicNodePolicy came with {cat.node_policy_since}); "
                         f"move the cluster first: gen upgrade --cluster {name} --to {later[0] if later else '...'}")
    target = driver or current.release.doca_driver
    if target == pool.driver.version:
        return None
    raw = _raw(text, file)
    path = ("pools", pool.index, "driver", "version")
    edit = Edit(path, delete=True) if target == current.release.doca_driver else Edit(path, target)
    new_text = apply_edits(text, [edit], file)
    store = open_store(mirror)
    note_missing_charts({current.release.tag}, mirror, messages)
    old = _built(repo, current, mirror, messages)
    new = _built(repo, checked_cluster(new_text.encode(), file, expected_name=name), mirror, messages)
    moved = next(p for p in new.cluster.pools if p.name == pool_name)
    others = [p.name for p in new.cluster.pools if p.name != pool_name]
    details = (f"{moved.policy_name}: {pool.driver.version} -> {moved.driver.version}"
               + ("" if driver else f" (the release's: the pool follows {current.release.tag} from now on)"),
               f"untouched: {', '.join(p for p in others) or 'no other pool'}")
    schemas = schemas_for(current.release.tag, None, store, current.kubernetes.version)
    plan = Plan(name, file, pool=pool_name)
    plan.steps.append(plan_step(old, new, [edit], raw, [migration("pool-driver", details, name=name)], schemas,
                                schemas, store))
    return Upgrade(plan, text, new_text, current.release.tag)


def _write_spec(repo: Path, file: str, data: bytes) -> None:
    """Replace the spec atomically, keeping its mode, in ``clusters/`` as it really is (opened once, never through a
    link: ``spec_dir``)."""
    name = Path(file).name
    try:
        folder = os.open(spec_dir(repo), os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            st = os.stat(name, dir_fd=folder, follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode):
                raise InputError(f"{file}: is no longer a regular file; nothing written")
            write_atomic_at(folder, name, data)
            os.chmod(name, st.st_mode & 0o7777, dir_fd=folder)
        finally:
            os.close(folder)
    except OSError as exc:
        raise os_failure(exc, file, "write it") from None


def _planned(args: argparse.Namespace, repo: Path, mirror: Path | None, messages: Messages) -> Upgrade | None:
    if args.pool and args.to:
        raise InputError("give --to or --pool, not both: move the release first (the pools keep their drivers), "
                         "then each pool with --pool, one sync at a time")
    if args.driver and not args.pool:
        raise InputError("--driver goes with --pool: gen upgrade --cluster NAME --pool POOL --driver VERSION")
    if args.pool:
        return plan_pool(repo, args.cluster, args.pool, args.driver, mirror=mirror, messages=messages)
    if not args.to:
        raise InputError("give --to TAG (a network-operator release, gen releases), --gpu-to TAG (the GPU Operator "
                         "release), or --pool POOL")
    return plan_upgrade(repo, args.cluster, args.to, accept_breaking=args.accept_breaking, mirror=mirror,
                        messages=messages)


def plan_gpu_upgrade(repo: Path, name: str, to: str, *, mirror: Path | None, messages: Messages
                     ) -> tuple[GpuPlan, str, str] | None:
    """Every GPU Operator step from the cluster's release to ``to`` (the releases gen can deploy), built and checked
    in memory; the plan and the spec's text before and after; None when the cluster is on ``to`` already."""
    gpu = load_gpu()
    [name] = select(repo, [name], all_clusters=False)
    file = layout.spec_file(name)
    if (repo / file).is_symlink():
        raise InputError(f"{file}: is a symbolic link; gen upgrade edits only a regular file in clusters/")
    current = load_fleet(repo, [name]).selected[0]
    if current.gpu is None or current.gpu.operator is None:
        raise InputError(f"--gpu-to: {file} runs no GPU Operator (gpu.driver operator); nothing to upgrade")
    target = gpu.releases.get(to)
    if target is None or not target.charted:
        raise InputError(f"--gpu-to {to!r}: not a GPU Operator release gen can deploy; those are: "
                         f"{', '.join(gpu.charted_tags)}")
    now = current.gpu.operator.release
    if target.key == now.key:
        return None
    if target.key < now.key:
        raise InputError(f"--gpu-to {target.tag}: {file} is on GPU Operator {now.tag}; gen upgrades, never "
                         "downgrades: restore the older spec and output from git instead")
    text = before = read_regular(repo / file, MAX_SPEC_BYTES, file).decode("utf-8")
    store = open_store(mirror)
    plan = GpuPlan(name, file, [])
    old = current
    for tag in [t for t in gpu.charted_tags if now.key < catalog.version_key(t) <= target.key]:
        text = apply_edits(text, [Edit(("gpu", "operator", "version"), tag)], file)
        new = checked_cluster(text.encode(), file, expected_name=name)
        checked = check_clusters(repo, [new], None, mirror, messages)
        plan.steps.append(gpu_step(old, new, [f for f in checked.findings if f.severity == "error"], store))
        old = new
    return plan, before, text


def _run_gpu(args: argparse.Namespace, repo: Path, mirror: Path | None, messages: Messages) -> int:
    found = plan_gpu_upgrade(repo, args.cluster, args.gpu_to, mirror=mirror, messages=messages)
    if found is None:
        print(f"gen upgrade: {args.cluster} is already on GPU Operator {args.gpu_to}; nothing to do")
        return EXIT_OK
    plan, before, after = found
    sys.stdout.write(report.render_gpu(plan))
    if plan.refused or plan.errors:
        why = [f"{len(plan.refused)} chart value(s) the new chart no longer reads"] if plan.refused else []
        why += [f"the new bundle has {plan.errors} error(s)"] if plan.errors else []
        print(f"gen upgrade: refused: {'; '.join(why)}; nothing written", file=sys.stderr)
        return EXIT_FAILED
    lines = changed_lines(before, after)
    if args.dry_run:
        print(f"\ngen upgrade: dry run: {plan.spec_file} would change ({lines} line(s)); nothing written")
        return EXIT_OK
    _write_spec(repo, plan.spec_file, after.encode("utf-8"))
    print(f"\ngen upgrade: {plan.spec_file} moved to GPU Operator {args.gpu_to} ({lines} line(s) changed); writing "
          "the bundle")
    return bundle(repo, [plan.cluster], False, prune=False, force=False, mirror=mirror, messages=messages)


def run(args: argparse.Namespace, repo: Path, mirror: Path | None) -> int:
    messages = Messages()  # one per command: a chart not at hand is said once
    if args.gpu_to:
        if args.to or args.pool or args.driver:
            raise InputError("--gpu-to moves the GPU Operator alone: give it without --to, --pool or --driver (one "
                             "move per sync)")
        return _run_gpu(args, repo, mirror, messages)
    upgrade = _planned(args, repo, mirror, messages)
    if upgrade is None:
        print(f"gen upgrade: pool {args.pool} of {args.cluster} runs that driver already; nothing to do" if args.pool
              else f"gen upgrade: {args.cluster} is already on {args.to}; nothing to do")
        return EXIT_OK
    plan = upgrade.plan
    sys.stdout.write(report.render(plan))
    if plan.refused or upgrade.errors:
        why = [f"{len(plan.refused)} migration(s) need a human"] if plan.refused else []
        why += [f"the new bundle has {upgrade.errors} error(s)"] if upgrade.errors else []
        print(f"gen upgrade: refused: {'; '.join(why)}; nothing written", file=sys.stderr)
        return EXIT_FAILED
    lines = changed_lines(upgrade.before, upgrade.after)
    if args.dry_run:
        for path in leftover_temps(repo):
            print(f"gen: warning: {leftover_note(path)}", file=sys.stderr)
        print(f"\ngen upgrade: dry run: {plan.spec_file} would change ({lines} line(s)); nothing written")
        return EXIT_OK
    for path in remove_leftover_temps(repo):
        print(f"gen upgrade: removed {path}, left by an interrupted gen upgrade", file=sys.stderr)
    _write_spec(repo, plan.spec_file, upgrade.after.encode("utf-8"))
    moved = f"pool {plan.pool}'s driver moved" if plan.pool else f"moved to {upgrade.target}"
    print(f"\ngen upgrade: {plan.spec_file} {moved} ({lines} line(s) changed); writing the bundle")
    return bundle(repo, [plan.cluster], False, prune=False, force=False, mirror=mirror, messages=messages)
