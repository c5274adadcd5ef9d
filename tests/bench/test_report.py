"""The benchmark's report: targets judged from the measurements, and a plot that is well-formed SVG."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from typing import Any

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
import report


def _series(median: float) -> dict[str, Any]:
    return {"median_s": median, "runs_s": [median], "spread_s": 0.0, "max_rss_mb": 120.0, "exit_codes": [0]}


def _size(n: int, cold: float) -> dict[str, Any]:
    return {"clusters": n, "files": 20 * n, "kustomize_builds": 300, "lint_builds": 400, "cold": _series(cold),
            "warm": _series(0.5), "check": _series(0.4), "changed": _series(0.3), "changed_first_s": 0.9,
            "lint": _series(1.5), "lint_after_bundle": _series(2.0), "lint_empty": _series(25.0),
            "lint_changed": _series(1.0),
            "per_cluster_cold_s": cold / n, "max_rss_mb": 150.0, "load": [1.0, 1.0, 1.0]}


def results() -> dict[str, Any]:
    return {"started": "now", "seconds": 1, "settings": {"runs": 3, "cold_runs": 3, "seed": 14, "sizes": [500, 1000]},
            "machine": {"cpus": 2, "python": "3.11", "load_at_start": 1.0, "load_at_end": 1.0},
            "sizes": [_size(500, 18.0), _size(1000, 35.0)],
            "floors": {"kustomize": {"median_s": 0.1, "what": "kubectl kustomize x"},
                       "helm": {"median_s": 0.05, "what": "helm template y"},
                       "policies": {"files": 500, "releases": 6, "gen_lint_median_s": 1.0,
                                    "check_jsonschema_median_s": 6.0, "check_jsonschema": "pinned",
                                    "ratios": [6.0, 5.5, 6.2, 5.1, 6.0]}},
            "lint_10k": {"median_s": 1.2, "first_s": 1.5},
            "fleet": {"clusters": 1000, "modes": {}, "releases": {}, "vm_sizes": {}, "user_overlays": 0}}


def _judged(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["target"]: t for t in report.targets(data)}


def test_targets_are_judged_from_the_medians() -> None:
    judged = _judged(results())
    cold = judged["500 clusters: cold gen bundle --all, against the kustomize floor"]
    assert cold["met"] is True and cold["measured"] == "1.20 x"  # 18 s against 300 x 0.1 s / 2 cores
    assert judged["500 clusters: gen lint output/, empty cache, against the kustomize floor"]["met"] is True
    assert judged["500 clusters: gen check, one spec changed"]["met"] is True
    assert judged["500 clusters: gen lint output/ after one spec changed and gen bundle --all"]["met"] is True
    assert judged["cold cost per cluster, 1000 vs 500 clusters"]["met"] is True  # 35 ms vs 36 ms
    assert judged["1000 clusters: peak memory"]["met"] is True
    worst = next(t for name, t in judged.items() if name.startswith("gen lint vs check-jsonschema"))
    assert worst["measured"] == "5.10 x" and worst["met"] is True
    slow = results()
    slow["sizes"][0]["cold"]["median_s"] = 20.0
    slow["sizes"][0]["changed"]["median_s"] = 0.6
    slow["sizes"][1]["per_cluster_cold_s"] = 0.04  # more per cluster at 1,000 than at 500 (0.036)
    slow["floors"]["policies"]["ratios"][3] = 4.9  # one run of five under 5x: missed
    judged = _judged(slow)
    assert judged["500 clusters: cold gen bundle --all, against the kustomize floor"]["met"] is False
    assert judged["500 clusters: gen check, one spec changed"]["met"] is False
    assert judged["cold cost per cluster, 1000 vs 500 clusters"]["met"] is False
    assert next(t for n, t in judged.items() if n.startswith("gen lint vs check-jsonschema"))["met"] is False


def test_without_500_clusters_the_targets_are_not_measured() -> None:
    quick = results()
    quick["sizes"] = [_size(50, 5.0)]
    judged = _judged(quick)
    assert judged["500 clusters: gen check"]["met"] is None
    assert judged["500 clusters: gen check"]["measured"] == "not measured"


def test_markdown_and_svg() -> None:
    data = results()
    data["targets"] = report.targets(data)
    text = report.markdown(data)
    assert "| 500 | 10000 | 300 | 18.00 s (±0.00) | 36 ms |" in text and "**missed**" not in text
    root = ET.fromstring(report.svg(data))
    assert root.tag.endswith("svg") and len([e for e in root.iter() if e.tag.endswith("polyline")]) == 5
