"""``gen diff``: what changes in what Argo CD applies for each cluster, and its text, JSON and Markdown forms.

Pure: the two sides (``generator.programs.applied.Applied``, built by the command) go in, a report comes out.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from generator.core.errors import printable
from generator.programs.applied import Applied, chart_objects
from generator.report.object_diff import ABSENT, FORMAT_NOTE, ORDER_NOTE, FieldChange, ObjectChange, count, diff_objects
from generator.yamlio.dump import dump_document

NOW = "the working tree"


@dataclass(frozen=True)
class ClusterDiff:
    name: str
    before: Applied | None  # None: not at the commit
    after: Applied | None  # None: no spec in the working tree
    objects: list[ObjectChange]
    notes: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        if self.before is None:
            return "added"
        if self.after is None:
            return "removed"
        return "changed" if self.objects else "unchanged"

    def heading(self, arrow: str = "→") -> str:
        """``prod (shared)``, ``prod (sriov → shared)``, ``prod (added: shared)``."""
        before = self.before.modes if self.before else None
        after = self.after.modes if self.after else None
        if before is None:
            return f"{self.name} (added: {after})"
        if after is None:
            return f"{self.name} (removed: was {before})"
        return f"{self.name} ({before})" if before == after else f"{self.name} ({before} {arrow} {after})"

    def summary(self) -> str:
        if not self.objects:
            return "no changes"
        counted = count(self.objects)
        return ", ".join(f"{n} object(s) {kind}" for kind, n in counted.items() if n)


@dataclass(frozen=True)
class DiffReport:
    ref: str  # "HEAD", "v1.2", "the merge base of HEAD and main"
    commit: str
    why: str  # why that ref when it was not given ("HEAD is on the default branch main")
    clusters: list[ClusterDiff]

    @property
    def against(self) -> str:
        """``HEAD (0123456789ab; HEAD is on the default branch main)``."""
        return f"{self.ref} ({self.commit[:12]}{'; ' + self.why if self.why else ''})"


def compare(name: str, before: Applied | None, after: Applied | None) -> ClusterDiff:
    """Every object that differs between what Argo CD applies for ``name`` at the commit and from the working tree.
    The chart's render counts where it is known on both sides; where it is not, its objects are left out on both
    sides (a note says so) and its version and values are still compared, in the Application's Helm source."""
    notes: list[str] = []
    charts = {side: chart_objects(app) if app else [] for side, app in (("before", before), ("after", after))}
    if charts["before"] is None or charts["after"] is None:
        why = dict.fromkeys(c.why_not for app in (before, after) for c in (app.charts if app else ())
                            if c.objects is None)
        notes.append(f"{'; '.join(why)}: the chart's objects are left out on both sides; its version and values "
                     "are compared, in the Application's Helm source")
        if before and after and before.delivery != after.delivery:
            notes.append(f"delivery changes from {before.delivery} to {after.delivery}: the chart's objects counted "
                         "on the rendered side only")
        charts = {"before": [], "after": []}

    def objects(app: Applied | None, chart: list[Any] | None) -> list[Any]:
        return [*app.argocd, *app.overlay, *(chart or [])] if app else []

    changes = diff_objects(objects(before, charts["before"]), objects(after, charts["after"]))
    return ClusterDiff(name, before, after, changes, tuple(notes))


# -- values, shown

ABSENT_TEXT = "(absent)"
INLINE_MAX = 100


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def inline(value: Any) -> str:
    """A value on one line: JSON (strings quoted, so ``"63"`` and ``63`` differ), ``(absent)``."""
    return ABSENT_TEXT if value is ABSENT else printable(_json(value))


def _lines(value: Any) -> list[str]:
    if value is ABSENT:
        return []
    if isinstance(value, str):
        return value.splitlines() or [""]
    return dump_document(value).decode().splitlines()


def _short(value: Any) -> bool:
    """Whether a value fits on the field's line."""
    if value is ABSENT:
        return True
    if isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, dict | list) for v in value)):
        return not value
    if isinstance(value, str) and "\n" in value:
        return False
    return len(inline(value)) <= INLINE_MAX


def _note(change: FieldChange) -> str:
    return {ORDER_NOTE: " (order of the items)", FORMAT_NOTE: f" ({FORMAT_NOTE})"}.get(change.note, "")


# -- text

TEXT_MAX_LINES = 200
MARKS = {"added": "+", "removed": "-", "changed": "~"}


def _field_text(change: FieldChange) -> list[str]:
    path = printable(change.shown) + _note(change)
    if _short(change.old) and _short(change.new):
        return [f"      {path}: {inline(change.old)} → {inline(change.new)}"]
    old, new = _lines(change.old), _lines(change.new)
    if isinstance(change.old, str) and isinstance(change.new, str):
        body = [line.rstrip("\n") for line in difflib.unified_diff(old, new, lineterm="", n=2)][2:]
    else:
        body = [f"- {line}" for line in old] + [f"+ {line}" for line in new]
    head = f"      {path}:"
    if change.old is ABSENT or change.new is ABSENT:
        head += " (absent before)" if change.old is ABSENT else " (absent now)"
    shown = [f"          {printable(line)}" for line in body[:TEXT_MAX_LINES]]
    if len(body) > TEXT_MAX_LINES:
        shown.append(f"          … {len(body) - TEXT_MAX_LINES} more line(s) (--format json has them all)")
    return [head, *shown]


def text(report: DiffReport) -> str:
    """Like ``kubectl diff``, by object and field: ``~`` changed, ``+`` added, ``-`` removed."""
    out = [f"gen diff: {NOW} against {printable(report.against)}"]
    for cluster in report.clusters:
        out.append("")
        out.append(f"{printable(cluster.heading())}: {cluster.summary()}")
        out += [f"  note: {printable(note)}" for note in cluster.notes]
        for change in cluster.objects:
            out.append(f"  {MARKS[change.change]} {printable(change.key.label())}")
            for field in change.fields:
                out += _field_text(field)
    out.append("")
    out.append(f"gen diff: {_total(report)}")
    return "\n".join(out) + "\n"


def _total(report: DiffReport) -> str:
    changed = [c for c in report.clusters if c.status != "unchanged"]
    if not changed:
        return f"no changes in what Argo CD applies for {len(report.clusters)} cluster(s)"
    counted = count([o for c in report.clusters for o in c.objects])
    objects = ", ".join(f"{n} object(s) {kind}" for kind, n in counted.items() if n)
    return f"{len(changed)} of {len(report.clusters)} cluster(s) change: {objects}"


# -- JSON

def _field_json(change: FieldChange) -> dict[str, Any]:
    out: dict[str, Any] = {"path": change.shown}
    if change.old is not ABSENT:
        out["old"] = change.old
    if change.new is not ABSENT:
        out["new"] = change.new
    if change.note:
        out["note"] = change.note
    return out


def _side_json(app: Applied | None) -> dict[str, Any] | None:
    if app is None:
        return None
    return {"overlays": list(app.overlays), "delivery": app.delivery,
            "charts": [{"name": c.name, "version": c.version, "rendered": c.objects is not None}
                       for c in app.charts]}


def _object_json(change: ObjectChange) -> dict[str, Any]:
    key = change.key
    out: dict[str, Any] = {"change": change.change, "group": key.group, "kind": key.kind,
                           "namespace": key.namespace, "name": key.name}
    if change.change == "changed":
        out["fields"] = [_field_json(f) for f in change.fields]
    else:
        out["object"] = change.new if change.change == "added" else change.old
    return out


def as_json(report: DiffReport) -> str:
    clusters = [{"name": c.name, "status": c.status, "before": _side_json(c.before), "after": _side_json(c.after),
                 "counts": count(c.objects), "notes": list(c.notes), "objects": [_object_json(o) for o in c.objects]}
                for c in report.clusters]
    doc = {"against": {"ref": report.ref, "commit": report.commit, **({"why": report.why} if report.why else {})},
           "changed": any(c.status != "unchanged" for c in report.clusters), "clusters": clusters}
    return json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n"


# -- Markdown (a pull-request comment)

MD_VALUE_MAX = 80
MD_ROWS_MAX = 50
MD_MAX_CHARS = 60_000  # a GitHub comment holds 65,536 characters


def code(text: str) -> str:
    """``text`` as a code span that is safe in a table cell: one line, backticks fenced, pipes escaped."""
    text = printable(text).replace("|", "\\|")
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _md_value(value: Any) -> str:
    if value is ABSENT:
        return "*absent*"
    shown = _json(value)
    if len(shown) > MD_VALUE_MAX:
        shown = f"{shown[:MD_VALUE_MAX - 1]}… ({len(shown):,} chars)"
    return code(shown)


def _md_objects(changes: Sequence[ObjectChange]) -> list[str]:
    out: list[str] = []
    changed = [c for c in changes if c.change == "changed"]
    for change in changed:
        out += ["", f"**changed** {code(change.key.label())}", "", "| field | before | after |", "| --- | --- | --- |"]
        for field in change.fields[:MD_ROWS_MAX]:
            out.append(f"| {code(field.shown)}{_note(field)} | {_md_value(field.old)} | {_md_value(field.new)} |")
        if len(change.fields) > MD_ROWS_MAX:
            out.append(f"| … {len(change.fields) - MD_ROWS_MAX} more field(s) (`gen diff --format text` lists all) "
                       "| | |")
    for kind in ("added", "removed"):
        listed = [c for c in changes if c.change == kind]
        if listed:
            out += ["", f"**{kind}**", ""] + [f"- {code(c.key.label())}" for c in listed]
    return out


def markdown(report: DiffReport) -> str:
    """A heading per cluster, a table of fields per changed object, lists of added and removed objects; values in
    code spans, long ones cut; the whole cut before a GitHub comment's limit (each cut says so)."""
    out = ["## gen diff: what Argo CD applies", "", f"{NOW.capitalize()} against {code(report.against)}: "
           f"{_total(report)}."]
    for cluster in report.clusters:
        part = ["", f"### {code(cluster.heading())}: {cluster.summary()}"]
        part += [""] + [f"> {printable(note)}" for note in cluster.notes] if cluster.notes else []
        part += _md_objects(cluster.objects)
        if sum(len(line) + 1 for line in [*out, *part]) > MD_MAX_CHARS:
            out += ["", f"… cut here: the comment would pass {MD_MAX_CHARS:,} characters; run `gen diff` for "
                        f"{printable(cluster.name)} and the rest"]
            break
        out += part
    return "\n".join(out) + "\n"


def render(report: DiffReport, fmt: str) -> str:
    return {"text": text, "json": as_json, "markdown": markdown}[fmt](report)
