"""Edit a cluster spec in place the way a careful person would: the changed fields change, every other line (its
comments, order, quoting, indentation) stays byte for byte. ruamel.yaml's round-trip mode does the editing; a file
it cannot reproduce unchanged is refused rather than reformatted."""

from __future__ import annotations

import difflib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import ScalarString

from generator.core.errors import InputError

# (mapping indent, sequence indent, dash offset) styles tried in turn: the first that reproduces the file is its own
_STYLES = [(m, s, o) for m in (2, 4) for s, o in ((2, 0), (4, 2), (3, 1), (4, 0), (6, 4))]


class SpecEditError(InputError):
    """The spec cannot be edited without reformatting lines that do not change."""


@dataclass(frozen=True)
class Edit:
    """Set ``path`` to ``value``, or delete it (``value`` None and ``delete``); ``after`` places a new key."""

    path: tuple[str | int, ...]  # an int is a list index (pools[0]); the list entry must exist
    value: Any = None
    delete: bool = False
    after: str = ""  # a top-level key after which a new top-level key goes (else at the end of the file)
    first: bool = False  # a new leaf key goes first in its mapping (else last)
    rename_to: str = ""  # rename the leaf key in place (its value, position and comment kept)

    @property
    def dotted(self) -> str:
        return "".join(f"[{key}]" if isinstance(key, int) else f".{key}" for key in self.path).lstrip(".")


def _yaml(style: tuple[int, int, int]) -> YAML:
    yaml = YAML()  # round-trip
    yaml.preserve_quotes = True
    yaml.width = 1 << 20  # never fold a long line
    mapping, sequence, offset = style
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def _dump(yaml: YAML, data: Any) -> str:
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _faithful(text: str, file: str) -> tuple[YAML, Any]:
    """A round-trip loader that dumps ``text`` back unchanged, and the loaded document."""
    for style in _STYLES:
        yaml = _yaml(style)
        try:
            data = yaml.load(text)
        except YAMLError as exc:
            raise SpecEditError(f"{file}: cannot be edited: {exc}".splitlines()[0]) from None
        if isinstance(data, CommentedMap) and _dump(yaml, data) == text:
            return yaml, data
    raise SpecEditError(f"{file}: gen cannot edit it without reformatting lines that do not change (its layout is "
                        "one ruamel.yaml does not reproduce); make the change by hand")


def _same_style(old: Any, new: Any) -> Any:
    """``new`` written as ``old`` was (single or double quoted stays so)."""
    if isinstance(old, ScalarString) and isinstance(new, str):
        return type(old)(new)
    return new


def _apply(data: CommentedMap, edit: Edit) -> None:
    node: Any = data
    for i, key in enumerate(edit.path[:-1]):
        child = node[key] if isinstance(key, int) else node.get(key)
        if child is None:
            if edit.delete:
                return
            child = CommentedMap()
            _insert(node, key, child, edit.after if i == 0 else "")
        node = child
    leaf = edit.path[-1]
    if edit.rename_to:
        if leaf in node:
            position = list(node).index(leaf)
            comment = node.ca.items.pop(leaf, None)
            node.insert(position, edit.rename_to, node.pop(leaf))
            if comment is not None:
                node.ca.items[edit.rename_to] = comment
    elif edit.delete:
        node.pop(leaf, None)
        _prune_empty(data, edit.path[:-1])
    elif leaf in node:
        node[leaf] = _same_style(node[leaf], edit.value)
    elif edit.first:
        node.insert(0, leaf, edit.value)
    else:
        _insert(node, leaf, edit.value, edit.after if len(edit.path) == 1 else "")


def _prune_empty(data: CommentedMap, path: tuple[str | int, ...]) -> None:
    """Remove the mappings along ``path`` that a deletion left empty, deepest first (never a list entry)."""
    for depth in range(len(path), 0, -1):
        parent: Any = data
        for key in path[:depth - 1]:
            parent = parent[key]
        if isinstance(path[depth - 1], int):
            return
        if parent.get(path[depth - 1]) == {}:
            del parent[path[depth - 1]]
        else:
            return


def _insert(node: CommentedMap, key: str | int, value: Any, after: str) -> None:
    keys = list(node)
    position = keys.index(after) + 1 if after in keys else len(keys)
    node.insert(position, key, value)


def apply_edits(text: str, edits: Sequence[Edit], file: str) -> str:
    """``text`` with ``edits`` applied; raises SpecEditError when another line would change."""
    yaml, data = _faithful(text, file)
    for edit in edits:
        _apply(data, edit)
    edited = _dump(yaml, data)
    _check_only_edited_lines(text, edited, edits, file)
    return edited


def _check_only_edited_lines(before: str, after: str, edits: Sequence[Edit], file: str) -> None:
    """Every line that disappears holds a key an edit touches (a changed value keeps its key on the line)."""
    touched = {key for edit in edits for key in edit.path}
    gone = [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line.startswith("- ")]
    for line in gone:
        key = line[2:].strip().lstrip("- ").split(":", 1)[0].strip().strip("'\"")
        if key not in touched:
            raise SpecEditError(f"{file}: editing {', '.join(e.dotted for e in edits)} would also change the line "
                                f"{line[2:].strip()!r}; make the change by hand")


def changed_lines(before: str, after: str) -> int:
    """How many lines change: a line replaced counts once, as does one added or removed."""
    matcher = difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines(), autojunk=False)
    return sum(max(i2 - i1, j2 - j1) for op, i1, i2, j1, j2 in matcher.get_opcodes() if op != "equal")


