"""`gen diff`'s report: the chart's objects counted only where known on both sides, and its text, JSON and Markdown
(values in code spans that survive a table, long values cut, the whole cut before a comment's limit)."""

from __future__ import annotations

import json
from typing import Any

from generator.programs.applied import Applied, ChartSide
from generator.report import diff_report
from generator.report.diff_report import DiffReport, code, compare, markdown, text


def config_map(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "n"}, "data": data}


def side(*objects: dict[str, Any], chart: list[dict[str, Any]] | None = None, helm: bool = False,
         mode: str = "shared") -> Applied:
    charts = (ChartSide("network-operator", "25.4.0", {}, chart, "" if chart is not None else "not at hand"),) \
        if helm else ()
    return Applied("prod", (f"output/prod/overlays/{mode}",), "helm" if helm else "rendered", [], list(objects),
                   charts)


def report(*clusters: Any) -> DiffReport:
    return DiffReport("HEAD", "0123456789abcdef0123", "", list(clusters))


def test_the_chart_counts_only_where_it_is_rendered_on_both_sides() -> None:
    worker = config_map("worker", a="1")
    both = compare("prod", side(helm=True, chart=[worker]), side(helm=True, chart=[config_map("worker", a="2")]))
    assert [(o.change, o.key.name) for o in both.objects] == [("changed", "worker")] and both.notes == ()
    one = compare("prod", side(helm=True, chart=[worker]), side(helm=True, chart=None))
    assert one.objects == [] and one.status == "unchanged"
    assert one.notes == ("not at hand: the chart's objects are left out on both sides; its version and values are "
                         "compared, in the Application's Helm source",)


def test_text_says_no_changes_plainly_and_shows_multi_line_strings_as_a_diff() -> None:
    same = compare("prod", side(config_map("a", x="1")), side(config_map("a", x="1")))
    out = text(report(same))
    assert "prod (shared): no changes\n" in out and out.endswith("gen diff: no changes in what Argo CD applies for "
                                                                  "1 cluster(s)\n")
    lua = compare("prod", side(config_map("a", x="one\ntwo\nthree\n")), side(config_map("a", x="one\n2\nthree\n")))
    out = text(report(lua))
    assert "  ~ ConfigMap n/a\n      data.x:\n          @@ -1,3 +1,3 @@\n           one\n          -two\n" \
           "          +2\n           three\n" in out


def test_control_characters_never_reach_the_terminal_raw() -> None:
    change = compare("prod", side(config_map("a", x="1")), side(config_map("a", x="\x1b[31mred")))
    assert "\x1b" not in text(report(change)) and "\x1b" not in markdown(report(change))


def test_markdown_code_spans_survive_pipes_and_backticks_and_long_values_are_cut() -> None:
    assert code("a|b") == "`a\\|b`"
    assert code("x `y` z") == "``x `y` z``"
    assert code("`") == "`` ` ``"
    long = "v" * 500
    change = compare("prod", side(config_map("a", x="1")), side(config_map("a", x=long)))
    md = markdown(report(change))
    [row] = [line for line in md.splitlines() if line.startswith("| `data.x`")]
    assert "… (502 chars)`" in row and len(row) < 200


def test_markdown_lists_at_most_some_fields_per_object_and_says_so() -> None:
    many = {f"k{i}": str(i) for i in range(diff_report.MD_ROWS_MAX + 7)}
    change = compare("prod", side(config_map("a")), side(config_map("a", **many)))
    md = markdown(report(change))
    assert sum(1 for line in md.splitlines() if line.startswith("| `data.")) == diff_report.MD_ROWS_MAX
    assert "| … 7 more field(s) (`gen diff --format text` lists all) | | |" in md


def test_markdown_is_cut_before_a_comment_s_limit() -> None:
    clusters = [compare(f"c{i}", side(config_map("a")), side(config_map("a", **{f"k{j}": "v" * 60 for j in range(40)})))
                for i in range(40)]
    md = markdown(report(*clusters))
    assert len(md) <= diff_report.MD_MAX_CHARS + 200
    assert "… cut here: the comment would pass 60,000 characters; run `gen diff` for" in md


def test_json_carries_whole_values_and_leaves_absent_sides_out() -> None:
    change = compare("prod", side(config_map("a", x="1")), side(config_map("a", y="2"), config_map("b")))
    doc = json.loads(diff_report.as_json(report(change)))
    [cluster] = doc["clusters"]
    assert cluster["objects"] == [
        {"change": "changed", "group": "", "kind": "ConfigMap", "namespace": "n", "name": "a",
         "fields": [{"path": "data.y", "new": "2"}, {"path": "data.x", "old": "1"}]},
        {"change": "added", "group": "", "kind": "ConfigMap", "namespace": "n", "name": "b",
         "object": config_map("b")},
    ]
    assert doc["against"] == {"ref": "HEAD", "commit": "0123456789abcdef0123"} and doc["changed"] is True
