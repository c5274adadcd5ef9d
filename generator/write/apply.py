"""``apply``: write rendered bundles into ``output/<cluster>/`` crash-safely.

Order for each cluster (each step atomic, directories fsynced between steps):

1. if gen takes ownership of new paths: an *intent* manifest (old + new owned files,
   ``"incomplete": true``), so a killed run never leaves gen-written files unowned;
2. remove leftover temp files and owned files no longer generated, then the empty dirs they leave;
3. write changed files (temp file + fsync + ``os.replace``);
4. the final manifest, last.

A cluster with no directory yet (a first bundle) is laid out whole, its manifest with it, in a directory of
``output/`` under a temporary name (each file created once and fsynced, then the directories), which is then renamed
to ``output/<cluster>/``: one rename for the cluster, where a file of its own each costs one, and a reader sees no
directory or the complete one. A temporary directory a killed run left is removed before anything else is written.

Clusters are independent of each other, so up to ``WRITERS`` of them are written at once (each in this order, in
a thread: the time goes to fsync, which waits on the disk, and concurrent fsyncs share the journal's commits);
the fleet bootstrap is written after every cluster is complete.

After a SIGKILL at any point every file is its complete old or new content, and ``check()``
reports drift (stale/incomplete manifest, stray temp file or stale file) until an ``apply``
completes.  Everything is planned (and refusals raised) before the first write.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from generator.core import layout
from generator.core.errors import printable
from generator.core.fs import is_temp_name, temp_name
from generator.render.output import Bundle
from generator.write.changes import ClusterPlan, plan_bundle, plan_prune
from generator.write.fsops import DirTree
from generator.write.lock import DEFAULT_TIMEOUT, gen_lock
from generator.write.paths import MANIFEST_NAME, OUTPUT_DIR, TOP_LEVEL_FILES, lstat_kind, walk
from generator.write.refusals import UnsafePath, WriteRefused
from generator.write.summary import WriteReport
from generator.write.validate import validate_bundles


def apply(
    repo: Path,
    bundles: list[Bundle],
    *,
    prune: bool = False,
    all_clusters: bool = False,
    force: bool = False,
    lock_timeout: float = DEFAULT_TIMEOUT,
    progress: Callable[[], None] | None = None,
    edited: Callable[[list[str]], None] | None = None,
) -> WriteReport:
    """Write ``bundles`` under ``repo/output/``; see the module docstring for guarantees.

    ``prune`` removes directories of clusters without a bundle, and only together with
    ``all_clusters`` (the bundles are then the whole fleet); otherwise it is ignored.
    ``force`` lets gen overwrite or delete files it does not own: in the way of a generated file, or anywhere in
    a cluster's directory (where ``gen check`` calls them stray), or in a pruned one.
    ``progress`` is called once per bundle done. ``edited`` is called, before anything is written, with the files
    gen wrote that were changed since (by hand: their bytes are not the ones the manifest recorded) and that this
    run replaces.
    """
    repo = Path(repo)
    validate_bundles(bundles)
    with gen_lock(repo, lock_timeout) as out_fd:
        # the fleet bootstrap last: it points Argo CD at the clusters' directories, which must be complete first
        order = sorted(bundles, key=lambda b: (b.cluster == layout.FLEET, b.cluster))
        plans = [plan_bundle(repo, b, force=force) for b in order]
        if prune and all_clusters:
            plans += [plan_prune(repo, c, force=force) for c in _orphans(repo, {b.cluster for b in bundles})]
        loose = _loose_files(repo) if prune and all_clusters else []
        left = leftover_dirs(repo)
        refused = [p for plan in plans for p in plan.refused]
        if refused:
            raise WriteRefused(refused)
        changed_by_hand = sorted(p for plan in plans for p in plan.edited)
        if changed_by_hand and edited is not None:
            edited(changed_by_hand)
        _remove_leftovers(out_fd, left)
        _execute_all(out_fd, [p for p in plans if p.cluster != layout.FLEET], progress)
        tree = DirTree(os.dup(out_fd), OUTPUT_DIR)
        try:
            for plan in plans:
                if plan.cluster == layout.FLEET:
                    _execute(tree, plan)
                    if progress is not None:
                        progress()
            if force:
                for name in loose:
                    tree.unlink((name,))  # never follows a link: removes the link itself
                tree.sync()
        finally:
            tree.close()
    report = _report(plans)
    (report.removed if force else report.refused).extend(f"{OUTPUT_DIR}/{name}" for name in loose)
    report.removed.extend(f"{OUTPUT_DIR}/{name}/" for name in left)
    report.removed.sort()
    return report


LEFTOVER_DEPTH = 32  # gen lays a bundle out a few directories deep; a leftover deeper than this is none of its own


def leftover_dirs(repo: Path) -> list[str]:
    """The directories of ``output/`` under a temporary name (``is_temp_name``): a cluster's first bundle that a
    killed run was laying out (its cluster has no directory, or the one an earlier run completed). UnsafePath for
    one nested deeper than ``LEFTOVER_DEPTH``: not what gen writes, so not removed by it."""
    out = repo / OUTPUT_DIR
    if lstat_kind(out) != "dir":
        return []
    names = sorted(e.name for e in os.scandir(out) if is_temp_name(e.name) and lstat_kind(Path(e.path)) == "dir")
    for name in names:
        try:
            deepest = max((rel.count("/") + 1 for rel in walk(out / name)), default=0)
        except OSError:  # a path too long to name, an unreadable directory
            deepest = LEFTOVER_DEPTH + 1
        if deepest > LEFTOVER_DEPTH:
            raise UnsafePath(f"{OUTPUT_DIR}/{printable(name)}/ is named as gen's temporary directories are, but "
                             f"holds entries more than {LEFTOVER_DEPTH} levels deep (gen writes a few): it is not "
                             "one of gen's; move or remove it yourself")
    return names


def _remove_leftovers(out_fd: int, names: list[str]) -> None:
    """Remove the directories ``leftover_dirs`` found: what a killed run was laying out, never a reader's."""
    if not names:
        return
    tree = DirTree(os.dup(out_fd), OUTPUT_DIR)
    try:
        for name in names:
            tree.remove_tree((name,))
        tree.sync()
    finally:
        tree.close()


def _orphans(repo: Path, live: set[str]) -> list[str]:
    out = repo / OUTPUT_DIR
    return sorted(e.name for e in os.scandir(out)
                  if e.name not in live and not is_temp_name(e.name) and lstat_kind(Path(e.path)) == "dir")


def _loose_files(repo: Path) -> list[str]:
    """What sits directly in output/ and is neither a directory nor one of gen's own files (a link, a file)."""
    out = repo / OUTPUT_DIR
    return sorted(e.name for e in os.scandir(out)
                  if e.name not in TOP_LEVEL_FILES and lstat_kind(Path(e.path)) != "dir")


WRITERS = 8


def _execute_all(out_fd: int, plans: list[ClusterPlan], progress: Callable[[], None] | None) -> None:
    """Execute the plans, up to WRITERS at once, each in its own DirTree. On an error (or Ctrl-C) no further plan
    starts, the ones running finish, and the first error in plan order is raised."""

    failed: list[BaseException] = []

    def run(plan: ClusterPlan) -> None:
        if failed:
            return  # another plan failed: start no more
        tree = DirTree(os.dup(out_fd), OUTPUT_DIR)
        try:
            _execute(tree, plan)
        except BaseException as exc:
            failed.append(exc)
            raise
        finally:
            tree.close()
        if progress is not None:
            progress()

    work = [plan for plan in plans if not plan.noop]
    if progress is not None:
        for _ in range(len(plans) - len(work)):
            progress()
    if len(work) <= 1:
        for plan in work:
            run(plan)
        return
    with ThreadPoolExecutor(max_workers=min(WRITERS, len(work)), thread_name_prefix="gen-write") as pool:
        futures = [pool.submit(run, plan) for plan in work]
        try:
            for future in futures:
                future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _execute(tree: DirTree, plan: ClusterPlan) -> None:
    if plan.noop:
        return
    if plan.fresh:
        _execute_fresh(tree, plan)
        return
    c = (plan.cluster,)
    manifest = (*c, MANIFEST_NAME)
    if plan.intent_manifest is not None:
        tree.write(manifest, plan.intent_manifest)
        tree.sync()
    for rel in plan.temps + plan.deletes:
        tree.unlink((*c, *rel.split("/")))
    for rel in plan.rmdirs:
        tree.rmdir((*c, *rel.split("/")))
    tree.sync()
    for rel, data in plan.writes.items():
        tree.write((*c, *rel.split("/")), data)
    tree.sync()
    if plan.final_manifest is None:  # pruned cluster: manifest goes last, then the dir
        tree.unlink(manifest)
        tree.rmdir(c)
    elif plan.final_manifest != plan.current_manifest or plan.intent_manifest is not None:
        tree.write(manifest, plan.final_manifest)
    tree.sync()


def _execute_fresh(tree: DirTree, plan: ClusterPlan) -> None:
    """The cluster's whole directory, laid out under a temporary name and renamed into place (see the module's doc).
    On an error it is removed; a kill leaves it for the next run to remove."""
    assert plan.final_manifest is not None
    laid = (temp_name(plan.cluster),)
    tree.show_as(laid[0], plan.cluster)  # errors name the cluster's directory, where the files are to be
    try:
        tree.dir(laid, later=True)
        for rel, data in [*plan.writes.items(), (MANIFEST_NAME, plan.final_manifest)]:
            tree.create((*laid, *rel.split("/")), data)
        tree.sync()  # every file and directory in it durable before it has its name
        tree.rename(laid, (plan.cluster,))
    except BaseException:
        with contextlib.suppress(Exception):
            tree.remove_tree(laid)
        raise
    tree.sync()


def _report(plans: list[ClusterPlan]) -> WriteReport:
    r = WriteReport()
    for plan in plans:
        pre = f"{OUTPUT_DIR}/{plan.cluster}/"
        r.clusters.append(plan.cluster)
        r.written += [pre + p for p in plan.writes]
        r.unchanged += [pre + p for p in plan.unchanged]
        r.removed += [pre + p for p in plan.temps + plan.deletes]
        r.refused += plan.kept
        if plan.final_manifest is None:
            r.pruned.append(plan.cluster)
    for paths in (r.written, r.unchanged, r.removed, r.refused):
        paths.sort()
    return r
