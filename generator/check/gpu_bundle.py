"""What ``gen bundle`` checks of a cluster's GPU half (spec ``gpu``), beyond the overlays (where the nvidia-peermem
reloader is checked with everything else):

- the GPUDirect rules (``generator.check.gpu``) on the generated Applications, NicClusterPolicy and reloader, with the
  cluster's Network Operator release and the spec's pool taints;
- the GPU Operator's chart values key by key against its release's chart (rule ``chart-values``);
- the ClusterPolicy the chart renders with those values, strictly against the release's CRD: from the chart itself
  when it is at hand (every object it renders, and the AppProject admitting each, and the pool taints on every
  DaemonSet), else from the chart facts (findings in the values file, at the value that set the field);
- the GPU Operator's Namespace and its Argo CD objects against the schemas.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from generator.catalog.charts import lookup
from generator.check.chart_objects import CHART_RENDER, CHART_VALUES, check_taints
from generator.check.engine import Item, locate
from generator.check.gpu import check_gpu
from generator.check.project import check_project
from generator.check.schema import check_object
from generator.check.validators.kinds import schemas_for
from generator.check.values_keys import values_problems
from generator.cluster.model import Cluster
from generator.core import layout
from generator.core.finding import Finding, JsonPath
from generator.programs.helm import ChartRender
from generator.render.argocd import APPLICATION_FILE
from generator.render.flux import FLUX_GPU_RELEASE_FILE, FLUX_RELEASE_FILE
from generator.render.gpu import GPU_SOURCE_DIR, GPU_VALUES_FILE, RELOADER_FILE, facts_of, operator_of
from generator.render.gpu_argocd import GPU_APPLICATION_FILE, GPU_PROJECT_FILE
from generator.render.output import Bundle
from generator.sources.schema_store import SchemaStore
from generator.yamlio.load import YamlInputError, load_documents

POLICY_FILE = "base/nicclusterpolicy.yaml"


def _items(bundle: Bundle, rels: list[str]) -> list[Item]:
    """The objects of generated files, with their positions."""
    out: list[Item] = []
    for rel in rels:
        data = bundle.files.get(rel)
        if data is None:
            continue
        display = f"{layout.output_dir(bundle.cluster)}/{rel}"
        try:
            docs = load_documents(data, display)
        except YamlInputError:  # gen's own output: its checks report what does not parse
            continue
        out += [Item(doc.value, display, _locator(display, doc)) for doc in docs]
    return out


def _locator(display: str, doc: Any) -> Any:
    def locate_in(path: JsonPath) -> tuple[str, int, int, frozenset[str]]:
        line, column = doc.position(path)
        return display, line, column, frozenset()

    return locate_in


def check_gpu_bundle(cluster: Cluster, bundle: Bundle, store: SchemaStore | None,
                     chart: ChartRender | None = None) -> list[Finding]:
    """Every finding about the cluster's GPU half; [] without a ``gpu`` section."""
    if cluster.gpu is None:
        return []
    items = _items(bundle, [APPLICATION_FILE, GPU_APPLICATION_FILE, POLICY_FILE, RELOADER_FILE, FLUX_RELEASE_FILE,
                            FLUX_GPU_RELEASE_FILE])
    members = [(i, item.obj) for i, item in enumerate(items)]
    found = locate(items, check_gpu(members, members, cluster.release.tag, cluster.taints, cluster.spec_file))
    if operator_of(cluster) is not None:
        found += _operator_findings(cluster, bundle, store, chart)
    return found


def _operator_findings(cluster: Cluster, bundle: Bundle, store: SchemaStore | None,
                       chart: ChartRender | None) -> list[Finding]:
    operator = operator_of(cluster)
    assert operator is not None
    facts = facts_of(operator)
    schemas = schemas_for(cluster.release.tag, None, store, cluster.kubernetes.version, operator.release.tag)
    values_file = f"{layout.output_dir(cluster.name)}/{GPU_VALUES_FILE}"
    values = bundle.objects[GPU_VALUES_FILE][0]
    in_values = _items(bundle, [GPU_VALUES_FILE])  # one document: findings about values point into it
    found = locate(in_values, [CHART_VALUES.at(path, message, 0) for path, message in
                               values_problems(values, facts.chart, cluster.kubernetes.version)])
    own = _items(bundle, [f"{GPU_SOURCE_DIR}/namespace.yaml", GPU_PROJECT_FILE])
    found += locate(own, [f for i, item in enumerate(own) for f in check_object(item.obj, schemas, i).findings])
    label = f"gpu-operator chart {operator.release.chart_version} (helm template)"
    if chart is not None and chart.error:
        return [*found, CHART_RENDER.in_file(values_file, f"helm template of gpu-operator "
                                                          f"{operator.release.chart_version} failed: {chart.error}")]
    if chart is not None:  # the chart itself: every object, as Argo CD will apply it
        rendered = [Item(obj, label) for obj in chart.objects]
        members = list(enumerate(chart.objects))
        namespace = bundle.objects[f"{GPU_SOURCE_DIR}/namespace.yaml"][0]
        problems = [f for i, obj in members for f in check_object(obj, schemas, i).findings]
        if GPU_PROJECT_FILE in bundle.objects:  # Argo CD's (Flux has no AppProject)
            project = bundle.objects[GPU_PROJECT_FILE][0]
            problems += check_project(project, [*members, (len(members), namespace)], operator.namespace, schemas)
        problems += check_taints(members, cluster.taints, cluster.spec_file)
        problems += check_gpu(members, members, cluster.release.tag, cluster.taints, cluster.spec_file)
        rendered.append(Item(namespace, f"{layout.output_dir(cluster.name)}/{GPU_SOURCE_DIR}/namespace.yaml"))
        return found + locate(rendered, problems)
    policy = facts.cluster_policy(values)
    where = {v.path: k for k, v in facts.policy_values.items()}
    moved = []
    for finding in check_object(policy, schemas, 0).findings:
        key = _values_key(finding.path, where, values)
        moved.append(replace(finding, path=tuple(key.split(".")) if key else (), index=0,
                             message=f"the ClusterPolicy the chart renders with these values: {finding.message} "
                                     f"(ClusterPolicy {'.'.join(map(str, finding.path))})"))
    return found + locate(in_values, moved)


def _values_key(path: JsonPath, where: dict[str, str], values: dict[str, Any]) -> str:
    """The values key that wrote the ClusterPolicy field at ``path`` (spec.<...>), where the values set it."""
    parts = [str(p) for p in path[1:]] if path[:1] == ("spec",) else []
    for n in range(len(parts), 0, -1):
        key = where.get(".".join(parts[:n]))
        if key and lookup(values, key) is not None:
            return key
    return ""
