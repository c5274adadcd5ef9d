"""A hostile network-operator chart in the mirror, end to end: what it renders beyond the release's defaults fails
`gen bundle` (exit 1) with the error naming object and field, whichever delivery; an archive that is not the one
chart it claims to be is refused (exit 2); output/ is untouched either way."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import socket
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.conftest import FIXTURE_CHARTS, UPSTREAM, _helm, snapshot, write_spec
from tests.helpers import run_gen
from tests.sources.test_chart_store_hostile import raw_server

EVIL = """apiVersion: v1
kind: Pod
metadata:
  name: node-shell
  namespace: {{ .Release.Namespace }}
spec:
  hostPID: true
  hostNetwork: true
  containers:
    - name: shell
      image: registry.evil.example/tools/shell:1.0
      securityContext:
        privileged: true
      volumeMounts:
        - {name: host, mountPath: /host}
  volumes:
    - name: host
      hostPath:
        path: /
"""


def _mirror(tmp_path: Path, archive: Path) -> Path:
    """A schema mirror (../shared/upstream, linked) whose v25.4.0 chart is ``archive``."""
    root = tmp_path / "mirror"
    (root / "network-operator").mkdir(parents=True)
    (root / "argo-cd").symlink_to(UPSTREAM / "argo-cd")
    (root / "gpu-operator").symlink_to(UPSTREAM / "gpu-operator")
    for release in sorted((UPSTREAM / "network-operator").iterdir()):
        target = root / "network-operator" / release.name
        target.mkdir()
        for item in release.iterdir():
            (target / item.name).symlink_to(item)
    (root / "network-operator" / "v25.4.0" / "chart").mkdir()
    shutil.copy(archive, root / "network-operator" / "v25.4.0" / "chart" / "network-operator-25.4.0.tgz")
    return root


def _packaged(tmp_path: Path, templates: dict[str, str]) -> Path:
    """The fixture chart with ``templates`` added, packaged by the real helm."""
    chart = tmp_path / "src" / "network-operator"
    shutil.copytree(FIXTURE_CHARTS / "network-operator", chart)
    for name, text in templates.items():
        (chart / "templates" / name).write_text(text)
    home = tmp_path / "helm-home"
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "XDG_CACHE_HOME": str(home / "c"),
           "XDG_CONFIG_HOME": str(home / "f"), "XDG_DATA_HOME": str(home / "d")}
    subprocess.run([*_helm(), "package", str(chart), "-d", str(tmp_path / "pkg")], env=env, check=True,
                   capture_output=True)
    return tmp_path / "pkg" / "network-operator-25.4.0.tgz"


def _spec(repo: Path, delivery: str) -> None:
    write_spec(repo, mode="sriov", version="v25.4.0")
    spec = repo / "clusters" / "prod.yaml"
    text = spec.read_text().replace("  targetRevision: main\n", f"  targetRevision: main\n  delivery: {delivery}\n")
    spec.write_text(text)


@pytest.mark.kustomize
@pytest.mark.parametrize("delivery", ["helm", "rendered"])
def test_a_chart_adding_a_privileged_host_pod_fails_gen_bundle(gitops_repo: Path, tmp_path: Path,
                                                                delivery: str) -> None:
    _spec(gitops_repo, delivery)
    clean = _mirror(tmp_path / "clean", _packaged(tmp_path / "a", {}))
    assert run_gen("bundle", "--cluster", "prod", "--from", str(clean), repo=gitops_repo).code == 0
    before = snapshot(gitops_repo / "output")
    hostile = _mirror(tmp_path / "hostile", _packaged(tmp_path / "b", {"node-shell.yaml": EVIL}))
    proc = run_gen("bundle", "--cluster", "prod", "--from", str(hostile), repo=gitops_repo)
    assert proc.code == 1, proc.err
    where = "network-operator chart 25.4.0 (helm template): error "
    for rule, what, path in [
        ("chart-privilege", "joins the node's PID namespace (hostPID)", "spec.hostPID"),
        ("chart-privilege", "uses the node's network (hostNetwork)", "spec.hostNetwork"),
        ("chart-privilege", "runs a privileged container", "spec.containers[0].securityContext.privileged"),
        ("chart-privilege", "mounts the node's / (hostPath)", "spec.volumes[0].hostPath.path"),
        ("chart-image-source", "'registry.evil.example/tools/shell:1.0' is from neither", "spec.containers[0].image"),
    ]:
        line = next((x for x in proc.err.splitlines() if x.startswith(f"{where}{rule}: Pod/node-shell: {what}")), "")
        assert line.endswith(f"({path})"), (rule, what, proc.err)
    assert "Traceback" not in proc.err
    assert snapshot(gitops_repo / "output") == before
    # gen check says the same of the committed output with that chart in the mirror
    assert run_gen("check", "--cluster", "prod", "--from", str(hostile), repo=gitops_repo).code == 1


STAGING_JOB = """apiVersion: batch/v1
kind: Job
metadata:
  name: network-operator-prepare
  namespace: {{ .Release.Namespace }}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: prepare
          image: nvcr.io/nvstaging/mellanox/network-operator:v25.4.0
"""


@pytest.mark.kustomize
def test_a_chart_rendering_a_staging_image_itself_fails_gen_bundle(gitops_repo: Path, tmp_path: Path) -> None:
    """No value sets it (the spec check cannot see it): the real render shows it."""
    _spec(gitops_repo, "helm")
    mirror = _mirror(tmp_path / "m", _packaged(tmp_path / "a", {"prepare.yaml": STAGING_JOB}))
    proc = run_gen("bundle", "--cluster", "prod", "--from", str(mirror), repo=gitops_repo)
    assert proc.code == 1
    assert "network-operator chart 25.4.0 (helm template): error image-published: " \
           "'nvcr.io/nvstaging/mellanox/network-operator:v25.4.0' is in the staging registry" in proc.err
    assert "chart-image-source" not in proc.err  # one finding per image: staging is image-published's
    assert not (gitops_repo / "output").exists()


@pytest.mark.kustomize
def test_a_mirror_archive_with_a_second_chart_is_refused_naming_it(gitops_repo: Path, tmp_path: Path) -> None:
    """helm would render the second chart (it strips each member's first directory): exit 2, nothing written."""
    two = _second_chart(_packaged(tmp_path / "a", {}), tmp_path / "network-operator-25.4.0.tgz")
    mirror = _mirror(tmp_path / "m", two)
    _spec(gitops_repo, "rendered")
    proc = run_gen("bundle", "--cluster", "prod", "--from", str(mirror), repo=gitops_repo)
    assert proc.code == 2, proc.err
    archive_path = mirror / "network-operator" / "v25.4.0" / "chart" / "network-operator-25.4.0.tgz"
    assert f"gen: error: {archive_path}: 'evil/Chart.yaml' is outside the chart's directory network-operator/" \
        in proc.err
    assert [x for x in proc.err.splitlines() if x.startswith("gen: error:")] == \
        [x for x in proc.err.splitlines() if "evil/Chart.yaml" in x]  # one error, on one line
    assert "Traceback" not in proc.err
    assert not (gitops_repo / "output").exists()


def _second_chart(genuine: Path, out_path: Path) -> Path:
    """``genuine`` with a second top-level chart appended (what helm would render instead)."""
    out = io.BytesIO()
    with gzip.open(genuine) as source, tarfile.open(fileobj=source, mode="r|") as original, \
            gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w") as archive:
        for member in original:
            archive.addfile(member, original.extractfile(member) if member.isreg() else None)
        for name, text in (("evil/Chart.yaml", "apiVersion: v2\nname: network-operator\nversion: 25.4.0\n"),
                           ("evil/templates/pod.yaml", EVIL)):
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            archive.addfile(info, io.BytesIO(text.encode()))
    out_path.write_bytes(out.getvalue())
    return out_path


@pytest.mark.kustomize
@pytest.mark.parametrize("first", ["genuine", "none"])
def test_a_warm_cache_and_an_empty_one_agree_on_a_hostile_chart(gitops_repo: Path, tmp_path: Path,
                                                                 first: str) -> None:
    """gen check with the records of a clean run (with the genuine chart, or with none at hand), and with no cache
    at all, after a hostile chart is put in the mirror: the same exit code (the records are keyed on the chart, a
    refused one included: it never looks like no chart)."""
    _spec(gitops_repo, "helm")
    genuine = _packaged(tmp_path / "a", {})
    mirror = _mirror(tmp_path / "m", genuine)
    chart = mirror / "network-operator" / "v25.4.0" / "chart" / "network-operator-25.4.0.tgz"
    if first == "none":
        chart.unlink()
    assert run_gen("bundle", "--cluster", "prod", "--from", str(mirror), repo=gitops_repo).code == 0
    assert run_gen("check", "--from", str(mirror), repo=gitops_repo).code == 0  # records written: the cache is warm
    for hostile, code in ((_second_chart(genuine, tmp_path / "two.tgz"), 2),
                          (_packaged(tmp_path / "b", {"node-shell.yaml": EVIL}), 1)):
        shutil.copy(hostile, chart)
        warm = run_gen("check", "--from", str(mirror), repo=gitops_repo)
        empty = run_gen("check", "--from", str(mirror), repo=gitops_repo,
                        env={"GEN_CACHE_DIR": str(tmp_path / f"empty-{code}")})
        assert (warm.code, empty.code) == (code, code), (warm.err, empty.err)


def test_schemas_pull_prints_a_hostile_servers_words_escaped(tmp_path: Path) -> None:
    """The reason phrase of every release's failed download reaches stderr escaped, one line per release."""
    def hostile(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.0 500 \x1b]0;owned\x07\x1b[2J\r\nContent-Length: 0\r\n\r\n")

    cache = tmp_path / "cache"
    assert run_gen("schemas", "pull", env={"GEN_SCHEMA_CACHE": str(cache)}).code == 0  # CRDs, from the mirror
    with raw_server(hostile) as url:
        proc = run_gen("schemas", "pull", env={"GEN_CHART_REPOSITORY": url, "GEN_SCHEMA_CACHE": str(cache),
                                               "GEN_SCHEMA_MIRROR": ""})
    assert proc.code == 0  # charts are optional
    assert "\x1b" not in proc.err and "\x07" not in proc.err
    failed = [line for line in proc.err.splitlines() if "HTTP 500" in line]
    assert len(failed) == 6 and all("HTTP 500 \\x1b]0;owned\\x07\\x1b[2J" in line for line in failed)
