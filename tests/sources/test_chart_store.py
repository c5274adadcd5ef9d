"""The chart store: fetched through a Helm repository's index (on loopback here), digest-verified, cached; a
mirror's or cache's chart must be the release's; real helm renders it offline."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import yaml

from generator.programs.helm import render_chart, schema_needs_network
from generator.sources.chart_store import ChartSourceError, chart_dir, copy_chart, fetch_chart, find_chart
from tests.conftest import serve

KUBE = "1.33"


def test_fetch_verifies_the_index_digest_and_caches(chart_repo: Path, tmp_path: Path) -> None:
    with serve(chart_repo) as url:
        chart = fetch_chart("v25.4.0", tmp_path, url)
    assert chart.path == chart_dir(tmp_path, "v25.4.0") / "network-operator-25.4.0.tgz"
    assert chart.sha256 == hashlib.sha256(chart.path.read_bytes()).hexdigest()
    assert find_chart("v25.4.0", [tmp_path]) == chart
    assert find_chart("v26.4.1", [tmp_path]) is None  # not fetched: the facts stand in


def test_a_tampered_download_is_refused_and_nothing_written(chart_repo: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(chart_repo, repo)
    tgz = repo / "network-operator-25.4.0.tgz"
    tgz.write_bytes(tgz.read_bytes() + b"\0")
    with serve(repo) as url, pytest.raises(ChartSourceError, match="does not match the index's digest"):
        fetch_chart("v25.4.0", tmp_path / "cache", url)
    assert not (tmp_path / "cache").exists()


def test_missing_version_and_unreachable_repository(chart_repo: Path, tmp_path: Path) -> None:
    with serve(chart_repo) as url, pytest.raises(ChartSourceError, match=r"has no network-operator 26\.4\.1"):
        fetch_chart("v26.4.1", tmp_path, url)
    with serve(tmp_path) as url:
        dead = url
    with pytest.raises(ChartSourceError, match="cannot download"):
        fetch_chart("v25.4.0", tmp_path, dead, timeout=2)
    with pytest.raises(ChartSourceError, match="must be http"):
        fetch_chart("v25.4.0", tmp_path, "file:///etc/")


def test_an_index_entry_without_digest_is_refused(chart_repo: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(chart_repo, repo)
    index = yaml.safe_load((repo / "index.yaml").read_text())
    for entry in index["entries"]["network-operator"]:
        entry.pop("digest")
    (repo / "index.yaml").write_text(yaml.safe_dump(index))
    with serve(repo) as url, pytest.raises(ChartSourceError, match="no urls or sha256 digest"):
        fetch_chart("v25.4.0", tmp_path / "cache", url)


def test_a_mirror_chart_must_be_the_releases(chart_repo: Path, tmp_path: Path) -> None:
    folder = chart_dir(tmp_path, "v25.4.0")
    folder.mkdir(parents=True)
    shutil.copy(chart_repo / "network-operator-25.10.0.tgz", folder)
    with pytest.raises(ChartSourceError, match=r"is chart network-operator 25\.10\.0, not network-operator 25\.4\.0"):
        find_chart("v25.4.0", [tmp_path])
    (folder / "network-operator-25.10.0.tgz").write_bytes(b"not a chart")
    with pytest.raises(ChartSourceError, match="not a packaged Helm chart"):
        find_chart("v25.4.0", [tmp_path])


def test_mirror_first_then_cache_and_copy(chart_mirror: Path, tmp_path: Path) -> None:
    chart = find_chart("v25.4.0", [chart_mirror, tmp_path])
    assert chart is not None and chart.path.is_relative_to(chart_mirror)
    copied = copy_chart(chart, tmp_path)
    assert copied.sha256 == chart.sha256 and find_chart("v25.4.0", [tmp_path]) == copied


def test_render_offline_with_the_values(chart_mirror: Path) -> None:
    chart = find_chart("v25.4.0", [chart_mirror])
    assert chart is not None and not schema_needs_network(chart)
    values = {"upgradeCRDs": False, "operator": {"repository": "nvcr.io/nvidia/cloud-native"},
              "node-feature-discovery": {"worker": {"tolerations": [
                  {"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]}}}
    render = render_chart(chart, values, "network-operator", KUBE)
    assert not render.error, render.error
    kinds = [o["kind"] for o in render.objects]
    assert kinds.count("CustomResourceDefinition") == 3  # --include-crds: the chart's and the subchart's
    worker = next(o for o in render.objects if o["kind"] == "DaemonSet")
    assert {"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"} in \
        worker["spec"]["template"]["spec"]["tolerations"]
    [operator] = [o for o in render.objects if (o["kind"], o["metadata"]["name"]) == ("Deployment", "network-operator")]
    assert operator["spec"]["template"]["spec"]["containers"][0]["image"].startswith("nvcr.io/nvidia/cloud-native/")
    hooks = [o for o in render.objects if "helm.sh/hook" in (o["metadata"].get("annotations") or {})]
    assert {o["metadata"]["name"] for o in hooks} == {  # the keep-ncp hook's only: upgradeCRDs off
        "network-operator-hooks-keep-ncp-sa", "network-operator-hooks-keep-ncp-role",
        "network-operator-hooks-scale-binding", "network-operator-keep-ncp"}
    assert render_chart(chart, values, "network-operator", KUBE).objects == render.objects  # cached, same


def test_a_web_schema_ref_renders_with_schema_validation_skipped(chart_mirror: Path) -> None:
    chart = find_chart("v25.10.0", [chart_mirror])
    assert chart is not None and schema_needs_network(chart)
    render = render_chart(chart, {}, "network-operator", KUBE)
    assert not render.error and render.skipped_schema


def test_a_chart_in_gens_cache_counts_only_when_gen_put_it_there(chart_mirror: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache inside a checkout (GEN_CACHE_DIR=$PWD/.gen-cache) cannot be handed a chart by a commit: a chart gen did
    not fetch or copy there is not at hand, whatever it is; one gen copied is, until its bytes change."""
    monkeypatch.setenv("GEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("GEN_SCHEMA_CACHE", raising=False)
    from generator.sources.schema_store import default_cache_dir

    cache = default_cache_dir()
    mirrored = find_chart("v25.4.0", [chart_mirror])
    assert mirrored is not None
    planted = chart_dir(cache, "v25.4.0") / mirrored.path.name
    planted.parent.mkdir(parents=True)
    shutil.copy(mirrored.path, planted)  # the genuine bytes even: still not gen's doing
    assert find_chart("v25.4.0", [cache]) is None
    copied = copy_chart(mirrored, cache)
    assert find_chart("v25.4.0", [cache]) == copied
    planted.write_bytes(planted.read_bytes() + b"\0")  # altered since
    assert find_chart("v25.4.0", [cache]) is None
    assert find_chart("v25.4.0", [tmp_path / "elsewhere", chart_mirror]) == mirrored  # a mirror: as the user named it
