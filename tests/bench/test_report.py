"""The benchmark's report: targets judged from the measurements, and a plot that is well-formed SVG."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from typing import Any

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
import report


def _size(n: int, cold: float) -> dict[str, Any]:
    series = {"median_s": 0.5, "runs_s": [0.5], "max_rss_mb": 120.0, "exit_codes": [0]}
    return {"clusters": n, "files": 20 * n, "kustomize_builds": n, "cold": {**series, "median_s": cold},
            "warm": series, "check": series, "changed": series, "changed_first_s": 0.9, "lint": series,
            "lint_first_s": 2.0, "per_cluster_cold_s": cold / n, "max_rss_mb": 150.0}


def results() -> dict[str, Any]:
    return {"started": "now", "seconds": 1, "settings": {"runs": 3, "cold_runs": 1, "seed": 14, "sizes": [50, 500]},
            "machine": {"cpus": 2, "python": "3.11", "load_at_start": 1.0, "load_at_end": 1.0},
            "sizes": [_size(50, 5.0), _size(500, 55.0)],
            "floors": {"kustomize": {"median_s": 0.1, "what": "kubectl kustomize x"},
                       "helm": {"median_s": 0.05, "what": "helm template y"},
                       "policies": {"files": 500, "releases": 6, "gen_lint_median_s": 1.0,
                                    "check_jsonschema_median_s": 6.0, "check_jsonschema": "pinned"}},
            "lint_10k": {"median_s": 1.2, "first_s": 1.5},
            "fleet": {"clusters": 500, "modes": {}, "releases": {}, "vm_sizes": {}, "user_overlays": 0}}


def test_targets_are_judged_from_the_medians() -> None:
    judged = {t["target"]: t for t in report.targets(results())}
    assert judged["500 clusters: gen bundle --all, cold"]["met"] is True
    assert judged["cold cost per cluster, 500 vs 50 clusters"]["met"] is True  # 0.11 vs 0.10: ratio 1.1
    assert judged["gen lint vs check-jsonschema (500 NicClusterPolicy files)"]["measured"] == "6.00 x"
    slow = results()
    slow["sizes"][1]["cold"]["median_s"] = 75.0
    slow["sizes"][1]["per_cluster_cold_s"] = 0.15
    judged = {t["target"]: t for t in report.targets(slow)}
    assert judged["500 clusters: gen bundle --all, cold"]["met"] is False
    assert judged["cold cost per cluster, 500 vs 50 clusters"]["met"] is False


def test_without_500_clusters_the_targets_are_not_measured() -> None:
    quick = results()
    quick["sizes"] = quick["sizes"][:1]
    judged = {t["target"]: t for t in report.targets(quick)}
    assert judged["500 clusters: gen check"]["met"] is None
    assert judged["500 clusters: gen check"]["measured"] == "not measured"


def test_markdown_and_svg() -> None:
    data = results()
    data["targets"] = report.targets(data)
    text = report.markdown(data)
    assert "| 500 | 10000 | 500 | 55.0 s | 110 ms |" in text and "**missed**" not in text
    root = ET.fromstring(report.svg(data))
    assert root.tag.endswith("svg") and len([e for e in root.iter() if e.tag.endswith("polyline")]) == 5
