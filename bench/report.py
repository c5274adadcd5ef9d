"""The benchmark's report: the targets of issue 25 against the measurements, a Markdown table, and an SVG plot of time
against fleet size (drawn here: no plotting library)."""

from __future__ import annotations

import math
from typing import Any

TARGET_SIZE = 500
SERIES = (  # (key in a size's results, label, colour)
    ("cold", "gen bundle --all, cold", "#d62728"),
    ("warm", "gen bundle --all, warm", "#1f77b4"),
    ("check", "gen check", "#2ca02c"),
    ("changed", "gen check, one spec changed", "#9467bd"),
    ("lint", "gen lint output/", "#ff7f0e"),
)


def _size(results: dict[str, Any], n: int) -> dict[str, Any] | None:
    return next((s for s in results["sizes"] if s["clusters"] == n), None)


def _target(name: str, limit: str, measured: float | None, ok: bool | None, unit: str = "s") -> dict[str, Any]:
    shown = "not measured" if measured is None else f"{measured:.2f} {unit}".strip()
    return {"target": name, "limit": limit, "measured": shown, "met": ok}


def _floor(results: dict[str, Any], builds: int | None) -> float | None:
    """The two-core kustomize floor of ``builds`` distinct builds: builds x one build's median / 2."""
    one = results.get("floors", {}).get("kustomize", {}).get("median_s")
    return None if one is None or not builds else builds * one / 2


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 25's targets (the 500-cluster fleet, medians) against the measurements."""
    out = []
    at = _size(results, TARGET_SIZE)

    def med(key: str) -> float | None:
        return at[key]["median_s"] if at and key in at else None

    for key, label, limit in (("warm", "gen bundle --all, warm", 3.0), ("check", "gen check", 3.0),
                              ("changed", "gen check, one spec changed", 0.5),
                              ("lint_after_bundle", "gen lint output/ right after a cold gen bundle --all", 3.0),
                              ("lint_changed", "gen lint output/ after one spec changed and gen bundle --all", 3.0)):
        value = med(key)
        out.append(_target(f"{TARGET_SIZE} clusters: {label}", f"< {limit:g} s", value,
                           None if value is None else value < limit))
    for key, builds, label in (("cold", "kustomize_builds", "cold gen bundle --all"),
                               ("lint_empty", "lint_builds", "gen lint output/, empty cache")):
        value, floor = med(key), _floor(results, at.get(builds) if at else None)
        ratio = None if value is None or floor is None else value / floor
        count = at.get(builds) if at else None
        limit = f"<= 1.3x the two-core floor of its {count} distinct builds" + (f" ({floor:.1f} s)" if floor else "")
        out.append(_target(f"{TARGET_SIZE} clusters: {label}, against the kustomize floor", limit, ratio,
                           None if ratio is None else ratio <= 1.3, "x"))
    largest = max(results["sizes"], key=lambda s: s["clusters"])
    memory = largest["max_rss_mb"]
    out.append(_target(f"{largest['clusters']} clusters: peak memory", "< 400 MB", memory, memory < 400, "MB"))
    if at is not None and largest is not at:
        ratio = largest["per_cluster_cold_s"] / at["per_cluster_cold_s"]
        out.append(_target(f"cold cost per cluster, {largest['clusters']} vs {TARGET_SIZE} clusters", "ratio <= 1",
                           ratio, ratio <= 1, ""))
    else:
        out.append(_target(f"cold cost per cluster, 1000 vs {TARGET_SIZE} clusters", "ratio <= 1", None, None))
    lint = results.get("lint_10k", {}).get("median_s")
    out.append(_target("gen lint, 10,000 objects", "< 3 s", lint, None if lint is None else lint < 3))
    pol = results.get("floors", {}).get("policies", {})
    if pol.get("ratios"):
        worst = min(pol["ratios"])
        out.append(_target(f"gen lint vs check-jsonschema ({pol['files']} NicClusterPolicy files), worst of "
                           f"{len(pol['ratios'])} runs", ">= 5x in every run", worst, worst >= 5, "x"))
    else:
        out.append(_target("gen lint vs check-jsonschema", ">= 5x in every run", None, None))
    return out


def _mark(ok: bool | None) -> str:
    return "n/a" if ok is None else "met" if ok else "**missed**"


def markdown(results: dict[str, Any]) -> str:
    s = results["settings"]
    m = results["machine"]
    lines = [
        f"Measured {results['started']} on {m['cpus']} CPUs (Python {m['python']}), load average "
        f"{m['load_at_start']} at start and {m['load_at_end']} at end (the machine is shared); medians of "
        f"{s['runs']} runs ({s['cold_runs']} cold), fleet seed {s['seed']}; {results['seconds']} s in all.",
        "",
        "| clusters | files | kustomize builds | cold (spread) | per cluster | warm | gen check | check, one changed "
        "(first) | gen lint right after cold bundle | gen lint, empty cache | gen lint again | gen lint, one spec "
        "changed | load (1, 5, 15 min) | peak memory |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for size in results["sizes"]:
        def shown(key: str, size: dict[str, Any] = size) -> str:
            got = size.get(key)
            return f"{got['median_s']:.2f} s (±{got.get('spread_s', 0) / 2:.2f})" if got else "-"

        lines.append(
            f"| {size['clusters']} | {size['files']} | {size['kustomize_builds']} | {shown('cold')} | "
            f"{size['per_cluster_cold_s'] * 1000:.0f} ms | {shown('warm')} | {shown('check')} | {shown('changed')} "
            f"({size['changed_first_s']:.2f} s) | {shown('lint_after_bundle')} | {shown('lint_empty')} | "
            f"{shown('lint')} | {shown('lint_changed')} | {', '.join(f'{x:.1f}' for x in size.get('load', []))} | "
            f"{size['max_rss_mb']:.0f} MB |")
    f = results["floors"]
    pol = f["policies"]
    cjs = pol["check_jsonschema_median_s"]
    largest = max(results["sizes"], key=lambda x: x["clusters"])
    per_cluster = largest["per_cluster_cold_s"]
    lines += [
        "",
        "Floors, on the same inputs (medians):",
        "",
        "| what | time | ratio |",
        "| --- | ---: | --- |",
        f"| one `{f['kustomize']['what']}` | {f['kustomize']['median_s'] * 1000:.0f} ms | cold gen bundle costs "
        f"{per_cluster / f['kustomize']['median_s']:.1f} kustomize calls per cluster at {largest['clusters']} |",
        *([f"| one `{f['kustomize_plain']['what']}` | {f['kustomize_plain']['median_s'] * 1000:.0f} ms | the floor "
           "were kustomize run as a shell runs it |"] if "kustomize_plain" in f else []),
        f"| one `{f['helm']['what']}` | {f['helm']['median_s'] * 1000:.0f} ms | |",
        f"| gen lint, {pol['files']} NicClusterPolicy files (one call: each file against its cluster's release) | "
        f"{pol['gen_lint_median_s']:.2f} s | runs {', '.join(f'{x:.2f}' for x in pol.get('gen_lint_runs_s', []))} |",
        f"| check-jsonschema, the same files ({pol['releases']} calls, one schema each; {pol['check_jsonschema']}) | "
        + (f"{cjs:.2f} s | gen lint is {cjs / pol['gen_lint_median_s']:.1f}x faster (runs: "
           f"{', '.join(f'{x:.1f}x' for x in pol.get('ratios', []))}) |" if cjs else "not measured | |"),
        f"| gen lint, 10,000 objects in 100 files (bench/lint_bench.py corpus) | "
        f"{results['lint_10k']['median_s']:.2f} s | first run {results['lint_10k']['first_s']:.2f} s |",
        "",
        "| target | limit | measured | |",
        "| --- | --- | ---: | --- |",
    ]
    lines += [f"| {t['target']} | {t['limit']} | {t['measured']} | {_mark(t['met'])} |" for t in results["targets"]]
    fleet = results["fleet"]
    lines += ["", f"Fleet of {fleet['clusters']} (bench/fleet.py): modes {fleet['modes']}; releases "
              f"{fleet['releases']}; VM sizes {fleet['vm_sizes']}; {fleet['user_overlays']} with a user overlay.", ""]
    return "\n".join(lines)


def svg(results: dict[str, Any], width: int = 720, height: int = 420) -> str:
    """Time (log) against fleet size (log), one line per measurement."""
    left, right, top, bottom = 70, 230, 30, 50
    sizes = [s["clusters"] for s in results["sizes"]]
    values = [s[k]["median_s"] for s in results["sizes"] for k, _, _ in SERIES if k in s]
    x0, x1 = math.log10(min([*sizes, 10])), math.log10(max([*sizes, 1000]))
    y0 = math.floor(math.log10(max(min(values), 1e-3)))
    y1 = math.ceil(math.log10(max(values)))
    y1 = y1 if y1 > y0 else y0 + 1

    def px(n: float) -> float:
        return left + (math.log10(n) - x0) / (x1 - x0) * (width - left - right)

    def py(t: float) -> float:
        return height - bottom - (math.log10(max(t, 10 ** y0)) - y0) / (y1 - y0) * (height - top - bottom)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="18" font-size="14">Time against fleet size (medians; log scales)</text>']
    for n in (10, 20, 50, 100, 200, 500, 1000):
        if 10 ** x0 <= n <= 10 ** x1:
            out.append(f'<line x1="{px(n):.1f}" y1="{top}" x2="{px(n):.1f}" y2="{height - bottom}" stroke="#ddd"/>')
            out.append(f'<text x="{px(n):.1f}" y="{height - bottom + 16}" text-anchor="middle">{n}</text>')
    for e in range(y0, y1 + 1):
        for m in (1, 3):
            t = m * 10 ** e
            if t > 10 ** y1:
                continue
            label = f"{t:g} s"
            out.append(f'<line x1="{left}" y1="{py(t):.1f}" x2="{width - right}" y2="{py(t):.1f}" stroke="#ddd"/>')
            out.append(f'<text x="{left - 6}" y="{py(t) + 4:.1f}" text-anchor="end">{label}</text>')
    out.append(f'<text x="{(left + width - right) / 2:.0f}" y="{height - 12}" text-anchor="middle">clusters</text>')
    for i, (key, label, colour) in enumerate(SERIES):
        points = [(s["clusters"], s[key]["median_s"]) for s in results["sizes"] if key in s]
        if not points:
            continue
        path = " ".join(f"{px(n):.1f},{py(t):.1f}" for n, t in points)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        out += [f'<circle cx="{px(n):.1f}" cy="{py(t):.1f}" r="3" fill="{colour}"/>' for n, t in points]
        ly = top + 10 + i * 18
        out.append(f'<line x1="{width - right + 12}" y1="{ly}" x2="{width - right + 32}" y2="{ly}" '
                   f'stroke="{colour}" stroke-width="2"/>')
        out.append(f'<text x="{width - right + 38}" y="{ly + 4}">{label}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
