"""The Kubernetes version a cluster runs reaches ``helm template --kube-version`` (real helm, a fixture chart that
prints the version it was rendered for and requires 1.35), and the core-kind schemas its objects are checked against."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from generator.check.spec import check_spec
from generator.check.validators import kube_core
from generator.cluster.parse import parse_cluster
from generator.pipeline.chart_renders import operator_charts
from generator.pipeline.messages import Messages
from generator.programs.helm import ChartRender
from tests.conftest import FIXTURE_CHARTS, UPSTREAM, _helm, spec_text
from tests.helpers import make_cluster

PRINTS_VERSION = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: kube-version
  namespace: {{ .Release.Namespace }}
data:
  version: {{ .Capabilities.KubeVersion.Version | quote }}
"""


@pytest.fixture(scope="module")
def mirror_26_4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A mirror holding the fixture chart packaged as network-operator 26.4.1, requiring Kubernetes 1.35 and printing
    the version helm renders it for."""
    work, root = tmp_path_factory.mktemp("chart-26-4"), tmp_path_factory.mktemp("mirror-26-4")
    chart = work / "network-operator"
    shutil.copytree(FIXTURE_CHARTS / "network-operator", chart)
    meta = (chart / "Chart.yaml").read_text().replace("version: 25.4.0", "version: 26.4.1")
    (chart / "Chart.yaml").write_text(meta.replace('kubeVersion: ">= 1.21.0-0"', 'kubeVersion: ">= 1.35.0-0"'))
    (chart / "templates" / "kube-version.yaml").write_text(PRINTS_VERSION)
    target = root / "network-operator" / "v26.4.1" / "chart"
    target.mkdir(parents=True)
    home = work / "home"
    env = {"HOME": str(home), "XDG_CACHE_HOME": str(home / "c"), "XDG_CONFIG_HOME": str(home / "f"),
           "XDG_DATA_HOME": str(home / "d"), "PATH": "/usr/bin:/bin"}
    subprocess.run([*_helm(), "package", str(chart), "-d", str(target)], env=env, check=True, capture_output=True)
    for item in (UPSTREAM / "network-operator" / "v26.4.1").iterdir():
        (root / "network-operator" / "v26.4.1" / item.name).symlink_to(item)
    return root


def _printed(render: ChartRender) -> str:
    return next(o["data"]["version"] for o in render.objects if o.get("kind") == "ConfigMap" and
                o["metadata"]["name"] == "kube-version")


def test_the_chart_is_rendered_for_the_clusters_kubernetes_version(mirror_26_4: Path) -> None:
    at_135 = make_cluster(version="v26.4.1", extra='kubernetes:\n  version: "1.35"\n')
    renders = operator_charts([at_135], mirror_26_4, Messages(write=lambda _: None))
    assert not renders["prod"].error and _printed(renders["prod"]) == "v1.35"  # helm keeps the form given
    at_133 = make_cluster(version="v26.4.1", extra='kubernetes:\n  version: "1.33"\n')
    refused = operator_charts([at_133], mirror_26_4, Messages(write=lambda _: None))["prod"]
    assert "incompatible with Kubernetes v1.33" in refused.error  # the chart's kubeVersion: >= 1.35.0-0
    assumed = make_cluster(version="v26.4.1")  # no kubernetes.version: the newest v26.4.1 supports
    assert _printed(operator_charts([assumed], mirror_26_4, Messages(write=lambda _: None))["prod"]) == "v1.35"


def test_core_kinds_are_checked_against_the_clusters_version() -> None:
    cluster = make_cluster(version="v25.10.0", extra='kubernetes:\n  version: "1.31"\n')
    from generator.check.engine import checker_for

    schemas = checker_for(cluster.release.tag, kube_version=cluster.kubernetes.version).schemas
    assert schemas.kube_version == "1.31" and schemas._core.folder.name == "v1.31.0-local-strict"
    # resource.k8s.io/v1 (DRA, GA in Kubernetes 1.34) is no kind at 1.31, and one at 1.34
    claim = ("resource.k8s.io/v1", "ResourceClaim")
    assert schemas.validator(*claim) is None
    assert checker_for("v25.10.0", kube_version="1.34").schemas.validator(*claim) is not None


def test_the_nearest_schemas_stand_in_for_a_version_the_package_lacks(monkeypatch: pytest.MonkeyPatch) -> None:
    assert kube_core.schema_version("1.35", ("1.33", "1.34", "1.36")) == "1.36"  # as near: the newer
    assert kube_core.schema_version("1.38", ("1.36", "1.37")) == "1.37"
    assert kube_core.schema_version("1.24", ("1.25", "1.26")) == "1.25"
    assert kube_core.schema_version("1.35", kube_core.shipped_versions()) == "1.35"
    # a kubernetes-validate that ships no 1.35: the spec's warnings say which schemas stand in
    monkeypatch.setattr(kube_core, "shipped_versions", lambda: ("1.32", "1.33", "1.34"))
    data = spec_text(version="v26.4.1", extra='kubernetes:\n  version: "1.35"\n').encode()
    cluster = check_spec(parse_cluster(data, "clusters/prod.yaml", "prod"))
    assert cluster.notes[-1] == ("clusters/prod.yaml:10:12: field 'kubernetes.version': kubernetes-validate ships no "
                                 "schemas of Kubernetes 1.35; gen checks the core kinds against 1.34's, the nearest "
                                 "it has")
