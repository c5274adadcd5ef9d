from __future__ import annotations

import multiprocessing as mp
import time
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest

from generator.write import LockTimeout, apply, gen_lock
from tests.write.conftest import bundle


def hold_lock(repo: Path, locked: Event, release: Event) -> None:
    with gen_lock(repo):
        locked.set()
        release.wait(10)


def apply_in_child(repo: Path, timeout: float, result: mp.Queue) -> None:  # type: ignore[type-arg]
    try:
        apply(repo, [bundle("prod", {"a.yaml": "a\n"})], lock_timeout=timeout)
        result.put("ok")
    except LockTimeout as e:
        result.put(f"timeout: {e}")


def test_second_run_times_out_while_first_holds_lock(repo: Path) -> None:
    ctx = mp.get_context("fork")
    locked, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=hold_lock, args=(repo, locked, release))
    holder.start()
    try:
        assert locked.wait(10)
        t = time.monotonic()
        with pytest.raises(LockTimeout) as e:
            apply(repo, [bundle("prod", {"a.yaml": "a\n"})], lock_timeout=0.3)
        assert 0.3 <= time.monotonic() - t < 3
        assert f"another gen run holds output/.gen.lock (pid {holder.pid})" in str(e.value)
        assert not (repo / "output/prod").exists()

        # a waiter with a longer timeout gets the lock once the holder is done
        result: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
        waiter = ctx.Process(target=apply_in_child, args=(repo, 10.0, result))
        waiter.start()
        time.sleep(0.2)
        release.set()
        assert result.get(timeout=10) == "ok"
        waiter.join(10)
    finally:
        release.set()
        holder.join(10)
    assert (repo / "output/prod/a.yaml").read_text() == "a\n"
    assert (repo / "output/.gen.lock").read_text().strip() == str(waiter.pid)
