"""The one reporter: findings as text (grouped per file, then a summary line), JSON (for machines) or GitHub
Actions workflow commands (annotations in a pull request). Every command prints findings through it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from generator.core.errors import printable
from generator.core.finding import Finding

FORMATS = ("text", "json", "github")


@dataclass
class Summary:
    """The last line of a report (``line``) and its figures (for JSON)."""

    line: str
    figures: dict[str, int] = field(default_factory=dict)


def counts(findings: Sequence[Finding]) -> tuple[int, int]:
    """(errors, warnings)."""
    errors = sum(f.severity == "error" for f in findings)
    return errors, len(findings) - errors


def _where(f: Finding) -> str:
    return f"{printable(f.file)}:{f.line}:{f.column or 1}" if f.line else printable(f.file)


def format_line(f: Finding) -> str:
    at = f" ({printable(f.dotted_path)})" if f.path else ""
    return f"{_where(f)}: {f.severity} {f.rule}: {printable(f.message)}{at}"


def text(findings: Sequence[Finding], summary: Summary | None = None) -> str:
    lines: list[str] = []
    current = None
    for f in findings:
        if f.file != current:
            if current is not None:
                lines.append("")
            current = f.file
        lines.append(format_line(f))
    if summary is not None:
        if lines:
            lines.append("")
        lines.append(summary.line)
    return "".join(line + "\n" for line in lines)


def as_json(findings: Sequence[Finding], summary: Summary | None = None) -> str:
    errors, warnings = counts(findings)
    payload = {
        "findings": [{"file": f.file, "line": f.line, "column": f.column, "severity": f.severity, "rule": f.rule,
                      "message": f.message, "path": f.dotted_path, "object": f.object} for f in findings],
        "summary": {"errors": errors, "warnings": warnings, **(summary.figures if summary else {})},
    }
    return json.dumps(payload, indent=2) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github(findings: Sequence[Finding], summary: Summary | None = None) -> str:
    """GitHub Actions workflow commands: ::error file=...,line=...,col=...,title=...::message."""
    lines = []
    for f in findings:
        props = [f"file={_escape_property(f.file)}"]
        if f.line:
            props += [f"line={f.line}", f"col={f.column or 1}"]
        props.append(f"title={_escape_property('gen-lint ' + f.rule)}")
        at = f" ({f.dotted_path})" if f.path else ""
        lines.append(f"::{f.severity} {','.join(props)}::{_escape_data(f.message + at)}")
    if summary is not None:
        lines.append(summary.line)
    return "".join(line + "\n" for line in lines)


def report(findings: Sequence[Finding], fmt: str = "text", summary: Summary | None = None) -> str:
    return {"text": text, "json": as_json, "github": github}[fmt](findings, summary)
