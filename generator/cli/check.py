"""``gen check``: exit 1 when the committed output/ differs from what the specs generate."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from generator import write
from generator.cli.bundle import lasting_change
from generator.cli.options import schema_source, selection
from generator.cluster.repo import select
from generator.core.errors import EXIT_FAILED, EXIT_OK, printable
from generator.core.progress import for_stderr
from generator.pipeline.messages import Messages
from generator.pipeline.outcome import outcome

HELP = "exit 1 if committed output/ differs from what the specs generate"


def add_arguments(p: argparse.ArgumentParser) -> None:
    selection(p, required=False)
    p.add_argument("--against", metavar="REF", default=None,
                   help="check the objects as updates of the output committed at REF (CEL rules on oldSelf, such "
                        "as immutable fields; default: the merge base of HEAD and the default branch, else HEAD; "
                        "outside git, skipped with a note)")
    schema_source(p)


def run(args: argparse.Namespace, repo: Path, mirror: Path | None) -> int:
    return check(repo, args.cluster, all_clusters=not args.cluster, mirror=mirror, against=args.against)


def check(repo: Path, names: list[str], *, all_clusters: bool, mirror: Path | None, against: str | None = None,
          messages: Messages | None = None) -> int:
    started = time.monotonic()
    result = outcome(repo, select(repo, names, all_clusters), mirror, messages or Messages(), progress=for_stderr(),
                     against=against, updates=True)
    bundles = result.all_bundles(with_fleet=all_clusters)
    drift = write.check(repo, bundles, all_clusters=all_clusters)
    if not drift:
        files = sum(len(b.files) for b in bundles)
        print(f"gen check: output/ is up to date with {len(result.bundles)} cluster spec(s) ({files:,} files, "
              f"{time.monotonic() - started:.1f} s)")
        return EXIT_OK
    for item in drift:
        print(printable(item.render()))
        if item.diff:
            print(item.diff, end="" if item.diff.endswith("\n") else "\n")
    flags = sorted({flag for item in drift for flag in item.fix.split()}, key=["--prune", "--force"].index)
    target = "--all" if all_clusters else " ".join(f"--cluster {b.cluster}" for b in result.bundles)
    if "--prune" in flags and not all_clusters:
        flags.remove("--prune")
    print(f"gen check: {len(drift)} file(s) out of date; run: gen bundle {' '.join([target, *flags])}",
          file=sys.stderr)
    for item in drift:
        if item.edited:  # the regeneration would undo it: where the change belongs instead
            print(f"gen check: {printable(item.path)} was edited by hand; gen bundle replaces it with the generated "
                  f"file. A lasting change: {lasting_change(item.path)}", file=sys.stderr)
    return EXIT_FAILED
