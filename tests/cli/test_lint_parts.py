"""``gen lint output/`` cluster by cluster (``lint_verdicts.parts_of``): each ``output/<name>/`` with a spec is
linted and kept as a part of its own, so that after one cluster changed only that cluster is linted again. What it
prints is what linting the same files whole prints, byte for byte, whatever the folder holds: a finding, a folder
of no cluster, and the cases where one cluster's files are not its own (a link out of its folder, a kustomization
reaching into another cluster's folder, a manifest in output/ itself), which are linted whole."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.helpers import kept_lint_parts, run_gen

sys.path.insert(0, str(REPO / "bench"))
import fleet

pytestmark = [pytest.mark.kustomize, pytest.mark.slow]


@pytest.fixture(autouse=True, params=["one process", "two processes"])
def processes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each test as one process runs it (fewer parts than ``forked.LEAST``) and with the parts on two."""
    from generator.programs import forked

    forks = []

    def fork() -> int:
        forks.append(1)
        return real_fork()

    real_fork = os.fork
    monkeypatch.setattr(os, "fork", fork)
    monkeypatch.setattr(forked, "LEAST", 10_000 if request.param == "one process" else 2)
    yield str(request.param)
    whole = request.node.callspec.params.get("step") == "a manifest in output/ itself"  # not split in parts
    assert bool(forks) == (request.param == "two processes" and not whole)


def _whole(repo: Path) -> list[str]:
    """output/'s entries as a walk of it reads them, named one by one: gen lint does not split these."""
    names = sorted(os.listdir(repo / "output"))
    return [f"output/{n}" for n in names if not n.startswith(".") and (
        ((repo / "output" / n).is_dir() and not (repo / "output" / n).is_symlink()) or n.endswith(".yaml"))]


def _entries(cache: Path) -> list[Path]:
    return [p for p in (cache / "lint-parts").rglob("*") if p.is_file()]


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("parts") / "fleet"
    members = fleet.fleet(4, seed=14)
    fleet.write_fleet(repo, members)
    run_gen("bundle", "--all", repo=repo, check=True)
    return repo


def _copy(bundled: Path, to: Path) -> Path:
    shutil.copytree(bundled, to, symlinks=True)  # with its links and modification times
    return to


EDITS = ["as bundled", "an error in one cluster", "a link out of a cluster's folder",
         "a kustomization reaching into another cluster's folder", "a manifest in output/ itself",
         "a FIFO named like a manifest in a cluster's folder"]


@pytest.mark.parametrize("step", EDITS)
def test_cluster_by_cluster_says_what_linting_whole_says(bundled: Path, tmp_path: Path, step: str) -> None:
    repo = _copy(bundled, tmp_path / "fleet")
    names = sorted(p.stem for p in (repo / "clusters").glob("*.yaml"))
    a, b = repo / "output" / names[0], repo / "output" / names[1]
    policy = next(a.rglob("nicclusterpolicy.yaml"))
    # a folder of no cluster, in every case: its policy is checked with the files of no cluster
    (repo / "output" / "extra").mkdir()
    (repo / "output" / "extra" / "policy.yaml").write_text(next(b.rglob("nicclusterpolicy.yaml")).read_text())
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text(policy.read_text())
    if step == "an error in one cluster":
        policy.write_text(policy.read_text().replace("spec:", "spec:\n  bogus: 1", 1))
    elif step == "a link out of a cluster's folder":  # its policy is one of no cluster, checked with extra/'s
        (a / "link.yaml").symlink_to(outside)
    elif step == "a kustomization reaching into another cluster's folder":  # its files are read by both
        (b / "peek").mkdir()
        (b / "peek" / "kustomization.yaml").write_text(f"resources:\n- ../../{a.name}/base\n")
    elif step == "a manifest in output/ itself":
        (repo / "output" / "stray.yaml").write_text(outside.read_text())
    elif step.startswith("a FIFO"):  # never opened: named as skipped, not a regular file
        os.mkfifo(a / "pipe.yaml")
    for _ in range(2):  # linted, then its parts read back
        parts = run_gen("lint", "output", cwd=repo, env={"GEN_CACHE_DIR": str(tmp_path / "warm")})
        whole = run_gen("lint", *_whole(repo), cwd=repo, env={"GEN_CACHE_DIR": str(tmp_path / "whole")})
        assert (parts.code, parts.out, parts.err) == (whole.code, whole.out, whole.err)
    assert "Traceback" not in parts.err
    assert (parts.code == 1 and "bogus" in parts.out) == (step == "an error in one cluster")


def test_after_one_cluster_changed_only_it_is_linted_again(bundled: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from generator.manifests import collect

    repo = _copy(bundled, tmp_path / "fleet")
    cache = {"GEN_CACHE_DIR": str(tmp_path / "cache")}
    log = tmp_path / "linted.log"
    real = collect.lint_paths

    def logged(paths: list[Path], *args: object, **kwargs: object) -> collect.LintResult:
        with log.open("a") as out:  # (a forked process's too)
            out.writelines(f"{p}\n" for p in paths)
        return real(paths, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(collect, "lint_paths", logged)
    first = run_gen("lint", "output", cwd=repo, env=cache)
    kept = kept_lint_parts(tmp_path / "cache")
    assert first.code == 0 and len(kept) == len(list((repo / "clusters").glob("*.yaml"))) + 1  # and output/fleet
    assert len(_entries(tmp_path / "cache")) == 1  # a run's parts, in one entry
    name = sorted(p.stem for p in (repo / "clusters").glob("*.yaml"))[2]
    example = next((repo / "output" / name / "examples").glob("*.yaml"))
    example.write_text(example.read_text() + "# edited\n")
    log.unlink()
    again = run_gen("lint", "output", cwd=repo, env=cache)
    now = kept_lint_parts(tmp_path / "cache")
    assert again.out == first.out and again.code == 0
    assert log.read_text().splitlines() == [f"output/{name}"]  # every other part read back, not linted again
    assert len(now) == len(kept) and len(set(now) - set(kept)) == 1  # the changed cluster's part, kept anew
    assert len(_entries(tmp_path / "cache")) == 1
    log.unlink()
    assert run_gen("lint", "output", cwd=repo, env=cache).out == first.out and not log.exists()


def test_a_planted_or_altered_part_is_a_miss(bundled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from generator.core import cache as cache_module
    from generator.core.cache import DiskCache
    from generator.pipeline import lint_verdicts

    repo = _copy(bundled, tmp_path / "fleet")
    policy = next((repo / "output" / sorted(p.stem for p in (repo / "clusters").glob("*.yaml"))[0]).rglob(
        "nicclusterpolicy.yaml"))
    policy.write_text(policy.read_text().replace("spec:", "spec:\n  bogus: 1", 1))
    cache = tmp_path / "cache"
    said = run_gen("lint", "output", cwd=repo, env={"GEN_CACHE_DIR": str(cache)})
    assert said.code == 1
    clean = {"findings": [], "files": 1, "objects": 1, "builds": 0, "skipped": [], "inferred": []}
    forged = json.dumps(dict.fromkeys(kept_lint_parts(cache), clean)).encode()
    [entry] = _entries(cache)
    user = os.environ["XDG_CONFIG_HOME"]
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "attacker"))
    cache_module._keys.clear()
    # every part replaced by a clean one, written with another user's key
    DiskCache(cache, "lint-parts", lint_verdicts.PARTS_VERSION).put(entry.name, forged)
    monkeypatch.setenv("XDG_CONFIG_HOME", user)
    cache_module._keys.clear()
    again = run_gen("lint", "output", cwd=repo, env={"GEN_CACHE_DIR": str(cache)})
    assert (again.code, again.out) == (said.code, said.out) and again.err.count("ignored") == 1


def test_each_build_is_made_once_before_the_parts_are_shared_out(bundled: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """From an empty cache, every kustomize build the parts need is made once per key (two directories of the same
    bytes: one build), by gen itself before the parts are shared out, and read by the parts from the cache."""
    from generator.programs import kustomize

    repo = _copy(bundled, tmp_path / "fleet")
    log = tmp_path / "builds.log"
    real = kustomize.build_many

    def logged(directories: list[Path], *args: object) -> list[kustomize.BuildResult]:
        with log.open("a") as out:  # (a forked process's too)
            out.writelines(f"{os.getpid()} {d}\n" for d in directories)
        return real(directories, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(kustomize, "build_many", logged)
    result = run_gen("lint", "output", cwd=repo, env={"GEN_CACHE_DIR": str(tmp_path / "cache")})
    assert result.code == 0, result.err
    built = [line.split(" ", 1) for line in log.read_text().splitlines()]
    assert {pid for pid, _ in built} == {str(os.getpid())}
    command = kustomize.kustomize_command()
    keys = [kustomize.inputs_key(Path(directory), command) for _, directory in built]
    assert None not in keys and len(keys) == len(set(keys))
    every = {kustomize.inputs_key(d.parent, command) for d in (repo / "output").rglob("kustomization.yaml")}
    assert set(keys) == every  # each one made


def test_broken_specs_say_the_first_one_s_error_as_one_process_does(bundled: Path, tmp_path: Path) -> None:
    """Each missed part's spec facts are read while it is keyed (in two processes); a spec that does not load is read
    again in turn, so its error is the one a single process meets first, named with its file."""
    repo = _copy(bundled, tmp_path / "fleet")
    names = sorted(p.stem for p in (repo / "clusters").glob("*.yaml"))
    for name in (names[1], names[3]):  # one in each half
        spec = repo / "clusters" / f"{name}.yaml"
        spec.write_text(spec.read_text().replace("version:", "version: [", 1))
    result = run_gen("lint", "output", cwd=repo, env={"GEN_CACHE_DIR": str(tmp_path / "cache")})
    assert result.code == 2 and "Traceback" not in result.err
    assert f"clusters/{names[1]}.yaml" in result.err and f"clusters/{names[3]}.yaml" not in result.err
