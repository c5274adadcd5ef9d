"""The progress bar shows on a terminal only (never in CI or into a file or pipe), after a moment, and leaves
nothing behind; `gen bundle` and `gen check` end with a summary line."""

from __future__ import annotations

import io
import re
from pathlib import Path

from generator.cli.bundle import summary_line
from generator.core import progress
from tests.conftest import write_spec
from tests.helpers import run_gen


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_wanted_only_on_a_terminal_outside_ci() -> None:
    assert progress.wanted(Tty(), {}) is True
    assert progress.wanted(Tty(), {"CI": "true"}) is False
    assert progress.wanted(Tty(), {"CI": "1"}) is False
    assert progress.wanted(Tty(), {"CI": "false"}) is True
    assert progress.wanted(Tty(), {"TERM": "dumb"}) is False
    assert progress.wanted(io.StringIO(), {}) is False  # a file or a pipe
    closed = io.StringIO()
    closed.close()
    assert progress.wanted(closed, {}) is False  # isatty() raises on a closed stream


def test_the_bar_waits_a_moment_redraws_in_place_and_is_erased() -> None:
    stream, clock = Tty(), Clock()
    bar = progress.Progress(stream, True, clock)
    bar.phase("kustomize builds", 4)
    bar.advance()
    assert stream.getvalue() == ""  # a short run shows nothing
    clock.now = 1.0
    bar.advance()
    assert stream.getvalue().endswith("[###############---------------] 2/4 kustomize builds (1 s)")
    bar.advance()  # too soon to redraw
    assert "3/4" not in stream.getvalue()
    bar.advance()  # the last one is always drawn
    assert stream.getvalue().endswith("4/4 kustomize builds (1 s)")
    bar.done()
    assert stream.getvalue().endswith("\r\x1b[2K") and "\n" not in stream.getvalue()


def test_a_disabled_bar_writes_nothing() -> None:
    stream, clock = Tty(), Clock()
    bar = progress.Progress(stream, False, clock)
    clock.now = 5.0
    bar.phase("clusters checked", 3)
    bar.advance(3)
    bar.done()
    assert stream.getvalue() == ""
    progress.QUIET.phase("x", 1)
    progress.QUIET.advance()
    progress.QUIET.done()


def test_summary_line() -> None:
    assert summary_line("gen bundle", 500, 12, 10488, 4.25) == \
        "gen bundle: 500 clusters, 12 files written, 10,488 unchanged, 4.2 s"
    assert summary_line("gen bundle", 1, 1, 0, 0.04) == "gen bundle: 1 cluster, 1 file written, 0 unchanged, 0.0 s"


def test_gen_bundle_and_check_say_what_they_did_and_no_bar_without_a_terminal(gitops_repo: Path) -> None:
    write_spec(gitops_repo, name="a")
    write_spec(gitops_repo, name="b", mode="ipoib")
    first = run_gen("bundle", "--all", repo=gitops_repo, check=True)
    line = first.out.splitlines()[-1]
    assert re.fullmatch(r"gen bundle: 2 clusters, (\d+) files written, 0 unchanged, \d+\.\d s", line), line
    written = int(line.split(", ")[1].split()[0])
    again = run_gen("bundle", "--all", repo=gitops_repo, check=True)
    assert re.fullmatch(rf"gen bundle: 2 clusters, 0 files written, {written} unchanged, \d+\.\d s",
                        again.out.splitlines()[-1])
    check = run_gen("check", repo=gitops_repo, check=True)
    assert re.fullmatch(rf"gen check: output/ is up to date with 2 cluster spec\(s\) \({written} files, \d+\.\d s\)",
                        check.out.strip())
    for proc in (first, again, check):
        assert "\r" not in proc.err and "[#" not in proc.err
