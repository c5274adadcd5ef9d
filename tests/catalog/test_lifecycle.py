"""Release lifecycle data (generator/catalog/lifecycle.yaml): complete, consistent with NVIDIA's policy, and the
current statuses as the newest release's notes give them."""

from __future__ import annotations

import datetime
import itertools

import pytest
import yaml

from generator import catalog

CAT = catalog.load()
RELEASES = list(CAT.releases.values())
RANK = {status: i for i, status in enumerate(catalog.STATUSES)}


def _previous_line(line: str) -> str:
    """v26.1 -> v25.10: the policy's quarterly cadence."""
    year, month = (int(p) for p in line.lstrip("v").split("."))
    return f"v{year - 1}.10" if month == 1 else f"v{year}.{month - 3}"


def test_every_release_has_an_entry_and_nothing_else() -> None:
    raw = yaml.safe_load((catalog.DATA_DIR / "lifecycle.yaml").read_text("utf-8"))
    assert list(raw["releases"]) == list(CAT.releases)
    assert set(raw["notesSources"]) == set(CAT.releases)


@pytest.mark.parametrize("release", RELEASES, ids=lambda r: r.tag)
def test_statuses_come_from_the_release_and_every_later_one(release: catalog.Release) -> None:
    later = [r.tag for r in RELEASES if r.key >= release.key]
    assert [s.per for s in release.lifecycle.statuses] == later
    assert release.status.per == CAT.newest.tag  # the current status: the newest release's notes


def test_release_lines_follow_the_quarterly_cadence() -> None:
    for older, newer in itertools.pairwise(RELEASES):
        assert _previous_line(newer.line) == older.line


@pytest.mark.parametrize("release", RELEASES, ids=lambda r: r.tag)
def test_statuses_follow_the_policy(release: catalog.Release) -> None:
    """At each release's notes: that release's line is latest, the previous line maintained, older end of life."""
    for status in release.lifecycle.statuses:
        notes = CAT.release(status.per)
        expected = ("latest" if notes.line == release.line else
                    "maintained" if _previous_line(notes.line) == release.line else "end-of-life")
        assert status.status == expected, f"{release.tag} per {status.per}"


@pytest.mark.parametrize("release", RELEASES, ids=lambda r: r.tag)
def test_a_status_never_improves_in_later_notes(release: catalog.Release) -> None:
    ranks = [RANK[s.status] for s in release.lifecycle.statuses]
    assert ranks == sorted(ranks)


@pytest.mark.parametrize("release", RELEASES, ids=lambda r: r.tag)
def test_upstream_words_and_basis(release: catalog.Release) -> None:
    for status in release.lifecycle.statuses:
        assert status.basis in ("documented", "policy")
        if status.basis == "documented":
            assert status.word in CAT.policy.words[status.status], f"{release.tag} per {status.per}"
        else:
            assert status.word == ""  # upstream's table did not say it: no word to quote


def test_exactly_one_latest_or_none_when_the_newest_is_maintained() -> None:
    latest = [r.tag for r in RELEASES if r.status.status == "latest"]
    if CAT.newest.status.status == "latest":
        assert latest == [CAT.newest.tag]
    else:
        assert CAT.newest.status.status == "maintained" and latest == []
    assert CAT.latest.tag == (latest or [CAT.newest.tag])[0]


def test_current_statuses_are_the_v26_4_notes() -> None:
    current = {r.tag: (r.status.status, r.status.word) for r in RELEASES}
    assert current == {
        "v25.1.0": ("end-of-life", "End of Support"),
        "v25.4.0": ("end-of-life", "End of Support"),
        "v25.7.0": ("end-of-life", "End of Support"),
        "v25.10.0": ("end-of-life", "End of Support"),
        "v26.1.2": ("maintained", "Deprecated"),
        "v26.4.1": ("latest", "Supported"),
    }
    since = {r.tag: s.per for r in RELEASES if (s := r.end_of_life_since)}
    assert since == {"v25.1.0": "v25.7.0", "v25.4.0": "v25.10.0", "v25.7.0": "v26.1.2", "v25.10.0": "v26.4.1"}


def test_dates_increase_with_versions() -> None:
    """Lines come out in version order; a patch release of an older line may follow a newer line (v26.1.2)."""
    lines = [datetime.date.fromisoformat(r.lifecycle.line_released) for r in RELEASES]
    assert lines == sorted(lines) and len(set(lines)) == len(lines)
    for release in RELEASES:
        assert datetime.date.fromisoformat(release.lifecycle.released) >= datetime.date.fromisoformat(
            release.lifecycle.line_released)
        if release.tag.endswith(".0"):
            assert release.lifecycle.released == release.lifecycle.line_released


@pytest.mark.parametrize("release", RELEASES, ids=lambda r: r.tag)
def test_kubernetes_range_doca_driver_and_breaking_changes(release: catalog.Release) -> None:
    low, high = release.lifecycle.kubernetes
    assert catalog.version_key(low) <= catalog.version_key(high)
    assert release.doca_driver == release.images["docaDriver"].version  # one source: releases.yaml
    assert release.lifecycle.doca_driver_lts and release.lifecycle.doca_driver_lts != release.doca_driver
    assert release.lifecycle.breaking and all("\n" not in line for line in release.lifecycle.breaking)


def test_kubernetes_ranges_never_go_back() -> None:
    for older, newer in itertools.pairwise(RELEASES):
        for low, high in zip(older.lifecycle.kubernetes, newer.lifecycle.kubernetes, strict=True):
            assert catalog.version_key(low) <= catalog.version_key(high), f"{older.tag} -> {newer.tag}"


def test_policy_and_the_newer_upstream_line() -> None:
    assert CAT.policy.upgrades_since in CAT.releases
    assert set(CAT.policy.words) == set(catalog.STATUSES)
    newer = CAT.newer_upstream
    assert newer is not None and newer.source.startswith("https://")
    assert _previous_line(newer.line) == CAT.newest.line  # the next line, which the catalog does not hold
    assert not any(r.line == newer.line for r in RELEASES)
