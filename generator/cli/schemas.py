"""``gen schemas pull``: the pinned releases' CRDs and webhook schemas (sha256-checked), and their charts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from generator import catalog
from generator.cli.options import schema_source
from generator.core.errors import EXIT_OK, printable
from generator.sources import schema_store
from generator.sources.chart_store import ChartSourceError, copy_chart, fetch_chart, find_chart

HELP = "manage the CRD schema cache"


def add_arguments(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="schemas_command", required=True, metavar="ACTION")
    pull = actions.add_parser("pull", help="fetch the pinned releases' CRDs (sha256-checked) into the cache")
    schema_source(pull)


def run(args: argparse.Namespace, repo: Path, mirror: Path | None) -> int:
    """The CRDs and webhook schemas of every release (required), and their charts (optional: where the Helm
    repository cannot be reached, gen checks against the chart facts)."""
    cache = schema_store.default_cache_dir()
    fetched = schema_store.pull(cache, mirror)
    print(f"gen schemas pull: {len(fetched)} file(s) verified into {cache}")
    cat = catalog.load()
    got: list[str] = []
    failed: list[str] = []
    for tag in cat.release_tags:
        try:
            if mirror is not None:
                found = find_chart(tag, [mirror])
                chart = copy_chart(found, cache) if found else None
                if chart is None:
                    failed.append(f"{tag}: no chart in {mirror}/network-operator/{tag}/chart/")
            else:
                chart = find_chart(tag, [cache]) or fetch_chart(tag, cache)
        except ChartSourceError as exc:
            failed.append(f"{tag}: {exc}")
            continue
        if chart is not None:
            got.append(tag)
    print(f"gen schemas pull: charts of {len(got)} of {len(cat.release_tags)} release(s) in {cache}"
          + ("" if not failed else "; without the others, gen checks against the catalog's chart facts"))
    for line in failed:  # one line each, whatever a server sent (a reason phrase, a redirect loop's three lines)
        print(f"  {printable(line)}", file=sys.stderr)
    return EXIT_OK
