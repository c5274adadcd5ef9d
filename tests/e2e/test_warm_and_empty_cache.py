"""A cache may speed up a verdict, never change it: on the benchmark's synthetic fleet (bench/fleet.py, a few
clusters), ``gen check`` and ``gen lint output/`` with a warm cache say exactly what they say with an empty one, as
bundled and after edits a warm cache has not seen (a user overlay's transformer, a committed file, a spec changed
since gen bundle, a new spec whose Argo CD destination clashes with a recorded one). The warm cache holds every kind
of record a run keeps: the clusters checked, each one's part of the fleet bootstrap, the bytes of a cluster rendered
for a changed spec, the kustomize builds gen bundle and gen lint share, the converted CRD schemas, and gen lint's
kept parts (read back by the second warm gen lint of each state)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, Result
from tests.helpers import kept_lint_parts, run_gen

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


def test_gen_check_and_gen_lint_agree_with_a_warm_and_an_empty_cache(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from generator.programs import forked

    monkeypatch.setattr(forked, "LEAST", 2)  # gen lint's parts on two processes, as at fleet scale
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
    changed = next(m for m in members if m.name != name and "ipam:" not in m.spec and m.release != members[-1].release)
    spec = repo / "clusters" / f"{changed.name}.yaml"
    newer = max((m.release for m in members), key=lambda tag: [int(x) for x in tag.lstrip("v").split(".")])

    def bump() -> None:  # a spec changed since gen bundle: output/ out of date, said from the record's bytes
        spec.write_text(spec.read_text().replace(f"version: {changed.release}", f"version: {newer}", 1))

    def clash() -> None:  # a new spec with the destination of a recorded one (whose spec is not parsed when warm)
        (repo / "clusters" / "zz-twin.yaml").write_text(spec.read_text())

    edits = [lambda: None,
             lambda: (overlay / "driver.yaml").write_text(TRANSFORMER.format(registry="nvcr.io/nvstaging/mellanox")),
             lambda: policy.write_text(policy.read_text() + "# edited\n"),
             bump, clash]
    verdicts = []
    for step, edit in enumerate(edits):
        edit()
        # the state before this one's builds and records are in the warm cache (twice: the second reads them)
        for _ in range(2):
            run_gen("lint", "output", cwd=repo, env=warm)
            run_gen("check", repo=repo, env=warm)
        for args, kwargs in ((("check",), {"repo": repo}), (("lint", "output"), {"cwd": repo})):
            empty = {"GEN_CACHE_DIR": str(tmp_path / f"empty-{step}-{args[0]}")}
            cold = _said(run_gen(*args, **kwargs, env=empty))
            assert _said(run_gen(*args, **kwargs, env=warm)) == cold, (step, args)
            assert "Traceback" not in cold[2]
            verdicts.append(cold[0])
    # then the staging driver (check and lint), the edited file too, the changed spec (gen check: out of date), and
    # the clash (gen check: refused, naming both specs; gen lint reads only output/)
    assert verdicts == [0, 0, 1, 1, 1, 1, 1, 1, 2, 1]
    # gen lint output/ is kept cluster by cluster, in one entry: a part for each cluster's folder and one for the
    # rest (the fleet's folder), as the last run found them
    folders = [d for d in (repo / "output").iterdir() if (repo / "clusters" / f"{d.name}.yaml").is_file()]
    assert len(kept_lint_parts(tmp_path / "warm")) == len(folders) + 1 >= len(members) + 1
    assert (repo / "output" / changed.name).is_dir()
