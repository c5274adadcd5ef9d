"""Formatters: text (grouped per file, summary line), json (machines), github (CI annotations)."""

from __future__ import annotations

import json

from generator.lint.run import LintResult
from generator.model import Finding


def _where(f: Finding) -> str:
    return f"{f.file}:{f.line}:{f.column or 1}" if f.line else f.file


def format_line(f: Finding) -> str:
    at = f" ({f.path})" if f.path else ""
    return f"{_where(f)}: {f.severity} {f.rule}: {f.message}{at}"


def summary(result: LintResult) -> str:
    files_with = len({f.file for f in result.findings})
    verdict = "ok" if not result.errors else "failed"
    return (f"gen lint: {verdict}: {result.errors} error(s), {result.warnings} warning(s) in {files_with} file(s); "
            f"checked {result.files} file(s), {result.objects} object(s), {result.builds} kustomize build(s)")


def text(result: LintResult) -> str:
    lines: list[str] = []
    current = None
    for f in result.findings:
        if f.file != current:
            if current is not None:
                lines.append("")
            current = f.file
        lines.append(format_line(f))
    if lines:
        lines.append("")
    lines.append(summary(result))
    return "\n".join(lines) + "\n"


def as_json(result: LintResult) -> str:
    payload = {
        "findings": [{"file": f.file, "line": f.line, "column": f.column, "severity": f.severity, "rule": f.rule,
                      "message": f.message, "path": f.path, "object": f.object} for f in result.findings],
        "summary": {"errors": result.errors, "warnings": result.warnings, "files": result.files,
                    "objects": result.objects, "builds": result.builds},
    }
    return json.dumps(payload, indent=2) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github(result: LintResult) -> str:
    """GitHub Actions workflow commands: ::error file=...,line=...,col=...,title=...::message."""
    lines = []
    for f in result.findings:
        props = [f"file={_escape_property(f.file)}"]
        if f.line:
            props += [f"line={f.line}", f"col={f.column or 1}"]
        props.append(f"title={_escape_property('gen-lint ' + f.rule)}")
        at = f" ({f.path})" if f.path else ""
        lines.append(f"::{f.severity} {','.join(props)}::{_escape_data(f.message + at)}")
    lines.append(summary(result))
    return "\n".join(lines) + "\n"


FORMATTERS = {"text": text, "json": as_json, "github": github}
