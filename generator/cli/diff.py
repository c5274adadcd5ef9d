"""``gen diff``: what changes in what Argo CD applies, object by object and field by field, between the working
tree (what ``gen bundle`` would write from the specs now) and a git commit (what is committed there)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from generator.cli.options import schema_source, selection
from generator.cluster.repo import discover
from generator.core import layout
from generator.core.errors import EXIT_OK, InputError
from generator.pipeline.chart_renders import chart_roots, gpu_operator_charts
from generator.pipeline.checking import render_clusters
from generator.pipeline.messages import Messages
from generator.programs import applied, git
from generator.programs.overlays import build_overlays
from generator.report.diff_report import DiffReport, compare, render

FORMATS = ("text", "json", "markdown")
HELP = ("what changes in what Argo CD applies, object by object and field by field, between the working tree and a "
        "git commit")


def add_arguments(p: argparse.ArgumentParser) -> None:
    selection(p, required=True)
    p.add_argument("--against", metavar="REF", default=None,
                   help="the commit to compare with (a branch, tag or commit; default: the merge base of HEAD and "
                        "the default branch, or HEAD on that branch)")
    p.add_argument("--format", choices=FORMATS, default="text",
                   help="text (default), json, or markdown (for a pull-request comment)")
    schema_source(p)


def _selected(names: list[str], all_clusters: bool, now: list[str], then: list[str], where: str) -> list[str]:
    if all_clusters:
        return sorted({*now, *then})
    for name in names:
        if name not in now and name not in then:
            known = ", ".join(sorted({*now, *then})) or "none"
            raise InputError(f"{layout.spec_file(name)}: no such cluster spec, and no {layout.output_dir(name)}/ "
                             f"{where} (known: {known})")
    return list(dict.fromkeys(names))


def _now(repo: Path, names: list[str], mirror: Path | None) -> dict[str, applied.Applied]:
    """What Argo CD would apply once ``gen bundle`` writes the working tree's specs."""
    if not names:
        return {}
    rendered, charts, _ = render_clusters(repo, names, mirror, Messages(), chart_notes=False)
    flux = [cluster.spec_file for cluster, _ in rendered.clusters if cluster.gitops == "flux"]
    if flux:
        raise InputError(f"{flux[0]}: field 'gitops': gen diff compares what Argo CD applies, and this cluster is "
                         "delivered by Flux (gitops: flux), which it does not model yet; compare its output with git "
                         "diff, or name only Argo CD clusters")
    gpu_charts = gpu_operator_charts([cluster for cluster, _ in rendered.clusters], mirror)
    builds = build_overlays(repo, [bundle for _, bundle in rendered.clusters])
    return {cluster.name: applied.from_bundle(cluster, bundle, builds[(cluster.name, cluster.mode)],
                                              charts.get(cluster.name), gpu_charts.get(cluster.name))
            for cluster, bundle in rendered.clusters}


def run(args: argparse.Namespace, repo: Path, mirror: Path | None) -> int:
    return diff(repo, args.cluster, args.all, args.against, args.format, mirror)


def diff(repo: Path, names: list[str], all_clusters: bool, against: str | None, fmt: str, mirror: Path | None) -> int:
    git.checkout(repo)
    revision = git.resolve(repo, against) if against is not None else git.default_revision(repo)
    where = f"at {revision.ref}"
    now = discover(repo)
    with tempfile.TemporaryDirectory(prefix="gen-diff-") as tmp:
        root = Path(tmp)
        git.read_tree(repo, revision.commit, [layout.OUTPUT_DIR, layout.OVERLAYS_DIR], root)
        applied.check_links(root, where)
        then = applied.clusters_in(root)
        wanted = _selected(names, all_clusters, now, then, where)
        after = _now(repo, [name for name in wanted if name in now], mirror)
        before = applied.from_tree(root, [name for name in wanted if name in then], where, chart_roots(mirror))
    report = DiffReport(revision.ref, revision.commit, revision.why,
                        [compare(name, before.get(name), after.get(name)) for name in wanted])
    sys.stdout.write(render(report, fmt))
    return EXIT_OK
