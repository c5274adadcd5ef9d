"""The rule registry: every rule gen can report, declared next to the code that checks it.

A check module declares its rules with ``define(id, severity, doc, group)`` at import time and reports a
problem with ``RULE.at(path, message, index)``: a finding can only be made from a declared rule, so an
unregistered id cannot be emitted, and ``all_rules()`` (which imports every rule module) is what
``gen lint --list-rules`` prints, complete by construction.
"""

from __future__ import annotations

import importlib
import re
import sys
from dataclasses import dataclass

from generator.core.finding import Finding, JsonPath, Severity

# Every module that declares rules (a test checks that no other module calls define()).
RULE_MODULES = (
    "generator.manifests.files",
    "generator.check.bundles",
    "generator.check.schema",
    "generator.check.apiserver",
    "generator.check.cel.rule",
    "generator.check.webhook",
    "generator.check.cross",
    "generator.check.gpu",
    "generator.check.ipam",
    "generator.check.nodepolicy",
    "generator.check.project",
    "generator.check.chart_objects",
    "generator.check.chart_policy",
    "generator.check.invariants",
    "generator.check.equivalence",
    "generator.check.flux",
)
GROUPS = ("yaml", "build", "lint", "schema", "webhook", "cross", "ipam", "argocd", "flux", "bundle")

_REGISTRY: dict[str, Rule] = {}
_DIRECTIVE = re.compile(r"#[ \t]*gen-lint:[ \t]*disable[ \t]*=[ \t]*([A-Za-z0-9_, \t-]+)")


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity  # the default; a check may lower an error to a warning where it cannot be sure
    doc: str
    group: str
    module: str  # the module that declares (and checks) it

    def at(self, path: JsonPath, message: str, index: int = -1, severity: Severity | None = None) -> Finding:
        """A finding of this rule about the object ``index`` of the checked set, at ``path`` inside it."""
        return Finding(self.id, message, severity or self.severity, tuple(path), index=index)

    def in_file(self, file: str, message: str, line: int = 0, column: int = 0, path: JsonPath = (),
                severity: Severity | None = None) -> Finding:
        """A finding about a file (or a line of it, or a path in its one document), not about a checked object."""
        return Finding(self.id, message, severity or self.severity, tuple(path), file, line, column)


def define(rule_id: str, severity: Severity, doc: str, group: str) -> Rule:
    if rule_id in _REGISTRY:
        raise ValueError(f"rule {rule_id!r} is defined twice")
    if group not in GROUPS:
        raise ValueError(f"rule {rule_id!r}: unknown group {group!r}")
    rule = Rule(rule_id, severity, doc, group, sys._getframe(1).f_globals.get("__name__", ""))
    _REGISTRY[rule_id] = rule
    return rule


def all_rules() -> dict[str, Rule]:
    """Every rule, by group, then by module (RULE_MODULES order), then in the order its module declares them."""
    for module in RULE_MODULES:
        importlib.import_module(module)
    rules = sorted(_REGISTRY.values(), key=lambda r: (GROUPS.index(r.group), _module_rank(r.module)))
    return {r.id: r for r in rules}


def _module_rank(module: str) -> int:
    return RULE_MODULES.index(module) if module in RULE_MODULES else len(RULE_MODULES)


def list_rules() -> str:
    rules = all_rules()
    width = max(len(r) for r in rules)
    return "".join(f"{r.id:<{width}}  {r.severity:<7}  {r.doc}\n" for r in rules.values())


def parse_directives(text: str) -> tuple[frozenset[str], list[tuple[int, str]]]:
    """The rule ids a file disables with ``# gen-lint: disable=a,b`` (or ``=all``), and the unknown ids named
    (line, id)."""
    disabled: set[str] = set()
    bad: list[tuple[int, str]] = []
    if "gen-lint" not in text:
        return frozenset(), bad
    known = all_rules()
    for match in _DIRECTIVE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        for rule in (r.strip() for r in match.group(1).split(",")):
            if rule and rule != "all" and rule not in known:
                bad.append((line, rule))
            elif rule:
                disabled.add(rule)
    return frozenset(disabled), bad
