"""Hostile repositories and files, through the real CLI: every case ends in one message and the documented exit
code, never a traceback, a signal or a hang, and leaves output/ byte-equal (so `gen check` still passes).

Hostile files (a FIFO, /dev/zero, /proc/self/mem, a link loop, deep nesting) and the run lock are given to a real gen
process (tests.conftest.run_gen_process): a hang, a crash in C or lock contention must end that process, not the test
run, and /proc/self must be gen's own. Overlays that break the bundle's promises only need the exit code and the
message: gen runs in-process (tests.helpers.run_gen)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Result, git, run_gen_process, snapshot, write_spec
from tests.helpers import run_gen

pytestmark = pytest.mark.slow  # whole-tool runs: not in make test-fast

DEEP = "name: " + "[" * 60_000 + "\n"  # libyaml's composer used to recurse in C on this and crash the process


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GitOps repo (a git checkout) with prod's output generated and committed."""
    repo = tmp_path_factory.mktemp("hostile") / "repo"
    (repo / "clusters").mkdir(parents=True)
    write_spec(repo)
    run_gen("bundle", "--cluster", "prod", repo=repo, check=True)
    git(repo, "init", "-q")
    return repo


@pytest.fixture
def repo(generated: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    shutil.copytree(generated, copy, symlinks=True)
    return copy


def _output(repo: Path) -> dict[str, bytes]:
    """output/ as git sees it (the run lock is gitignored: it holds the last holder's pid)."""
    return {k: v for k, v in snapshot(repo / "output").items() if k != ".gen.lock"}


def _one_message(proc: Result, code: int, *words: str) -> None:
    assert proc.code == code, f"exit {proc.code}\n{proc.out}\n{proc.err}"
    assert "Traceback" not in proc.err and "Traceback" not in proc.out
    for word in words:
        assert word in proc.err + proc.out, proc.err


def _replace(path: Path, make: Callable[[Path], None]) -> None:
    if os.path.lexists(path):
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    make(path)


SPECIAL_FILES: dict[str, tuple[Callable[[Path], None], str]] = {
    "deep-nesting": (lambda p: p.write_text(DEEP), "nesting deeper than 200 levels"),
    "fifo": (lambda p: os.mkfifo(p), "FIFO"),
    "dev-zero": (lambda p: p.symlink_to("/dev/zero"), "is a device"),
    "proc-self-mem": (lambda p: p.symlink_to("/proc/self/mem"), "cannot read it"),
    "link-loop": (lambda p: p.symlink_to(p.name), "symbolic link loop"),
    "dangling-link": (lambda p: p.symlink_to("gone.yaml"), "no such file"),
    "directory": (lambda p: p.mkdir(), "no such cluster spec"),
}


@pytest.mark.parametrize("case", sorted(SPECIAL_FILES))
def test_hostile_spec_file(repo: Path, case: str) -> None:
    make, words = SPECIAL_FILES[case]
    before = _output(repo)
    _replace(repo / "clusters/prod.yaml", make)
    proc = run_gen_process("bundle", "--cluster", "prod", cwd=repo)
    _one_message(proc, 2, "clusters/prod.yaml", words)
    assert _output(repo) == before


@pytest.mark.parametrize("case", ["fifo", "dev-zero", "link-loop"])
def test_a_hostile_neighbour_spec_does_not_block_another_cluster(repo: Path, case: str) -> None:
    """Another spec that cannot be read is named, the fleet file is left as it was, and prod is still bundled."""
    before = _output(repo)
    _replace(repo / "clusters/other.yaml", SPECIAL_FILES[case][0])
    proc = run_gen_process("bundle", "--cluster", "prod", cwd=repo)
    _one_message(proc, 0, "output/fleet/ not updated", "clusters/other.yaml")
    assert _output(repo) == before
    _one_message(run_gen_process("bundle", "--all", cwd=repo), 2, "clusters/other.yaml")


COMPONENT = "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"


def _overlay(repo: Path, kustomization: str, files: dict[str, str] | None = None, where: str = "prod") -> Path:
    folder = repo / "overlays" / where
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kustomization.yaml").write_text(kustomization)
    for name, text in (files or {}).items():
        (folder / name).write_text(text)
    return folder


PATCH = """\
apiVersion: mellanox.com/v1alpha1
kind: NicClusterPolicy
metadata:
  name: nic-cluster-policy
spec:
  ofedDriver:
    bogusField: 1
"""


@pytest.mark.parametrize("case", ["fifo", "dev-zero", "link-loop", "dangling-link", "outside"])
def test_hostile_overlay_file(repo: Path, tmp_path: Path, case: str) -> None:
    before = _output(repo)
    folder = _overlay(repo, COMPONENT + "patches:\n- path: p.yaml\n")
    outside = tmp_path / "outside.yaml"
    outside.write_text(PATCH)
    makers = {**{k: v[0] for k, v in SPECIAL_FILES.items()}, "outside": lambda p: p.symlink_to(outside)}
    _replace(folder / "p.yaml", makers[case])
    proc = run_gen_process("bundle", "--cluster", "prod", cwd=repo, env={"GEN_CACHE_DIR": str(tmp_path / "cache")})
    words = {"outside": "outside the repository", "dev-zero": "outside the repository", "link-loop": "link loop",
             "dangling-link": "link to nothing"}
    _one_message(proc, 2, "overlays/prod/p.yaml", words.get(case, "not a directory or a regular file"))
    assert _output(repo) == before
    assert not (tmp_path / "cache" / "kustomize").exists() or "bogusField" not in "".join(
        p.read_text() for p in (tmp_path / "cache" / "kustomize").rglob("*") if p.is_file())


def test_deeply_nested_overlay_kustomization(repo: Path) -> None:
    before = _output(repo)
    _overlay(repo, DEEP)
    _one_message(run_gen_process("bundle", "--cluster", "prod", cwd=repo), 2, "overlays/prod/kustomization.yaml",
                 "nesting deeper than 200 levels")
    assert _output(repo) == before


def test_overlay_component_of_a_sibling_builds_in_place_and_blames_the_patch_line(repo: Path) -> None:
    """`components: [../common]` works as in the repository, and a schema error from its patch points at the
    patch's own file and line (not at the generated base)."""
    before = _output(repo)
    _overlay(repo, COMPONENT + "components:\n- ../common\n")
    _overlay(repo, COMPONENT + "patches:\n- path: p.yaml\n", {"p.yaml": PATCH}, where="common")
    proc = run_gen("bundle", "--cluster", "prod", repo=repo)
    _one_message(proc, 1, "overlays/common/p.yaml:7:", "bogusField")
    assert _output(repo) == before
    (repo / "overlays/common/p.yaml").write_text(PATCH.replace("bogusField: 1", "forcePrecompiled: false"))
    _one_message(run_gen("bundle", "--cluster", "prod", repo=repo), 0)
    _one_message(run_gen("check", repo=repo), 0)


DAEMONSET = """\
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: evil
  namespace: kube-system
spec:
  selector:
    matchLabels: {app: evil}
  template:
    metadata:
      labels: {app: evil}
    spec:
      containers:
      - name: c
        image: registry.example.com/x:1
        securityContext:
          privileged: true
"""
WEBHOOK = """\
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: evil
webhooks: []
"""
DELETE_POLICY = COMPONENT + """\
patches:
- target: {kind: NicClusterPolicy}
  patch: |-
    $patch: delete
    apiVersion: mellanox.com/v1alpha1
    kind: NicClusterPolicy
    metadata:
      name: any
"""


@pytest.mark.parametrize(("kustomization", "files", "words"), [
    (COMPONENT + "resources: [ds.yaml]\n", {"ds.yaml": DAEMONSET}, ["overlays/prod/ds.yaml", "argocd-project",
                                                                     "'kube-system' is not a destination"]),
    (COMPONENT + "resources: [mwc.yaml]\n", {"mwc.yaml": WEBHOOK}, ["argocd-project", "MutatingWebhookConfiguration"]),
    (COMPONENT + "namespace: kube-system\n", {}, ["bundle-invariant", "no Namespace 'network-operator'"]),
    (DELETE_POLICY, {}, ["nic-cluster-policy"]),
], ids=["daemonset-in-kube-system", "mutating-webhook", "renamed-namespace", "deleted-policy"])
def test_overlay_that_breaks_the_bundles_promises(repo: Path, kustomization: str, files: dict[str, str],
                                                 words: list[str]) -> None:
    before = _output(repo)
    _overlay(repo, kustomization, files)
    _one_message(run_gen("bundle", "--cluster", "prod", repo=repo), 1, *words)
    assert _output(repo) == before


def test_overlay_binding_cluster_admin_is_a_warning(repo: Path) -> None:
    binding = ("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: default-admin\n"
               "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\n"
               "subjects:\n- {kind: ServiceAccount, name: default, namespace: network-operator}\n")
    _overlay(repo, COMPONENT + "resources: [crb.yaml]\n", {"crb.yaml": binding})
    proc = run_gen("bundle", "--cluster", "prod", repo=repo)
    _one_message(proc, 0, "overlays/prod/crb.yaml:5:", "warning rbac-broad", "cluster-admin")


# -- gen lint on hostile paths ----------------------------------------------------------------------------------


def _lint(*args: str, cwd: Path) -> Result:
    """gen lint of special files, in a process of its own (a hang or a crash ends it, not the test run)."""
    return run_gen_process("lint", "--no-kustomize", *args, cwd=cwd)


def test_lint_directory_skips_what_is_not_a_regular_file(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "ok.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n")
    os.mkfifo(folder / "fifo.yaml")
    (folder / "zero.yaml").symlink_to("/dev/zero")
    (folder / "loop.yaml").symlink_to("loop.yaml")
    proc = _lint("m", cwd=tmp_path)
    _one_message(proc, 0, "checked 1 file(s)")


@pytest.mark.parametrize("case", ["fifo", "dev-zero", "link-loop", "proc-self-mem"])
def test_lint_of_an_explicit_special_path(tmp_path: Path, case: str) -> None:
    SPECIAL_FILES[case][0](tmp_path / "x.yaml")
    _one_message(_lint("x.yaml", cwd=tmp_path), 2, "x.yaml")


def test_lint_of_a_hundred_thousand_nested_brackets(tmp_path: Path) -> None:
    (tmp_path / "deep.yaml").write_text("[" * 100_000)
    _one_message(_lint("deep.yaml", cwd=tmp_path), 1, "deep.yaml:1:", "nesting deeper than 200 levels")


def test_lint_never_reads_outside_a_kustomization_root(tmp_path: Path) -> None:
    """An absolute or ../ patch path is refused by kustomize's load restrictor; gen does not read it either."""
    secret = tmp_path / "secret.yaml"
    secret.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: secret\ndata: {x: 1}\n")  # invalid
    folder = tmp_path / "k"
    folder.mkdir()
    (folder / "kustomization.yaml").write_text(f"patches:\n- path: {secret}\n- path: ../secret.yaml\n")
    proc = run_gen("lint", "--no-kustomize", "k", cwd=tmp_path)
    _one_message(proc, 0)
    assert "secret" not in proc.out


@pytest.mark.parametrize("fmt", ["text", "github"])
def test_a_newline_in_a_file_name_cannot_forge_a_line(tmp_path: Path, fmt: str) -> None:
    name = "a\n::error file=forged.yaml::forged\n.yaml"
    (tmp_path / name).write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata: {x: 1}\n")
    proc = run_gen("lint", "--format", fmt, ".", cwd=tmp_path)
    _one_message(proc, 1)
    assert not any(line.startswith("::error file=forged") for line in proc.out.splitlines())
    assert all(line.count("::error") <= 1 for line in proc.out.splitlines())


# -- the run lock ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["symlink", "directory", "fifo"])
def test_lock_file_that_is_not_a_file(repo: Path, tmp_path: Path, case: str) -> None:
    before = _output(repo)
    lock = repo / "output/.gen.lock"
    lock.unlink(missing_ok=True)
    target = tmp_path / "elsewhere"
    target.write_text("keep\n")
    {"symlink": lambda: lock.symlink_to(target), "directory": lambda: lock.mkdir(),
     "fifo": lambda: os.mkfifo(lock)}[case]()
    spec = repo / "clusters/prod.yaml"
    spec.write_text(spec.read_text().replace("mode: sriov", "mode: shared"))
    proc = run_gen_process("bundle", "--cluster", "prod", cwd=repo)
    _one_message(proc, 2, "output/.gen.lock", "remove it")
    assert target.read_text() == "keep\n"
    assert _output(repo) == before


def test_a_held_lock_says_it_waits_and_exits_3(repo: Path) -> None:
    import fcntl

    fd = os.open(repo / "output/.gen.lock", os.O_RDWR | os.O_CREAT)
    os.write(fd, b"999999\n")
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        spec = repo / "clusters/prod.yaml"
        spec.write_text(spec.read_text().replace("mode: sriov", "mode: shared"))
        before = _output(repo)
        proc = run_gen_process("bundle", "--cluster", "prod", cwd=repo, env={"GEN_LOCK_TIMEOUT": "2"})
        _one_message(proc, 3, "waiting for output/.gen.lock", "no longer runs")
        assert _output(repo) == before
    finally:
        os.close(fd)
