"""``programs.forked.in_halves``: the first half of the items in a forked child, the second here, and the result,
the errors and what was said on stderr as one process gives them."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence

import pytest

from generator.core import cache
from generator.programs import forked

HERE = os.getpid()


def _pids(items: Sequence[int]) -> list[tuple[int, int]]:
    return [(item * 2, os.getpid()) for item in items]


def test_the_halves_come_back_in_order_the_first_done_in_a_child() -> None:
    result = forked.in_halves(list(range(9)), _pids, least=2)
    assert [value for value, _ in result] == [item * 2 for item in range(9)]
    pids = [pid for _, pid in result]
    assert pids[5:] == [HERE] * 4 and len(set(pids[:5])) == 1 and pids[0] != HERE


def test_fewer_items_than_least_or_one_core_is_one_piece_here(monkeypatch: pytest.MonkeyPatch) -> None:
    assert {pid for _, pid in forked.in_halves(list(range(9)), _pids, least=10)} == {HERE}
    assert {pid for _, pid in forked.in_halves(list(range(forked.LEAST - 1)), _pids)} == {HERE}
    monkeypatch.setattr(forked, "_cores", lambda: 1)
    assert {pid for _, pid in forked.in_halves(list(range(40)), _pids, least=2)} == {HERE}


def _failing(bad: set[int]):  # type: ignore[no-untyped-def]
    def work(items: Sequence[int]) -> list[int]:
        for item in items:
            if item in bad:
                raise ValueError(f"item {item}")
        return list(items)
    return work


@pytest.mark.parametrize(("bad", "raised"), [({1, 6}, "item 1"), ({1}, "item 1"), ({6}, "item 6")])
def test_the_error_is_the_one_a_single_process_meets_first(bad: set[int], raised: str) -> None:
    with pytest.raises(ValueError, match=raised):
        forked.in_halves(list(range(8)), _failing(bad), least=2)
    with pytest.raises(ValueError, match=raised):  # as one process
        _failing(bad)(list(range(8)))


def test_a_child_that_dies_has_its_half_done_here() -> None:
    def work(items: Sequence[int]) -> list[int]:
        if os.getpid() != HERE:
            os.kill(os.getpid(), signal.SIGKILL)
        return [item + 1 for item in items]

    assert forked.in_halves(list(range(6)), work, least=2) == [1, 2, 3, 4, 5, 6]


def test_what_the_child_said_is_said_here_the_caches_warnings_once(monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cache, "_refused", set())
    monkeypatch.setattr(cache, "_words", {})

    def work(items: Sequence[int]) -> list[int]:
        cache._say_once(("unverified", "root"), "gen: warning: an entry ignored")
        if os.getpid() != HERE:
            print("from the child", file=sys.stderr)
            cache._say_once(("key", None), "gen: warning: no key")
        return list(items)

    assert forked.in_halves(list(range(4)), work, least=2) == [0, 1, 2, 3]
    err = capsys.readouterr().err
    assert sorted(err.splitlines()) == ["from the child", "gen: warning: an entry ignored", "gen: warning: no key"]
    assert cache.said() == {("unverified", "root"): "gen: warning: an entry ignored",
                            ("key", None): "gen: warning: no key"}


def test_interrupted_here_the_child_is_stopped_and_reaped() -> None:
    import time

    def work(items: Sequence[int]) -> list[int]:
        if os.getpid() != HERE:
            time.sleep(60)
        raise KeyboardInterrupt

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        forked.in_halves(list(range(4)), work, least=2)
    assert time.monotonic() - started < 30


def test_when_no_process_can_be_forked_it_is_one_piece_here(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", refused)
    fds = len(os.listdir("/proc/self/fd"))
    assert {pid for _, pid in forked.in_halves(list(range(9)), _pids, least=2)} == {HERE}
    assert len(os.listdir("/proc/self/fd")) == fds  # the pipe closed
