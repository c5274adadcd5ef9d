"""SIGKILL a writer at random moments; every file must always be complete, and the next apply
must converge (no temp files, ``check()`` empty, no file ever orphaned as "not owned")."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

import pytest

from generator.write import apply, check
from tests.write.conftest import expected_tree, files_under
from tests.write.gen_crash_helper import fleet as make_fleet

HELPER = Path(__file__).with_name("gen_crash_helper.py")
RUNS = 50
fleet = lru_cache(maxsize=None)(make_fleet)


def remember(seen: dict[str, set[bytes]], gen: int) -> None:
    for path, data in expected_tree(fleet(gen)).items():
        if not path.endswith(".gen-manifest.json"):
            seen[path].add(data)


def assert_every_file_complete(out: Path, seen: dict[str, set[bytes]]) -> int:
    """Every non-temp file is one complete generated content; returns the number of temp files."""
    temps = 0
    for path, data in files_under(out).items():
        if ".gen-tmp-" in path:
            temps += 1
        elif path.endswith(".gen-manifest.json"):
            doc = json.loads(data)  # complete JSON
            assert doc["cluster"] == path.split("/")[0]
        else:
            assert data in seen[path], f"{path} is not a complete generated content: {data[-40:]!r}"
    return temps


@pytest.mark.slow  # ~9-15 s: 50 runs x (interpreter start + random delay + a fsynced recovery apply)
def test_sigkill_at_random_moments(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    out = repo / "output"
    rng = random.Random(20240601)
    seen: dict[str, set[bytes]] = defaultdict(set)
    gen, interrupted, temps_seen = 0, 0, 0
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HELPER.parent), *sys.path])}
    for _ in range(RUNS):
        proc = subprocess.Popen([sys.executable, str(HELPER), str(repo), str(gen)],
                                stdout=subprocess.PIPE, text=True, env=env)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.08))
        proc.send_signal(signal.SIGKILL)
        lines = proc.stdout.read().split("\n")  # not communicate(): it would skip readline's buffer
        proc.stdout.close()
        proc.wait(10)
        assert proc.returncode == -signal.SIGKILL
        started = [int(ln.split()[1]) for ln in lines if ln.startswith("start ")]
        done = {int(ln.split()[1]) for ln in lines if ln.startswith("done ")}
        last = started[-1] if started else gen - 1
        for g in range(gen, last + 1):
            remember(seen, g)

        temps_seen += assert_every_file_complete(out, seen)
        # check() is empty exactly when the tree is exactly a generation (independent oracle)
        for g in {max(last - 1, 0), last}:
            exact = {p: d for p, d in files_under(out).items()} == expected_tree(fleet(g))
            assert (check(repo, fleet(g), all_clusters=True) == []) == exact
        if last >= 0 and last not in done:
            interrupted += check(repo, fleet(last), all_clusters=True) != []
        if last in done:
            assert check(repo, fleet(last), all_clusters=True) == []

        gen = last + 1  # the fleet changes: recover straight into a new generation
        remember(seen, gen)
        apply(repo, fleet(gen), prune=True, all_clusters=True)
        assert not [p for p in files_under(out) if ".gen-tmp-" in p]
        assert check(repo, fleet(gen), all_clusters=True) == []
        assert files_under(out) == expected_tree(fleet(gen))
        gen += 1
    assert interrupted >= RUNS // 4, f"only {interrupted} kills landed mid-apply"
    print(f"{interrupted}/{RUNS} kills mid-apply, {temps_seen} temp files left behind")
