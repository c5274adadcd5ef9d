"""A cache may speed up a verdict, never change it: on the benchmark's synthetic fleet (bench/fleet.py, a few
clusters), ``gen check`` and ``gen lint output/`` with a warm cache say exactly what they say with an empty one, as
bundled and after edits a warm cache has not seen (a user overlay's transformer, a committed file)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, Result
from tests.helpers import run_gen

sys.path.insert(0, str(REPO / "bench"))
import fleet

pytestmark = [pytest.mark.kustomize, pytest.mark.slow]  # whole-tool runs: not in make test-fast

TRANSFORMER = """\
apiVersion: builtin
kind: PatchTransformer
metadata:
  name: driver
target:
  kind: NicClusterPolicy
patch: |-
  - op: replace
    path: /spec/ofedDriver/repository
    value: {registry}
"""


def _said(result: Result) -> tuple[int, str, str]:
    """Exit code, stdout and stderr, without the seconds a run took."""
    return result.code, re.sub(r"\d+\.\d s\)", "N s)", result.out), result.err


def test_gen_check_and_gen_lint_agree_with_a_warm_and_an_empty_cache(tmp_path: Path) -> None:
    repo = tmp_path / "fleet"
    members = fleet.fleet(6, seed=14)
    fleet.write_fleet(repo, members)
    # a cluster without an overlay of the fleet's own gets one with a transformer
    name = next(m.name for m in members if not (repo / "overlays" / m.name).exists())
    overlay = repo / "overlays" / name
    overlay.mkdir(parents=True)
    (overlay / "kustomization.yaml").write_text("apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
                                                "transformers:\n- driver.yaml\n")
    (overlay / "driver.yaml").write_text(TRANSFORMER.format(registry="nvcr.io/nvidia/mellanox"))
    warm = {"GEN_CACHE_DIR": str(tmp_path / "warm")}
    run_gen("bundle", "--all", repo=repo, env=warm, check=True)
    policy = next((repo / "output" / members[1].name).rglob("nicclusterpolicy.yaml"))
    edits = [lambda: None,
             lambda: (overlay / "driver.yaml").write_text(TRANSFORMER.format(registry="nvcr.io/nvstaging/mellanox")),
             lambda: policy.write_text(policy.read_text() + "# edited\n")]
    verdicts = []
    for step, edit in enumerate(edits):
        edit()
        run_gen("lint", "output", cwd=repo, env=warm)  # the state before this one's builds are in the warm cache
        for args, kwargs in ((("check",), {"repo": repo}), (("lint", "output"), {"cwd": repo})):
            empty = {"GEN_CACHE_DIR": str(tmp_path / f"empty-{step}-{args[0]}")}
            cold = _said(run_gen(*args, **kwargs, env=empty))
            assert _said(run_gen(*args, **kwargs, env=warm)) == cold, (step, args)
            assert "Traceback" not in cold[2]
            verdicts.append(cold[0])
    assert verdicts == [0, 0, 1, 1, 1, 1]  # then the staging driver (check and lint), then the edited file too
