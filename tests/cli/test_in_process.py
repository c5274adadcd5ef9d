"""tests.helpers.run_gen (gen's main() in the test process) gives what the real gen process gives: the same exit code,
stdout and stderr, and the same files, for one sequence of invocations run both ways in the same directory; and it
puts back the process state it changes."""

from __future__ import annotations

import gc
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.core import cache as gen_cache
from tests.conftest import Result, run_gen_process, snapshot, write_spec
from tests.helpers import run_gen

pytestmark = [pytest.mark.kustomize, pytest.mark.slow]  # a real process per step

NAMESPACE = ("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: network-operator\n  labels:\n"
             "    pod-security.kubernetes.io/enforce: baseline\n")


def _edit_policy(repo: Path) -> None:
    policy = repo / "output/prod/base/nicclusterpolicy.yaml"
    policy.write_text(policy.read_text().replace("maxParallelUpgrades: 1", "maxParallelUpgrades: 4"))


def _break_staging(repo: Path) -> None:
    spec = repo / "clusters/staging.yaml"
    spec.write_text(spec.read_text().replace("mode: shared", "mode: rdma"))


def _mend_staging(repo: Path) -> None:
    spec = repo / "clusters/staging.yaml"
    spec.write_text(spec.read_text().replace("mode: rdma", "mode: shared"))


# (what to do to the repo first, gen's arguments, whether gen runs with --repo REPO, the environment's changes)
Step = tuple[Callable[[Path], None] | None, tuple[str, ...], bool, dict[str, str]]
STEPS: list[Step] = [
    (None, ("--version",), False, {}),  # argparse exits 0
    (None, ("frobnicate",), True, {}),  # argparse exits 2, usage on stderr
    (None, ("catalog", "vm-sizes"), False, {}),
    (None, ("bundle", "--cluster", "prod"), True, {}),  # the chart note, a warning, the summary line
    (None, ("bundle", "--cluster", "prod"), True, {}),  # the note again: said once per process
    (None, ("bundle", "--all"), True, {}),
    (_edit_policy, ("check",), True, {}),  # exit 1, the diff on stdout, the advice on stderr
    (None, ("bundle", "--all"), True, {}),
    (_break_staging, ("bundle", "--all"), True, {}),  # exit 2, the spec's line and column
    (_mend_staging, ("check", "--cluster", "prod"), True, {}),
    (None, ("plan", "--cluster", "prod"), True, {}),
    (None, ("images", "--all"), True, {}),
    (None, ("lint", "--release", "v26.4.1", "ns.yaml"), False, {}),  # a path relative to the working directory
    (None, ("lint", "output/prod"), False, {}),
    (None, ("bundle", "--cluster", "prod"), True, {"GEN_KUSTOMIZE": "/nonexistent/kustomize build"}),
    (None, ("cache",), False, {"GEN_CACHE_DIR": "{cache}"}),  # gen reads the environment on every run
    (None, ("cache", "clear"), False, {"GEN_CACHE_DIR": "{cache}"}),
    (None, ("cache",), False, {"GEN_CACHE_DIR": "{cache}"}),
    (None, ("releases", "--format", "json"), False, {}),
]


def _timeless(text: str) -> str:
    return re.sub(r"\b\d+\.\d s\b", "<t> s", text)


def _run_steps(repo: Path, runner: Callable[..., Result], caches: Path) -> list[Result]:
    """STEPS in ``repo``, each in ``repo`` as the working directory, with a cache of this sequence's own."""
    for kind in ("run", "shown"):
        shutil.rmtree(caches / kind, ignore_errors=True)
    (caches / "shown" / "kustomize" / "v2").mkdir(parents=True)
    (caches / "shown" / "kustomize" / "v2" / "x").write_text("x")
    results = []
    for before, args, with_repo, env in STEPS:
        if before is not None:
            before(repo)
        argv = ["--repo", str(repo), *args] if with_repo else list(args)
        env = {"GEN_CACHE_DIR": str(caches / "run"), **{k: v.format(cache=caches / "shown") for k, v in env.items()}}
        result = runner(*argv, cwd=repo, env=env)
        results.append(Result(result.code, _timeless(result.out), _timeless(result.err)))
    return results


def _without_parsed_yaml(listing: str) -> str:
    """``gen cache``'s listing without the parsed-yaml/ line, which only a new process adds to a new cache."""
    lines = listing.splitlines(keepends=True)
    return "".join(line for line in lines if not line.lstrip().startswith("parsed-yaml/"))


def _tree(repo: Path) -> dict[str, bytes]:
    return {k: v for k, v in snapshot(repo).items() if not k.endswith(".gen.lock")}


def test_in_process_and_subprocess_give_the_same_codes_output_and_files(tmp_path: Path) -> None:
    repo, pristine, caches = tmp_path / "repo", tmp_path / "pristine", tmp_path / "caches"
    write_spec(repo)
    write_spec(repo, "staging", mode="shared")
    (repo / "ns.yaml").write_text(NAMESPACE)
    shutil.copytree(repo, pristine)

    in_process = _run_steps(repo, run_gen, caches)
    files = _tree(repo)
    shutil.rmtree(repo)
    shutil.copytree(pristine, repo)
    processes = _run_steps(repo, run_gen_process, caches)

    for step, mine, real in zip(STEPS, in_process, processes, strict=True):
        if step[1] == ("cache",):  # the one difference (tests/helpers.py): a new process parses gen's data again
            real = Result(real.code, _without_parsed_yaml(real.out), real.err)
        assert mine == real, f"gen {' '.join(step[1])}"
    assert {r.code for r in processes} == {0, 1, 2}  # every outcome but the environment's (3) was compared
    assert "gen: note: network-operator chart v25.4.0" in processes[4].err  # said by the second run too
    assert _tree(repo) == files


def test_the_process_state_is_put_back(tmp_path: Path) -> None:
    write_spec(tmp_path)
    cwd, env, umask = os.getcwd(), dict(os.environ), os.umask(0o022)
    os.umask(umask)
    streams, handlers = (sys.stdin, sys.stdout, sys.stderr), signal.getsignal(signal.SIGINT)
    collector = (gc.get_threshold(), gc.get_freeze_count())
    gen_cache._refused.add(tmp_path)
    said = set(gen_cache._refused)  # what this process said before, among them ours
    try:
        proc = run_gen("bundle", "--cluster", "prod", cwd=tmp_path, env={"GEN_LOCK_TIMEOUT": "5", "HOME": None})
        assert proc.code == 0 and "gen: note: network-operator chart v25.4.0" in proc.err
        assert run_gen("bundle", "--cluster", "nope", repo=tmp_path).code == 2
        assert run_gen("--help").code == 0
        assert os.getcwd() == cwd and dict(os.environ) == env and os.umask(umask) == umask
        assert (sys.stdin, sys.stdout, sys.stderr) == streams and signal.getsignal(signal.SIGINT) == handlers
        assert gen_cache._refused == said  # this process's, as they were
        assert (gc.get_threshold(), gc.get_freeze_count()) == collector  # tuned only in a process of gen's own
    finally:
        gen_cache._refused.discard(tmp_path)


def test_a_process_of_its_own_tunes_the_collector(tmp_path: Path) -> None:
    """gen as its own process (``main()`` without arguments, as the console script calls it) freezes what it imported
    and collects the young generation less often; the test process above keeps Python's defaults."""
    code = ("import gc, sys\nfrom generator.cli.main import main\nsys.argv = ['gen', 'catalog']\n"
            "assert main() == 0\nprint(gc.get_threshold(), gc.get_freeze_count() > 1000, file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False,
                          env={**os.environ, "GEN_CACHE_DIR": str(tmp_path / "cache")})
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines()[-1] == "(20000, 20, 20) True"
