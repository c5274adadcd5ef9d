"""The benchmark's synthetic fleet is a function of its size and seed, mixes every mode, release and VM size, and
is a repo gen accepts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from generator import catalog
from generator.pipeline.clusters import load_fleet
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
import fleet


def test_the_same_size_and_seed_give_the_same_bytes(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    fleet.write_fleet(one, fleet.fleet(60, seed=7))
    fleet.write_fleet(two, fleet.fleet(60, seed=7))
    files = sorted(p.relative_to(one) for p in one.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(two) for p in two.rglob("*") if p.is_file())
    assert all((one / f).read_bytes() == (two / f).read_bytes() for f in files)
    assert [m.spec for m in fleet.fleet(60, seed=8)] != [m.spec for m in fleet.fleet(60, seed=7)]


def test_a_larger_fleet_starts_with_the_smaller_one() -> None:
    assert fleet.fleet(100, seed=14)[:10] == fleet.fleet(10, seed=14)


def test_a_fleet_as_large_as_the_vm_sizes_already_mixes_every_mode_release_and_vm_size() -> None:
    cat = catalog.load()
    members = fleet.fleet(len(cat.vm_sizes))
    assert {m.mode for m in members} == set(fleet.MODES)
    assert {m.release for m in members} == set(cat.release_tags)
    assert {m.vm_size for m in members} == set(cat.vm_sizes)
    described = fleet.describe(fleet.fleet(200))
    assert described["clusters"] == 200 and sum(described["modes"].values()) == 200  # type: ignore[union-attr]


@pytest.mark.parametrize("seed", [1, 14])
def test_every_spec_loads_and_no_two_share_a_destination(tmp_path: Path, seed: int) -> None:
    members = fleet.fleet(120, seed=seed, chart_every=40)
    fleet.write_fleet(tmp_path, members)
    loaded = load_fleet(tmp_path, [m.name for m in members])
    assert len(loaded.selected) == 120 and not loaded.broken
    assert sum(1 for c in loaded.selected if c.argocd.source == "chart") == 3
    assert any((tmp_path / "overlays" / m.name / "kustomization.yaml").is_file() for m in members)
