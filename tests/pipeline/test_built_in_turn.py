"""gen bundle and gen check build the next chunk of clusters while checking the one built
(``checking._built_in_turn``) and preparing the one after: every cluster comes once, in order, with its own builds;
a failed build is raised where its chunk is reached; when checking stops early, the build under way is waited for and
nothing is said about it; every staged copy is removed."""

from __future__ import annotations

import gc
import threading
import warnings
from pathlib import Path
from typing import Any

import pytest

from generator.pipeline import checking


class _FakePrepared:
    """What ``prepare_overlays`` gives, recording when it is prepared, built and closed."""

    def __init__(self, events: list[str], names: list[str], fail_on: str | None) -> None:
        self.events, self.names, self.fail_on = events, names, fail_on
        events.append(f"prepared {','.join(names)}")

    def build(self) -> dict[tuple[str, str], str]:
        self.events.append(f"built {','.join(self.names)}")
        if self.fail_on in self.names:
            raise RuntimeError(f"build of {self.fail_on} failed")
        return {(name, "sriov"): f"built {name} in {threading.current_thread().name}" for name in self.names}

    def close(self) -> None:
        self.events.append(f"closed {','.join(self.names)}")


def _fake_builds(calls: list[list[str]], fail_on: str | None = None, events: list[str] | None = None) -> Any:
    def prepare(repo: Path, bundles: list[Any]) -> _FakePrepared:
        names = [b for b in bundles]
        calls.append(names)
        return _FakePrepared(events if events is not None else [], names, fail_on)
    return prepare


def _rendered(names: list[Any]) -> list[Any]:
    return [(name, name) for name in names]


def test_every_cluster_once_in_order_with_its_own_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    events: list[str] = []
    monkeypatch.setattr(checking, "prepare_overlays", _fake_builds(calls, events=events))
    monkeypatch.setattr(checking, "CHUNK", 2)
    clusters: list[Any] = [f"c{i}" for i in range(5)]
    seen = []
    def rendered(names: list[Any]) -> list[Any]:
        events.append(f"rendered {','.join(names)}")
        return _rendered(names)

    for chunk, built in checking._built_in_turn(Path("."), clusters, rendered):
        assert set(built) == {(name, "sriov") for name, _ in chunk}
        seen += [name for name, _ in chunk]
        events.append(f"checked {','.join(name for name, _ in chunk)}")
    assert seen == [f"c{i}" for i in range(5)] and calls == [["c0", "c1"], ["c2", "c3"], ["c4"]]
    # the next chunk is prepared before the one building is waited for; each chunk's staged copy removed once built
    assert events.index("rendered c2,c3") < events.index("prepared c2,c3") < events.index("closed c0,c1") \
        < events.index("checked c0,c1")
    assert events[0] == "rendered c0,c1" and "rendered c4" not in events[:events.index("closed c0,c1")]
    assert events.index("prepared c4") < events.index("closed c2,c3") and events[-1] == "checked c4"
    assert sorted(e for e in events if e.startswith("closed")) == ["closed c0,c1", "closed c2,c3", "closed c4"]
    assert list(checking._built_in_turn(Path("."), [], _rendered)) == []


def test_a_failed_build_is_raised_when_its_chunk_is_reached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checking, "prepare_overlays", _fake_builds([], fail_on="c2"))
    monkeypatch.setattr(checking, "CHUNK", 2)
    turns = checking._built_in_turn(Path("."), [f"c{i}" for i in range(4)], _rendered)
    assert next(turns)[0] == [("c0", "c0"), ("c1", "c1")]
    with pytest.raises(RuntimeError, match="c2"):
        next(turns)


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")  # "Exception ignored in" a generator
def test_checking_stopped_early_waits_for_the_build_and_says_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []
    monkeypatch.setattr(checking, "prepare_overlays", _fake_builds([], fail_on="c2", events=events))
    monkeypatch.setattr(checking, "CHUNK", 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an exception ignored while the generator closes would be a warning
        with pytest.raises(ValueError, match="a finding"):
            for _chunk, _built in checking._built_in_turn(Path("."), [f"c{i}" for i in range(4)], _rendered):
                raise ValueError("a finding stopped the run")
        gc.collect()
    assert not [t for t in threading.enumerate() if t.name.startswith("gen-builds")]
    assert {e for e in events if e.startswith("closed")} == {"closed c0,c1", "closed c2,c3"}  # none left staged
