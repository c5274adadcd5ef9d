"""What gen lint needs of a cluster's spec, kept in gen's cache (``pipeline.spec_facts``): the same facts as parsing
the spec, kept per repository by gen lint and by gen bundle (for every spec it parsed), read only for the bytes they
were parsed from; an entry gen did not write with this user's key is a miss; a spec with pools, or an invalid one, is
parsed every time."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from generator.cluster.parse import SpecError
from generator.pipeline import clusters, spec_facts
from generator.pipeline.clusters import load_cluster
from generator.pipeline.spec_facts import LintSpec, keep
from tests.conftest import REPO, write_spec
from tests.helpers import run_gen


@pytest.fixture(autouse=True)
def own_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("GEN_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The specs parsed from here on (by file)."""
    files: list[str] = []
    real = clusters.checked_cluster

    def counted(data: bytes, file: str, expected_name: str | None = None):  # type: ignore[no-untyped-def]
        files.append(file)
        return real(data, file, expected_name)

    monkeypatch.setattr(clusters, "checked_cluster", counted)
    return files


def _entries(cache: Path) -> list[Path]:
    return sorted(p for p in (cache / "spec-facts").rglob("*") if p.is_file())


def _facts(gitops_repo: Path, name: str) -> LintSpec:
    """The facts as a new process reads them (nothing remembered from before)."""
    spec_facts._read.clear()
    return spec_facts.spec_facts(gitops_repo, name)


def test_kept_facts_are_the_parsed_facts(gitops_repo: Path, own_cache: Path, parsed: list[str]) -> None:
    write_spec(gitops_repo, name="g", version="v26.4.1", vm_size="Standard_ND96isr_H100_v5",
               extra='kubernetes:\n  version: "1.34"\ngpu:\n  driver: operator\n')
    write_spec(gitops_repo, name="h", version="v25.4.0")
    truth = {name: LintSpec.of(load_cluster(gitops_repo, name)) for name in ("g", "h")}
    first = _facts(gitops_repo, "g")
    assert _entries(own_cache) == [] and len(parsed) == 3  # parsed: nothing kept yet
    keep(gitops_repo, [("g", first)])
    assert len(_entries(own_cache)) == 1
    again = _facts(gitops_repo, "g")  # from the entry
    assert len(parsed) == 3 and first == again == truth["g"]
    assert truth["g"].gpu_release is not None and truth["g"].kube_version == "1.34"
    keep(gitops_repo, [("h", _facts(gitops_repo, "h"))])  # added to the repository's entry
    assert len(_entries(own_cache)) == 1 and len(parsed) == 4
    assert (_facts(gitops_repo, "g"), _facts(gitops_repo, "h")) == (truth["g"], truth["h"]) and len(parsed) == 4


def test_a_changed_spec_is_parsed_again(gitops_repo: Path, parsed: list[str]) -> None:
    write_spec(gitops_repo, name="g", version="v26.4.1")
    keep(gitops_repo, [("g", _facts(gitops_repo, "g"))])
    write_spec(gitops_repo, name="g", version="v26.1.2")
    assert _facts(gitops_repo, "g").release == "v26.1.2" and len(parsed) == 2
    # the same bytes under another name: not its facts (a spec's name is part of what it is)
    (gitops_repo / "clusters" / "k.yaml").write_bytes((gitops_repo / "clusters" / "g.yaml").read_bytes())
    with pytest.raises(SpecError):
        _facts(gitops_repo, "k")


def test_a_removed_spec_s_facts_are_dropped(gitops_repo: Path, own_cache: Path) -> None:
    write_spec(gitops_repo, name="g", version="v26.4.1")
    write_spec(gitops_repo, name="h", version="v26.4.1")
    keep(gitops_repo, [("g", _facts(gitops_repo, "g"))])
    (gitops_repo / "clusters" / "g.yaml").unlink()
    keep(gitops_repo, [("h", _facts(gitops_repo, "h"))])
    [entry] = _entries(own_cache)
    assert list(json.loads(entry.read_bytes().split(b"\n", 1)[1])) == ["h"]


def test_a_planted_entry_is_a_miss(gitops_repo: Path, own_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An entry under the right key, written with another key (planted, or committed into a cache in the checkout),
    is not read: the spec is parsed."""
    write_spec(gitops_repo, name="g", version="v26.4.1")
    keep(gitops_repo, [("g", _facts(gitops_repo, "g"))])
    [entry] = _entries(own_cache)
    raw = json.loads(entry.read_bytes().split(b"\n", 1)[1])
    raw["g"].update(release="v25.4.0", kube_version="1.30")
    head = entry.read_bytes().split(b"\n", 1)[0].split(b" ")
    entry.write_bytes(b" ".join([head[0], head[1], b"0" * 64]) + b"\n" + json.dumps(raw).encode())
    assert _facts(gitops_repo, "g").release == "v26.4.1"  # parsed: the forged entry's code does not match
    spec_facts._read.clear()
    assert spec_facts.spec_facts(gitops_repo, "g").release == "v26.4.1"


def test_pools_and_invalid_specs_are_never_kept(gitops_repo: Path, own_cache: Path) -> None:
    write_spec(gitops_repo, name="p", version="v26.4.1",
               extra="pools:\n- {name: a100, vmSize: Standard_ND96asr_v4}\n- {name: h100, vmSize: "
                     "Standard_ND96isr_H100_v5}\n")
    facts = _facts(gitops_repo, "p")
    assert [p.name for p in facts.pools] == ["a100", "h100"]
    keep(gitops_repo, [("p", facts)])
    path = write_spec(gitops_repo, name="bad", version="v26.4.1")
    path.write_text(path.read_text().replace("mode: sriov", "mode: fast"))
    with pytest.raises(SpecError):
        _facts(gitops_repo, "bad")
    assert _entries(own_cache) == []


@pytest.mark.kustomize
@pytest.mark.slow
def test_gen_bundle_keeps_the_facts_of_every_spec_it_parsed(tmp_path: Path, parsed: list[str]) -> None:
    """On the benchmark's fleet (every release, VM size and mode): the facts gen bundle keeps are the facts parsing
    gives, and the gen lint output/ after it parses no spec."""
    sys.path.insert(0, str(REPO / "bench"))
    import fleet

    repo = tmp_path / "fleet"
    members = fleet.fleet(12, seed=14)
    fleet.write_fleet(repo, members)
    run_gen("bundle", "--all", repo=repo, check=True)
    spec_facts._read.clear()
    parsed.clear()
    kept = {m.name: spec_facts.spec_facts(repo, m.name) for m in members}
    pools = {m.name for m in members if "pools:" in m.spec}
    assert len(parsed) == len(pools)  # (a spec with pools is parsed every time)
    assert kept == {m.name: LintSpec.of(load_cluster(repo, m.name)) for m in members}
    spec_facts._read.clear()
    parsed.clear()
    assert run_gen("lint", "output", cwd=repo).code == 0
    assert len(parsed) == len(pools)
