"""``gen bundle --cluster NAME | --all``: render, check and write output/<cluster>/ (and the fleet bootstrap)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from generator import write
from generator.cli.options import schema_source, selection
from generator.cluster.repo import select
from generator.core import layout
from generator.core.errors import EXIT_OK, InputError, printable
from generator.core.progress import for_stderr
from generator.pipeline.messages import Messages
from generator.pipeline.outcome import Outcome, outcome

HELP = "render, validate and write output/<cluster>/"


def add_arguments(p: argparse.ArgumentParser) -> None:
    selection(p, required=True)
    p.add_argument("--prune", action="store_true",
                   help="with --all: remove output/<name>/ of clusters whose spec is gone")
    p.add_argument("--force", action="store_true", help="overwrite or delete files in output/ that gen does not own")
    schema_source(p)


def run(args: argparse.Namespace, repo: Path, mirror: Path | None) -> int:
    return bundle(repo, args.cluster, args.all, prune=args.prune, force=args.force, mirror=mirror)


def lock_timeout() -> float:
    """How long to wait for another run's lock on output/: ``$GEN_LOCK_TIMEOUT`` seconds, else 30."""
    raw = os.environ.get("GEN_LOCK_TIMEOUT", "")
    if not raw:
        return write.DEFAULT_LOCK_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 86400:
        raise InputError(f"GEN_LOCK_TIMEOUT={raw!r}: give the seconds to wait for output/.gen.lock (0 to 86400)")
    return value


def summary_line(command: str, clusters: int, written: int, unchanged: int, seconds: float) -> str:
    """The run in one line: ``gen bundle: 500 clusters, 12 files written, 10,488 unchanged, 4.2 s``."""
    return (f"{command}: {clusters:,} cluster{'' if clusters == 1 else 's'}, {written:,} file"
            f"{'' if written == 1 else 's'} written, {unchanged:,} unchanged, {seconds:.1f} s")


def lasting_change(path: str) -> str:
    """Where a lasting change to a generated file goes: the cluster's spec or overlays/<name>/ (a kustomize
    Component applied to its mode overlay), or for the shared directories, the specs."""
    parts = path.split("/")
    name = parts[1] if len(parts) > 2 else ""
    if name and name not in (layout.FLEET, layout.CHARTS) and not name.startswith("network-operator-"):
        return (f"change {layout.spec_file(name)}, or put a patch in {layout.user_overlay_dir(name)}/ (a kustomize "
                "Component gen applies to the cluster's overlay)")
    return f"change the specs in {layout.CLUSTERS_DIR}/"


def _warn_edited(paths: list[str]) -> None:
    for path in paths:
        print(f"gen: warning: {printable(path)}: edited by hand since gen wrote it; gen bundle replaces it now with "
              f"the generated file (git diff shows what the edit was). A lasting change: {lasting_change(path)}",
              file=sys.stderr)


def _warn_stale(repo: Path, result: Outcome, prune: bool) -> None:
    expected = result.expected_dirs()
    if expected is not None and not prune:
        for name in write.output_dirs(repo):
            if name not in expected:
                print(f"gen: warning: {layout.output_dir(name)}/ is stale: no cluster spec generates it any more; "
                      "gen bundle --all --prune removes it", file=sys.stderr)


def bundle(repo: Path, names: list[str], all_clusters: bool, *, prune: bool, force: bool,
           mirror: Path | None, with_chart: bool = False, messages: Messages | None = None) -> int:
    if prune and not all_clusters:
        raise InputError("--prune needs --all (it removes output of clusters whose spec is gone)")
    started = time.monotonic()
    progress = for_stderr()
    result = outcome(repo, select(repo, names, all_clusters), mirror, messages or Messages(), with_chart=with_chart,
                     progress=progress)
    with_fleet = result.fleet is not None
    if not with_fleet and result.broken:
        print(f"gen: warning: {layout.output_dir(layout.FLEET)}/ not updated: "
              f"{', '.join(result.broken)} do(es) not load (gen bundle --all says why)",
              file=sys.stderr)
    bundles = result.all_bundles(with_fleet=with_fleet)
    progress.phase("bundles written", len(bundles))
    try:
        report = write.apply(repo, bundles, prune=prune, all_clusters=all_clusters, force=force,
                             lock_timeout=lock_timeout(), progress=progress.advance, edited=_warn_edited)
    finally:
        progress.done()
    print("\n".join(report.lines()))
    print(summary_line("gen bundle", len(result.bundles), len(report.written), len(report.unchanged),
                       time.monotonic() - started))
    for path in report.refused:
        print(f"gen: warning: {path}: not written by gen; kept (gen check reports it as stray): delete it, or "
              f"rerun with --force", file=sys.stderr)
    _warn_stale(repo, result, prune)
    return EXIT_OK
