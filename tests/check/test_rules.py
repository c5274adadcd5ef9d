"""The rule registry: complete by construction, one id once, findings only from declared rules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from generator.core.rules import GROUPS, RULE_MODULES, all_rules, define, parse_directives
from tests.conftest import REPO


def test_every_module_that_declares_rules_is_listed() -> None:
    declaring = set()
    for path in (REPO / "generator").rglob("*.py"):
        if re.search(r"^\w+ = define\(", path.read_text(), re.M):
            declaring.add(".".join(path.relative_to(REPO).with_suffix("").parts))
    assert declaring == set(RULE_MODULES)


def test_each_rule_names_its_module_and_group() -> None:
    rules = all_rules()
    assert len(rules) >= 35
    for rule in rules.values():
        assert rule.module in RULE_MODULES and rule.group in GROUPS
        assert rule.severity in ("error", "warning") and rule.doc


def test_an_id_is_declared_once() -> None:
    with pytest.raises(ValueError, match="defined twice"):
        define("schema", "error", "again", "schema")


def test_directives() -> None:
    disabled, bad = parse_directives("a: 1\n# gen-lint: disable=schema, nope\n")
    assert disabled == frozenset({"schema"}) and bad == [(2, "nope")]
    assert parse_directives("# gen-lint: disable=all\n")[0] == frozenset({"all"})
    assert parse_directives("no directive") == (frozenset(), [])


def test_findings_come_from_rules() -> None:
    rule = all_rules()["schema"]
    finding = rule.at(("spec", 0), "m", index=3)
    assert (finding.rule, finding.severity, finding.path, finding.index) == ("schema", "error", ("spec", 0), 3)
    assert rule.in_file("f.yaml", "m", 2, 1).file == "f.yaml"
    assert Path(__file__).name  # the rules module itself never mentions an id it does not declare
