"""SIGKILL `gen bundle --all` at random moments across 50 runs over a fleet of 20 clusters (a spec changes
between runs). After every kill each file present is complete, old or new content; after the next full run no
temporary file is left and `gen check` passes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from generator.cluster.model import MODES
from generator.pipeline.clusters import load_cluster
from generator.render.cluster_bundle import render_bundle
from generator.render.fleet import fleet_bundle
from tests.conftest import write_spec
from tests.helpers import run_gen

CLUSTERS = 20
RUNS = 50
VERSIONS = ("v25.4.0", "v25.10.0", "v26.4.1")


def generated(repo: Path, names: list[str]) -> dict[str, bytes]:
    """Every file (repo-relative) the current specs generate."""
    specs = [load_cluster(repo, name) for name in names]
    files = {f"output/{s.name}/{rel}": data for s in specs for rel, data in render_bundle(s).files.items()}
    fleet = fleet_bundle(specs)
    files.update({f"output/fleet/{rel}": data for rel, data in fleet.files.items()})
    return files


def on_disk(repo: Path) -> dict[str, bytes]:
    out = repo / "output"
    return {p.relative_to(repo).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


@pytest.mark.slow
@pytest.mark.kustomize
def test_sigkill_gen_bundle_all(gitops_repo: Path) -> None:
    rng = random.Random(20261129)
    names = [f"c{i:02d}" for i in range(CLUSTERS)]
    for i, name in enumerate(names):
        write_spec(gitops_repo, name=name, mode=MODES[i % 4], version=VERSIONS[i % 3])
    run_gen("bundle", "--all", repo=gitops_repo, check=True)
    seen: dict[str, set[bytes]] = defaultdict(set)
    for path, data in generated(gitops_repo, names).items():
        seen[path].add(data)
    gen = str(Path(sys.executable).parent / "gen")
    killed_mid_write = 0
    for _ in range(RUNS):
        name = rng.choice(names)
        write_spec(gitops_repo, name=name, mode=rng.choice(MODES), version=rng.choice(VERSIONS))
        for path, data in generated(gitops_repo, names).items():
            seen[path].add(data)
        proc = subprocess.Popen([gen, "bundle", "--all"], cwd=gitops_repo, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=os.environ.copy())
        time.sleep(rng.uniform(0.0, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        files = on_disk(gitops_repo)
        temps = [p for p in files if ".gen-tmp-" in p]
        killed_mid_write += bool(temps)
        for path, data in files.items():
            if ".gen-tmp-" in path or path.endswith((".gen-manifest.json", ".gen.lock")):
                continue
            assert data in seen[path], f"{path} is neither an old nor a new generated content"
    # the next complete run converges
    run_gen("bundle", "--all", repo=gitops_repo, check=True)
    assert not [p for p in on_disk(gitops_repo) if ".gen-tmp-" in p]
    assert run_gen("check", repo=gitops_repo).code == 0
    print(f"{killed_mid_write} of {RUNS} kills left temporary files (landed mid-write)")
