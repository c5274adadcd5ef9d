"""`gen releases`: the text form (golden file), the JSON form (its documented schema and content), and
`gen catalog releases` agreeing with it.

Regenerate the golden file after an intended change with ``GEN_UPDATE_GOLDEN=1 pytest tests/cli/test_releases.py``
and review the diff."""

from __future__ import annotations

import json
import os
import re
from typing import Any

from generator import catalog
from generator.cli import releases
from generator.cluster.model import MODES
from tests.conftest import REPO
from tests.helpers import run_gen

GOLDEN = REPO / "tests" / "cli" / "golden" / "releases.txt"
CAT = catalog.load()
RELEASE_KEYS = {"tag", "chart", "default", "released", "lineReleased", "status", "endOfLifeSince", "statusHistory",
                "kubernetes", "nodePlatforms", "docaDriver", "modes", "ipoibIpam", "images", "breaking"}
STATUS_KEYS = {"status", "word", "basis", "per"}
CHART_IMAGES = {"networkOperator", "operatorInitContainer", "nodeFeatureDiscovery"}


def test_text_matches_the_golden_file() -> None:
    out = run_gen("releases", check=True).out
    if os.environ.get("GEN_UPDATE_GOLDEN"):
        GOLDEN.write_text(out)
    assert out == GOLDEN.read_text(), "gen releases changed; rerun with GEN_UPDATE_GOLDEN=1 and review the diff"
    assert out == "\n".join(releases.text(CAT)) + "\n"  # the same in-process: no environment in it


def test_text_says_what_the_catalog_does_not_hold() -> None:
    out = "\n".join(releases.text(CAT))
    assert "newer upstream release v26.7 is not in this catalog yet" in out
    assert re.search(r"^v26\.4\.1  \(default\)$", out, flags=re.M)  # the newest supported release
    block = out.split("\nv26.1.2\n")[1].split("\n\n")[0]
    assert "  status         maintained ('Deprecated', v26.4.1 notes)" in block
    assert "  released       2026-08-11 (line v26.1: 2026-02-22)" in block


def _json() -> dict[str, Any]:
    proc = run_gen("releases", "--format", "json", check=True)
    return json.loads(proc.out)  # type: ignore[no-any-return]


def test_json_schema() -> None:
    data = _json()
    assert set(data) == {"releases", "asOf", "policy", "newerUpstream", "gpuOperator"}
    assert data["asOf"] == "v26.4.1"
    assert set(data["policy"]) == {"cadence", "support", "upgrades", "upgradesSince"}
    assert data["newerUpstream"]["line"] == "v26.7"
    assert [r["tag"] for r in data["releases"]] == list(CAT.releases)
    for rel in data["releases"]:
        assert set(rel) == RELEASE_KEYS
        since = [rel["endOfLifeSince"]] if rel["endOfLifeSince"] else []
        for status in [rel["status"], *rel["statusHistory"], *since]:
            assert set(status) == STATUS_KEYS
            assert status["status"] in catalog.STATUSES and status["basis"] in ("documented", "policy")
        assert set(rel["kubernetes"]) == {"min", "max"} and set(rel["docaDriver"]) == {"version", "lts", "images"}
        for image in rel["images"].values():
            assert set(image) == {"image", "version"} and image["image"] and image["version"]


def test_json_content() -> None:
    for rel in _json()["releases"]:
        release = CAT.release(rel["tag"])
        assert rel["chart"] == release.chart_version
        assert rel["default"] == (release.tag == CAT.default_release)
        assert rel["status"]["status"] == release.status.status and rel["status"]["per"] == "v26.4.1"
        assert (rel["endOfLifeSince"] is None) == (release.status.status != "end-of-life")
        assert rel["docaDriver"]["version"] == release.images["docaDriver"].version
        driver = release.images["docaDriver"].version
        assert rel["docaDriver"]["images"]["ubuntu24.04-amd64"] == f"{driver}-ubuntu24.04-amd64"
        # the Arm64 GB200/GB300 pools' driver image exists for every release, but builds on AKS from v26.1.2 only
        assert ("ubuntu24.04-arm64" in rel["nodePlatforms"]) == (release.key >= (26, 1, 2))
        assert not [p for p in rel["nodePlatforms"] if p.startswith("azurelinux")]
        assert rel["modes"] == list(MODES)
        assert rel["ipoibIpam"] == (["whereabouts", "nv-ipam"] if release.key <= (25, 7, 0) else ["nv-ipam"])
        assert set(rel["images"]) == CHART_IMAGES | set(release.images)
        for name, image in release.images.items():
            assert rel["images"][name] == {"image": f"{image.repository}/{image.image}", "version": image.version}
        operator = rel["images"]["networkOperator"]
        assert operator == {"image": "nvcr.io/nvidia/cloud-native/network-operator", "version": release.tag}
        assert not any("nvstaging" in image["image"] for image in rel["images"].values())
        assert rel["breaking"] == list(release.lifecycle.breaking)


def test_catalog_releases_is_the_short_form_with_the_same_status() -> None:
    """One line per release (the docs promise the short form; gen releases has the images)."""
    out = run_gen("catalog", "releases", check=True).out
    lines = out.splitlines()
    assert "gen releases has the long form" in lines[0] and lines[1].split() == [
        "release", "chart", "status", "released", "kubernetes", "ipoib", "ipam"]
    assert len(lines) == 2 + len(CAT.releases)
    for release in CAT.releases.values():
        assert re.search(rf"^  {re.escape(release.tag)}\s+{re.escape(release.chart_version)}\s+"
                         rf"{release.status.status}\s+{release.lifecycle.released} ", out, flags=re.M), release.tag
    assert "nvcr.io" not in out and "(default)" in lines[2 + CAT.release_tags.index(CAT.default_release)]
