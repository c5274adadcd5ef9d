"""gen bundle and gen check build the next chunk of clusters while checking the one built
(``checking._built_in_turn``): every cluster comes once, in order, with its own builds; a failed build is raised where
its chunk is reached; when checking stops early, the build under way is waited for and nothing is said about it."""

from __future__ import annotations

import gc
import threading
import warnings
from pathlib import Path
from typing import Any

import pytest

from generator.pipeline import checking


def _fake_builds(calls: list[list[str]], fail_on: str | None = None) -> Any:
    def build(repo: Path, bundles: list[Any], progress: Any = None) -> dict[tuple[str, str], str]:
        names = [b for b in bundles]
        calls.append(names)
        if fail_on in names:
            raise RuntimeError(f"build of {fail_on} failed")
        return {(name, "sriov"): f"built {name} in {threading.current_thread().name}" for name in names}
    return build


def test_every_cluster_once_in_order_with_its_own_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(checking, "build_overlays", _fake_builds(calls))
    monkeypatch.setattr(checking, "CHUNK", 2)
    clusters: list[Any] = [(f"c{i}", f"c{i}") for i in range(5)]
    seen = []
    for chunk, built in checking._built_in_turn(Path("."), clusters):
        assert set(built) == {(name, "sriov") for name, _ in chunk}
        seen += [name for name, _ in chunk]
    assert seen == [f"c{i}" for i in range(5)] and calls == [["c0", "c1"], ["c2", "c3"], ["c4"]]
    assert list(checking._built_in_turn(Path("."), [])) == []


def test_a_failed_build_is_raised_when_its_chunk_is_reached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checking, "build_overlays", _fake_builds([], fail_on="c2"))
    monkeypatch.setattr(checking, "CHUNK", 2)
    turns = checking._built_in_turn(Path("."), [(f"c{i}", f"c{i}") for i in range(4)])
    assert next(turns)[0] == [("c0", "c0"), ("c1", "c1")]
    with pytest.raises(RuntimeError, match="c2"):
        next(turns)


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")  # "Exception ignored in" a generator
def test_checking_stopped_early_waits_for_the_build_and_says_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checking, "build_overlays", _fake_builds([], fail_on="c2"))
    monkeypatch.setattr(checking, "CHUNK", 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an exception ignored while the generator closes would be a warning
        with pytest.raises(ValueError, match="a finding"):
            for _chunk, _built in checking._built_in_turn(Path("."), [(f"c{i}", f"c{i}") for i in range(4)]):
                raise ValueError("a finding stopped the run")
        gc.collect()
    assert not [t for t in threading.enumerate() if t.name.startswith("gen-builds")]
