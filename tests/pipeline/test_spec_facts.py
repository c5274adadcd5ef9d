"""What gen lint needs of a cluster's spec, kept in gen's cache (``pipeline.spec_facts``): the same facts as parsing
the spec, keyed on its bytes and gen itself; an entry gen did not write with this user's key is a miss; a spec with
pools, or an invalid one, is parsed every time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.cluster.parse import SpecError
from generator.pipeline.clusters import load_cluster
from generator.pipeline.spec_facts import LintSpec, spec_facts
from tests.conftest import write_spec


@pytest.fixture(autouse=True)
def own_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("GEN_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _entries(cache: Path) -> list[Path]:
    return sorted(p for p in (cache / "spec-facts").rglob("*") if p.is_file())


def test_kept_facts_are_the_parsed_facts(gitops_repo: Path, own_cache: Path) -> None:
    write_spec(gitops_repo, name="g", version="v26.4.1", vm_size="Standard_ND96isr_H100_v5",
               extra='kubernetes:\n  version: "1.34"\ngpu:\n  driver: operator\n')
    parsed = LintSpec.of(load_cluster(gitops_repo, "g"))
    first = spec_facts(gitops_repo, "g")
    assert len(_entries(own_cache)) == 1
    again = spec_facts(gitops_repo, "g")  # from the entry
    assert first == again == parsed and parsed.gpu_release is not None and parsed.kube_version == "1.34"


def test_a_changed_spec_is_parsed_again(gitops_repo: Path) -> None:
    write_spec(gitops_repo, name="g", version="v26.4.1")
    assert spec_facts(gitops_repo, "g").release == "v26.4.1"
    write_spec(gitops_repo, name="g", version="v26.1.2")
    assert spec_facts(gitops_repo, "g").release == "v26.1.2"


def test_a_planted_entry_is_a_miss(gitops_repo: Path, own_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An entry under the right key, written with another key (planted, or committed into a cache in the checkout),
    is not read: the spec is parsed."""
    write_spec(gitops_repo, name="g", version="v26.4.1")
    spec_facts(gitops_repo, "g")
    [entry] = _entries(own_cache)
    forged = json.dumps({"release": "v25.4.0", "kube_version": "1.30", "gpu_release": None, "nics": 1}).encode()
    head = entry.read_bytes().split(b"\n", 1)[0].split(b" ")
    entry.write_bytes(b" ".join([head[0], head[1], b"0" * 64]) + b"\n" + forged)
    assert spec_facts(gitops_repo, "g").release == "v26.4.1"  # parsed: the forged entry's code does not match


def test_pools_and_invalid_specs_are_never_kept(gitops_repo: Path, own_cache: Path) -> None:
    write_spec(gitops_repo, name="p", version="v26.4.1",
               extra="pools:\n- {name: a100, vmSize: Standard_ND96asr_v4}\n- {name: h100, vmSize: "
                     "Standard_ND96isr_H100_v5}\n")
    assert [p.name for p in spec_facts(gitops_repo, "p").pools] == ["a100", "h100"]
    path = write_spec(gitops_repo, name="bad", version="v26.4.1")
    path.write_text(path.read_text().replace("mode: sriov", "mode: fast"))
    with pytest.raises(SpecError):
        spec_facts(gitops_repo, "bad")
    assert _entries(own_cache) == []
