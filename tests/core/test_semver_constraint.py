"""Flux's tag ranges (GitRepository spec.ref.semver), parsed as source-controller parses them (Masterminds/semver v3
NewConstraint): the forms its docs show are accepted, what it refuses is refused before a commit."""

from __future__ import annotations

import pytest

from generator.core.formats import semver_constraint_error


@pytest.mark.parametrize("text", [
    ">=1.0.0 <2.0.0", ">= 1.2, < 2", "~1.2", "~>1.2.3", "^1.0", "1.2.x", "1.x", "*", "1.0 - 1.4", "v1.2.3-rc.1+build.5",
    ">=1.0, <2 || 3.x", "!=1.2.3", "=<1.4", "1.2.3",
    "1.0\n",  # Go's \s takes the newline before $ (the spec's schema refuses control characters before this)
])
def test_masterminds_accepts(text: str) -> None:
    assert semver_constraint_error(text) is None


@pytest.mark.parametrize("text", [
    ">=1.0 <", "latest", "", "1.0 -", ">=1.0,,<2", "1.2.3.4", "main", ">=1.0 ||", "=>>1.0",
])
def test_masterminds_refuses(text: str) -> None:
    found = semver_constraint_error(text)
    assert found is not None and found.startswith("improper constraint")


@pytest.mark.parametrize("text", ["1   " * 63 + "!", "1 , " * 63 + "!", "1" + " " * 250 + "!", "1-" + "-" * 250 + "!",
                                  "1+" + "a." * 120 + "!", ("1 - 2 " * 40) + "!", "1" + "||1" * 80 + "!"])
def test_hostile_ranges_end(text: str) -> None:
    """Inputs that make a backtracking engine run validConstraintRegex for ever ("1   " repeated) are read in one
    pass (Go's regexp is linear; so is this), and refused. A hang fails the test instead of stalling the suite."""
    import signal

    def stop(*_: object) -> None:
        raise TimeoutError(text[:20])

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(10)
    try:
        assert semver_constraint_error(text) is not None
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
