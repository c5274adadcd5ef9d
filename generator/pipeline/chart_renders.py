"""The charts a run renders: each cluster's network-operator chart where it is at hand (the mirror or the cache) and
helm runs, and the rdma-infiniband chart (``gen chart``) with each cluster's values."""

from __future__ import annotations

import os
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from generator.cluster.model import Cluster
from generator.core import layout
from generator.core.errors import InputError
from generator.pipeline.charts_at_hand import chart_roots, charts_at_hand
from generator.pipeline.clusters import checked_cluster
from generator.pipeline.messages import Messages
from generator.programs.helm import (
    ChartRender,
    FilesRender,
    HelmMissing,
    helm_command,
    render_chart,
    render_chart_files,
)
from generator.render import rdma_chart
from generator.render.gpu import gpu_values, operator_of
from generator.render.operator_values import helm_values
from generator.render.rdma_values import chart_values
from generator.sources.chart_store import GPU_OPERATOR, Chart, find_chart
from generator.write import MANIFEST_NAME


def operator_charts(clusters: list[Cluster], mirror: Path | None, messages: Messages | None = None,
                    ) -> dict[str, ChartRender]:
    """Each cluster's network-operator chart, rendered with its values, where the chart is at hand and helm runs.
    Says through ``messages`` (when given) which releases' charts are not, and that the chart facts stand in; a
    cluster whose delivery is ``rendered`` needs its chart (InputError)."""
    command = helm_command()
    found: dict[str, Chart | None] = {}
    renders: dict[str, ChartRender] = {}
    for cluster in clusters:
        tag = cluster.release.tag
        if tag not in found:
            found[tag] = find_chart(tag, chart_roots(mirror))
        chart = found[tag]
        if chart is not None and command is not None:
            renders[cluster.name] = render_chart(chart, helm_values(cluster), cluster.namespace,
                                                 cluster.kubernetes.version, command)
        elif cluster.argocd.delivery == "rendered":
            why = "helm is not installed (run scripts/setup.sh)" if chart is not None else \
                f"the network-operator chart {cluster.release.chart_version} is not at hand"
            raise InputError(f"{cluster.spec_file}: argocd.delivery is 'rendered', but {why}; run gen schemas pull, "
                             f"or pass --from DIR holding network-operator/{tag}/chart/*.tgz, or use delivery helm")
    if messages is not None:
        messages.charts_missing({c.release.tag for c in clusters if c.name not in renders}, command is None)
    return renders


def gpu_operator_charts(clusters: list[Cluster], mirror: Path | None, messages: Messages | None = None,
                        ) -> dict[str, ChartRender]:
    """Each GPU Operator cluster's gpu-operator chart, rendered with its values, where the chart is at hand and helm
    runs; says through ``messages`` which releases' charts are not (their chart facts stand in)."""
    command = helm_command()
    found: dict[str, Chart | None] = {}
    renders: dict[str, ChartRender] = {}
    wanted = [(c, op) for c in clusters for op in [operator_of(c)] if op is not None]
    for cluster, operator in wanted:
        tag = operator.release.tag
        if tag not in found:
            found[tag] = find_chart(tag, chart_roots(mirror), GPU_OPERATOR)
        chart = found[tag]
        if chart is not None and command is not None:
            renders[cluster.name] = render_chart(chart, gpu_values(cluster), operator.namespace,
                                                 cluster.kubernetes.version, command)
    if messages is not None:
        messages.gpu_charts_missing({op.release.tag for c, op in wanted if c.name not in renders}, command is None)
    return renders


def note_missing_charts(tags: set[str], mirror: Path | None, messages: Messages, gpu_tags: Collection[str] = (),
                        ) -> None:
    """The notes ``operator_charts`` and ``gpu_operator_charts`` say, for these releases, without rendering
    anything (a recorded cluster says them as a rendered one does)."""
    command = helm_command()
    shas = dict(charts_at_hand(mirror))
    messages.charts_missing({tag for tag in tags if command is None or not shas.get(tag)}, command is None)
    roots = chart_roots(mirror)
    messages.gpu_charts_missing({tag for tag in sorted(gpu_tags)
                                 if command is None or find_chart(tag, roots, GPU_OPERATOR) is None}, command is None)


def chart_defaults() -> Cluster:
    """The cluster whose values are the rdma-infiniband chart's defaults."""
    return checked_cluster(rdma_chart.defaults_spec(), "rdma-infiniband chart defaults")


def chart_written(repo: Path) -> bool:
    """Whether ``gen chart`` wrote output/charts/ (gen keeps it current from then on; delete it to stop)."""
    return (repo / layout.output_dir(layout.CHARTS) / MANIFEST_NAME).is_file()


def wants_chart(repo: Path, clusters: list[Cluster]) -> bool:
    """Whether output/charts/ is part of the output: a cluster's Application applies the chart, or gen chart wrote
    it."""
    return any(c.argocd.source == "chart" for c in clusters) or chart_written(repo)


def rdma_chart_renders(clusters: list[Cluster]) -> dict[str, FilesRender]:
    """The rdma-infiniband chart rendered with each cluster's values (real helm, in parallel, cached); not for a
    cluster whose pools have NicNodePolicies (the chart does not carry them, nor does such a cluster get its values)."""
    clusters = [c for c in clusters if not c.node_policies]
    if not clusters:
        return {}
    command = helm_command()
    if command is None:
        raise HelmMissing(f"helm is not installed, and output/{layout.CHARTS}/ (the rdma-infiniband chart) is part of "
                          "the output: gen checks it with helm; run scripts/setup.sh (it installs a pinned helm) or "
                          "set GEN_HELM")
    files = rdma_chart.chart_files(chart_defaults())

    def one(cluster: Cluster) -> FilesRender:
        return render_chart_files(rdma_chart.CHART_NAME, files, chart_values(cluster), cluster.namespace, command,
                                  cluster.kubernetes.version)

    with ThreadPoolExecutor(max_workers=min(len(clusters), (os.cpu_count() or 2) * 2) or 1) as pool:
        return dict(zip([c.name for c in clusters], pool.map(one, clusters), strict=True))
