"""Render a packaged chart with the real helm (``helm template``), as Argo CD's repo-server does.

helm runs with an empty HOME and XDG directories (no repositories, no plugins, no network needed), the release
name and namespace Argo CD uses, the cluster's Kubernetes version (``--kube-version``), and ``--include-crds``. When a
(sub)chart's ``values.schema.json`` ``$ref``s a web URL, helm would need the network to validate values, so that
chart is rendered with ``--skip-schema-validation`` (and its Application says ``skipSchemaValidation``). Renders are
cached by the chart's digest, the values and the helm binary.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.core.cache import DiskCache, cache_root, digest, tool_key
from generator.core.errors import ToolMissing
from generator.core.kube import Obj
from generator.programs.run import MAX_MEMORY_MIB, Program, Stopped, run, text
from generator.sources.chart_store import Chart, read_chart_file
from generator.yamlio.dump import dump_document
from generator.yamlio.load import YamlInputError, load_documents

RELEASE_NAME = "network-operator"
TIMEOUT_SECONDS = 120
CACHE_VERSION = 1


class HelmMissing(ToolMissing):
    """helm cannot be run."""


@dataclass(frozen=True)
class ChartRender:
    chart: Chart
    objects: list[Obj]  # in helm's order, CRDs first
    skipped_schema: bool  # rendered with --skip-schema-validation (a schema $refs the web)
    error: str = ""


HELM = Program("helm", "GEN_HELM", ("helm",), (("helm",),), "run scripts/setup.sh or set GEN_HELM", HelmMissing)


def helm_command() -> list[str] | None:
    """``$GEN_HELM``, else the venv's pinned helm, else ``helm`` on PATH; None when there is none."""
    return HELM.command()


def schema_needs_network(chart: Chart) -> bool:
    """Whether a values.schema.json in the chart (or a subchart) ``$ref``s a web URL: what the chart store found
    when it checked the archive (within its bounds; the archive is not read again here)."""
    return chart.schema_needs_network


def render_chart(chart: Chart, values: dict[str, Any], namespace: str, kube_version: str,
                 command: list[str] | None = None) -> ChartRender:
    """``helm template`` of the chart with these values; cached."""
    command = command or helm_command()
    if command is None:
        raise HelmMissing("helm is not installed; run scripts/setup.sh (it installs a pinned helm) or set GEN_HELM")
    skip = schema_needs_network(chart)
    values_text = json.dumps(values, sort_keys=True)
    key = digest(chart.sha256, chart.product, values_text, namespace, kube_version, str(skip), tool_key(command))
    cache = DiskCache(cache_root(), "helm-renders", CACHE_VERSION)
    hit = cache.get_json(key)
    if isinstance(hit, list):
        return ChartRender(chart, hit, skip)
    with tempfile.TemporaryDirectory(prefix="gen-helm-") as tmp:
        # helm renders the bytes the chart store checked (one chart, the one named), not whatever the file holds now
        data = read_chart_file(chart.path)
        if hashlib.sha256(data).hexdigest() != chart.sha256:
            return ChartRender(chart, [], skip, f"{chart.path} changed after gen checked it; run the command again")
        archive = Path(tmp) / chart.path.name
        archive.write_bytes(data)
        values_file = Path(tmp) / "values.yaml"
        values_file.write_bytes(dump_document(values))
        release = RELEASE_NAME if chart.product == RELEASE_NAME else chart.product  # Argo CD's releaseName
        args = ["template", release, str(archive), "--namespace", namespace, "--kube-version", kube_version,
                "--include-crds", "--values", str(values_file)]
        if skip:
            args.append("--skip-schema-validation")
        objects, error = _template(command, args, Path(tmp), chart.path.name)
    if error:
        return ChartRender(chart, [], skip, error)
    cache.put_json(key, objects)
    return ChartRender(chart, objects, skip)


def _template(command: list[str], args: list[str], tmp: Path, shown: str) -> tuple[list[Obj], str]:
    """``helm <args>`` with an empty HOME under ``tmp``: the objects it prints, or why it failed."""
    home = tmp / "home"
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "XDG_CACHE_HOME": str(home / "cache"),
           "XDG_CONFIG_HOME": str(home / "config"), "XDG_DATA_HOME": str(home / "data")}
    proc = run(HELM, [*command, *args], timeout=TIMEOUT_SECONDS, env=env, max_memory_mib=MAX_MEMORY_MIB)
    if isinstance(proc, Stopped):
        return [], f"helm template {proc.why}"
    if proc.returncode != 0:
        return [], text(proc.stderr).strip() or f"helm exited {proc.returncode}"
    try:
        docs = load_documents(proc.stdout, f"helm template {shown}", max_bytes=64 * 1024 * 1024)
    except YamlInputError as exc:
        return [], f"helm output does not parse: {exc}"
    return [doc.value for doc in docs if isinstance(doc.value, dict)], ""


@dataclass(frozen=True)
class FilesRender:
    """``helm template`` of a chart given as files (the rdma-infiniband chart gen writes): its objects, or why not."""

    objects: list[Obj]
    error: str = ""


def render_chart_files(release: str, files: dict[str, bytes], values: dict[str, Any], namespace: str,
                       command: list[str] | None = None, kube_version: str = "") -> FilesRender:
    """``helm template <release>`` of the chart whose files (relative to its directory) are ``files``, with these
    values (for ``kube_version``, where given, as Argo CD renders it for the cluster); cached by every byte of the
    chart, the values, the version and the helm binary."""
    command = command or helm_command()
    if command is None:
        raise HelmMissing("helm is not installed; run scripts/setup.sh (it installs a pinned helm) or set GEN_HELM")
    values_text = json.dumps(values, sort_keys=True)
    parts: list[bytes | str] = [release, namespace, values_text, tool_key(command), kube_version]
    for rel, data in sorted(files.items()):
        parts += [rel, data]
    key = digest(*parts)
    cache = DiskCache(cache_root(), "helm-renders", CACHE_VERSION)
    hit = cache.get_json(key)
    if isinstance(hit, list):
        return FilesRender(hit)
    with tempfile.TemporaryDirectory(prefix="gen-helm-") as tmp:
        chart = Path(tmp) / "chart"
        for rel, data in files.items():
            (chart / rel).parent.mkdir(parents=True, exist_ok=True)
            (chart / rel).write_bytes(data)
        values_file = Path(tmp) / "values.yaml"
        values_file.write_bytes(dump_document(values))
        version = ["--kube-version", kube_version] if kube_version else []
        objects, error = _template(command, ["template", release, str(chart), "--namespace", namespace, *version,
                                             "--values", str(values_file)], Path(tmp), release)
    if error:
        return FilesRender([], error.replace(f"{chart}/", "").replace(str(values_file), "values.yaml"))
    cache.put_json(key, objects)
    return FilesRender(objects)
