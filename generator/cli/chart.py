"""``gen chart``: write output/charts/rdma-infiniband/ and the bundles (each with its chart values file)."""

from __future__ import annotations

import argparse
from pathlib import Path

from generator import project_version
from generator.cli.bundle import bundle
from generator.cli.options import schema_source
from generator.core import layout
from generator.render import rdma_chart
from generator.render.rdma_values import VALUES_FILE

HELP = ("write the rdma-infiniband Helm chart (output/charts/rdma-infiniband/) and the clusters' bundles with its "
        "values files; gen bundle keeps it current from then on")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cluster", action="append", default=[], metavar="NAME",
                   help="write the bundles of these clusters only (repeatable; default: every spec)")
    p.add_argument("--force", action="store_true", help="overwrite or delete files in output/ that gen does not own")
    schema_source(p)


def run(args: argparse.Namespace, repo: Path, mirror: Path | None) -> int:
    """Write the chart and the named clusters' bundles, or every cluster's; checked as ``gen bundle`` checks, the
    chart against each cluster's overlay."""
    code = bundle(repo, args.cluster, not args.cluster, prune=False, force=args.force, mirror=mirror,
                  with_chart=True)
    print(f"gen chart: {rdma_chart.chart_path()}/ (chart {rdma_chart.CHART_NAME} {project_version()}); each "
          f"cluster's values: {layout.output_dir('<name>')}/{VALUES_FILE}; gen bundle and gen check keep them "
          "current")
    return code
