"""Regenerate the generated parts of docs/reference.md from their sources: every cluster spec field (from
schemas/cluster.schema.json: type, default, description) and every lint rule (from `gen lint --list-rules`: id,
severity, one-line doc).

Run from the repo root after changing the schema or a rule:

    .venv/bin/python maint/docs_reference.py           # rewrites docs/reference.md if it is out of date
    .venv/bin/python maint/docs_reference.py --check   # exit 1, writing nothing, if it is out of date

Only the text between the ``<!-- BEGIN GENERATED: ... -->`` and ``<!-- END GENERATED: ... -->`` markers is
replaced; the rest of the page is written by hand. tests/docs/test_reference.py fails when the page is stale.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "reference.md"
SCHEMA = ROOT / "schemas" / "cluster.schema.json"
COMMAND = ".venv/bin/python maint/docs_reference.py"
BLOCKS = ("spec-fields", "lint-rules")


class Stale(Exception):
    """docs/reference.md cannot be regenerated as it is (a marker is missing)."""


# -- cluster spec fields


def spec_fields(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], bool]]:
    """(dotted path, schema node, required) for every field, parents before children, in the schema's order."""

    def walk(node: dict[str, Any], prefix: str) -> Iterator[tuple[str, dict[str, Any], bool]]:
        required = set(node.get("required", ()))
        for name, child in node.get("properties", {}).items():
            path = f"{prefix}{name}"
            yield path, child, name in required
            yield from walk(child, f"{path}.")
            items = child.get("items")
            if isinstance(items, dict) and "properties" in items:
                yield from walk(items, f"{path}[].")
        values = node.get("additionalProperties")
        if isinstance(values, dict) and prefix:
            yield f"{prefix}<key>", values, False

    return walk(schema, "")


def type_of(node: dict[str, Any]) -> str:
    if "enum" in node:
        return "one of " + ", ".join(code(v) for v in node["enum"])
    kind = node.get("type", "any")
    if kind == "array":
        items = node.get("items", {})
        inner = "objects" if items.get("type") == "object" else f"{type_of(items)}s" if items else "values"
        return f"list of {inner}" + (", unique" if node.get("uniqueItems") else "")
    if kind == "object" and isinstance(node.get("additionalProperties"), dict):
        return f"map of {type_of(node['additionalProperties'])}s"
    if kind in ("integer", "number") and ("minimum" in node or "maximum" in node):
        low, high = node.get("minimum"), node.get("maximum")
        if low is not None and high is not None:
            return f"{kind}, {low} to {high}"
        return f"{kind}, at least {low}" if low is not None else f"{kind}, at most {high}"
    return str(kind)


def default_of(node: dict[str, Any], required: bool) -> str:
    if required:
        return "required"
    if "default" not in node:
        return ""
    return code(node["default"])


def constraints(node: dict[str, Any]) -> str:
    """What the schema says of a field that has no description: its pattern and length limits."""
    said = []
    if "pattern" in node:
        said.append(f"pattern {code(node['pattern'])}")
    low, high = node.get("minLength"), node.get("maxLength")
    if low is not None and high is not None:
        said.append(f"{low} to {high} characters")
    elif high is not None:
        said.append(f"at most {high} characters")
    elif low is not None:
        said.append(f"at least {low} character" + ("s" if low != 1 else ""))
    text = "; ".join(said)
    return f"{text[:1].upper()}{text[1:]}." if text else ""


def code(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return f"`{text}`"


def spec_table(schema: dict[str, Any]) -> str:
    rows = ["| field | type | default | description |", "| --- | --- | --- | --- |"]
    for path, node, required in spec_fields(schema):
        cells = [code(path), type_of(node), default_of(node, required), node.get("description") or constraints(node)]
        rows.append("| " + " | ".join(cell(c) for c in cells) + " |")
    return "\n".join(rows)


# -- lint rules


def gen_command() -> str:
    found = shutil.which("gen", path=str(Path(sys.executable).parent)) or shutil.which("gen")
    if found is None:
        raise SystemExit("maint/docs_reference.py: gen is not installed: run `make setup` first, then " + COMMAND)
    return found


def lint_rules() -> list[tuple[str, str, str]]:
    """(id, severity, doc) of every rule, in the order `gen lint --list-rules` prints them."""
    proc = subprocess.run([gen_command(), "lint", "--list-rules"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"maint/docs_reference.py: gen lint --list-rules exited {proc.returncode}: {proc.stderr}")
    rules = []
    for line in proc.stdout.splitlines():
        match = re.fullmatch(r"(\S+) +(\S+) +(.*)", line)
        if match is None:
            raise SystemExit(f"maint/docs_reference.py: cannot read this line of gen lint --list-rules: {line!r}")
        rules.append((match.group(1), match.group(2), match.group(3)))
    return rules


def rules_table(rules: list[tuple[str, str, str]]) -> str:
    rows = ["| rule | severity | what it reports |", "| --- | --- | --- |"]
    rows += [f"| {cell(code(rule))} | {severity} | {cell(doc)} |" for rule, severity, doc in rules]
    return "\n".join(rows)


# -- the page


def cell(text: str) -> str:
    """Text shown as written in a Markdown table cell: ``|`` escaped everywhere; outside code spans, what Markdown
    would read as an escape, a link, emphasis or a tag (a regular expression in a rule's doc has all of them)."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):
        for char in "\\[]*":
            parts[i] = parts[i].replace(char, "\\" + char)
        parts[i] = parts[i].replace("<", "&lt;")
    return "`".join(parts).replace("|", "\\|")


def generated() -> dict[str, str]:
    schema = json.loads(SCHEMA.read_text())
    return {"spec-fields": spec_table(schema), "lint-rules": rules_table(lint_rules())}


def render(page: str, blocks: dict[str, str]) -> str:
    """``page`` with each generated block replaced by its current text."""
    for name in BLOCKS:
        begin = f"<!-- BEGIN GENERATED: {name} (do not edit; run {COMMAND}) -->\n"
        end = f"<!-- END GENERATED: {name} -->\n"
        start, stop = page.find(begin), page.find(end)
        if start < 0 or stop < start:
            raise Stale(f"docs/reference.md: the markers of the generated block {name!r} are missing: "
                        f"{begin.strip()} ... {end.strip()}")
        page = page[:start + len(begin)] + blocks[name] + "\n" + page[stop:]
    return page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/reference.md is out of date")
    args = parser.parse_args(argv)
    page = REFERENCE.read_text()
    try:
        new = render(page, generated())
    except Stale as error:
        print(error, file=sys.stderr)
        return 2
    if new == page:
        print("docs/reference.md: up to date")
        return 0
    if args.check:
        print(f"docs/reference.md is out of date with schemas/cluster.schema.json or the lint rules: run {COMMAND}",
              file=sys.stderr)
        return 1
    REFERENCE.write_text(new)
    print("docs/reference.md: regenerated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
