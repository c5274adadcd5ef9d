"""The one validation engine: strict schema -> webhook rules -> IPAM -> cross-object rules, as Findings.

``lint_objects`` lints already-parsed objects (``gen bundle`` calls it); ``Linter.run`` is the general form
that ``gen lint`` uses, with source positions and several sets ("units") of objects.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from generator.lint import cross
from generator.lint.base import Issue, Path
from generator.lint.ipam import check_ipam
from generator.lint.rules import RULES, severity
from generator.lint.webhook import WebhookRules
from generator.model import Finding
from generator.validate.engine import Validator, dotted_path, object_label
from generator.validate.store import DEFAULT_ARGOCD, SchemaStore, open_store
from generator.validate.webhook_schemas import WebhookSchemas
from generator.yamlio.load import Document

Locator = Callable[[Path], tuple[str, int, int, frozenset[str]]]  # path -> (file, line, column, disabled rules)


@dataclass
class Item:
    """One object to lint: where it came from and how to find a position inside it."""

    obj: dict[str, Any]
    file: str
    locate: Locator | None = None  # None: no positions (objects built in memory)
    patch: bool = False  # a kustomize patch: partial, so only unknown fields and types are checked
    disabled: frozenset[str] = field(default_factory=frozenset)
    doc: Document | None = None  # the parsed document, when it came from a file

    def where(self, path: Path) -> tuple[str, int, int, frozenset[str]]:
        if self.locate is None:
            return self.file, 0, 0, self.disabled
        return self.locate(path)


_SEGMENT = re.compile(r"\[(\d+)\]")


def split_dotted(obj: Any, dotted: str) -> Path:
    """Invert ``dotted_path`` against the object itself (keys may contain dots: annotation names)."""
    out: list[str | int] = []
    rest = dotted
    node = obj
    while rest:
        index = _SEGMENT.match(rest)
        if index:
            out.append(int(index.group(1)))
            node = node[int(index.group(1))] if isinstance(node, list) and int(index.group(1)) < len(node) else None
            rest = rest[index.end():].removeprefix(".")
            continue
        keys = sorted((k for k in node if isinstance(k, str)), key=len, reverse=True) if isinstance(node, dict) else []
        key = next((k for k in keys if rest == k or rest.startswith((k + ".", k + "["))), None)
        if key is None:  # not in the object (a missing required field, say): the first segment
            key = re.split(r"[.\[]", rest, maxsplit=1)[0]
        out.append(key)
        node = node.get(key) if isinstance(node, dict) else None
        rest = rest[len(key):].removeprefix(".")
    return tuple(out)


class Linter:
    """Compiled schemas and webhook schemas of one network-operator release (and Argo CD version)."""

    def __init__(self, release: str, argocd: str = DEFAULT_ARGOCD, *, store: SchemaStore | None = None):
        store = store or open_store()
        self.release = release
        self.validator = Validator(release, argocd, store=store)
        self.webhook = WebhookRules(WebhookSchemas(release, store))

    def object_issues(self, index: int, item: Item) -> tuple[list[Issue], list[tuple[int, Path, str]]]:
        obj = item.obj
        issues: list[Issue] = []
        for f in self.validator.validate(obj, item.file):
            if item.patch and f.message.startswith("missing required field"):
                continue
            issues.append(Issue(f.rule, split_dotted(obj, f.path), f.message, index))
        if item.patch or not isinstance(obj, dict):
            return issues, []
        issues += self.webhook.check(obj, index)
        ipam_issues, refs = check_ipam(obj, index)
        issues += ipam_issues
        return issues, [(index, path, name) for path, name in refs]

    def run(self, items: list[Item], units: Iterable[tuple[list[int], list[int]]], *, strict: bool = False,
            vm_nics: int | None = None, disable: Iterable[str] = ()) -> list[Finding]:
        """Per-object rules on every item, then cross-object rules per (unit, context) pair of index lists."""
        issues: list[Issue] = []
        refs: dict[int, list[tuple[int, Path, str]]] = {}
        for index, item in enumerate(items):
            found, pool_refs = self.object_issues(index, item)
            issues += found
            refs[index] = pool_refs
        for unit, context in units:
            ctx = cross.Context.build([items[i].obj for i in context
                                       if not items[i].patch and isinstance(items[i].obj, dict)])
            members = [(i, items[i].obj) for i in unit if not items[i].patch and isinstance(items[i].obj, dict)]
            issues += cross.check_unit(members, ctx, vm_nics)
            issues += cross.check_duplicates(members, [item.file for item in items])
            issues += cross.check_pool_refs([r for i in unit for r in refs[i]], ctx)
        return self.findings(items, issues, strict=strict, disable=set(disable))

    @staticmethod
    def findings(items: list[Item], issues: list[Issue], *, strict: bool, disable: set[str]) -> list[Finding]:
        out: dict[tuple[str, int, int, str, str, str], Finding] = {}
        for issue in issues:
            if issue.rule in disable:
                continue
            item = items[issue.index]
            file, line, column, disabled = item.where(issue.path)
            if issue.rule in disabled or "all" in disabled:
                continue
            path = dotted_path(issue.path)
            key = (file, line, column, issue.rule, path, issue.message)  # a built object repeats its sources'
            if key not in out:
                out[key] = Finding(file, object_label(item.obj), path, issue.rule, issue.message,
                                   issue.severity or severity(issue.rule, strict=strict), line, column)  # type: ignore[arg-type]
        return sorted(out.values(), key=lambda f: (f.file, f.line, f.column, f.rule, f.path, f.message))


_LINTERS: dict[tuple[str, str, int], Linter] = {}


def get_linter(release: str, argocd: str = DEFAULT_ARGOCD, store: SchemaStore | None = None) -> Linter:
    key = (release, argocd, id(store))
    if key not in _LINTERS:
        _LINTERS[key] = Linter(release, argocd, store=store)
    return _LINTERS[key]


def lint_objects(items: list[tuple[dict[str, Any], str]], release: str, *, vm_nics: int | None = None,
                 strict: bool = False, argocd: str = DEFAULT_ARGOCD, store: SchemaStore | None = None,
                 disable: Iterable[str] = ()) -> list[Finding]:
    """Schema + webhook + IPAM + cross-object rules on (object, file) pairs that form one set."""
    unknown = set(disable) - set(RULES)
    if unknown:
        raise ValueError(f"unknown rule id(s): {', '.join(sorted(unknown))}")
    linter = get_linter(release, argocd, store)
    wrapped = [Item(obj, file) for obj, file in items]
    everything = list(range(len(wrapped)))
    return linter.run(wrapped, [(everything, everything)], strict=strict, vm_nics=vm_nics, disable=disable)
