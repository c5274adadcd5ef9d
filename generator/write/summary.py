"""Result types of ``apply`` and ``check``."""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from generator.core import layout
from generator.core.errors import printable
from generator.core.fs import is_temp_name

DriftKind = Literal["missing", "changed", "stray"]


@dataclass(frozen=True, order=True)
class Drift:
    """One difference between ``output/`` and the bundles; ``path`` is repo-relative.

    ``diff`` (computed on first access, so ``check`` stays fast) is a unified diff labelled
    ``a/<path>`` (on disk) and ``b/<path>`` (generated) for ``changed``, "" otherwise.
    """

    path: str
    kind: DriftKind
    old: bytes | None = field(default=None, compare=False, repr=False)  # on disk (changed)
    new: bytes | None = field(default=None, compare=False, repr=False)  # generated
    note: str = field(default="", compare=False, repr=False)  # replaces the diff (e.g. a symlink)
    # the options `gen bundle` needs to mend it: "" (a plain rerun), "--force" (a file gen does not own, in a
    # cluster's directory), "--prune" (gen's files of a cluster whose spec is gone), "--prune --force" (both)
    fix: str = field(default="", compare=False, repr=False)
    # changed since gen wrote it (the bytes on disk are not the ones the manifest recorded): an edit by hand
    edited: bool = field(default=False, compare=False, repr=False)

    @cached_property
    def diff(self) -> str:
        if self.note:
            return self.note
        if self.kind != "changed" or self.old is None or self.new is None:
            return ""
        return unified_diff(self.path, self.old, self.new)

    def render(self) -> str:
        return f"{self.path}: {self.kind}" + (" (edited by hand since gen wrote it)" if self.edited else "")


CONTEXT = 3  # lines of context around each change, as git diff
_HUNK = re.compile(r"^@@ -(\d+)((?:,\d+)?) \+(\d+)((?:,\d+)?) @@$")


def unified_diff(path: str, old: bytes, new: bytes) -> str:
    """``git diff``-style text diff of ``old`` -> ``new`` labelled ``a/<path>`` and ``b/<path>``.

    As GNU diff does, the lines both share at the start and at the end (but the context kept around the changes) are
    left out of the comparison, and the hunks' line numbers moved by as many: one changed line of a large file (the
    fleet bootstrap) costs a comparison of a few lines, not of the whole file."""
    a, b = _lines(old), _lines(new)
    head = 0
    while head < len(a) and head < len(b) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < len(a) - head and tail < len(b) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    skip = max(head - CONTEXT, 0)
    keep = max(tail - CONTEXT, 0)
    lines = difflib.unified_diff(a[skip:len(a) - keep], b[skip:len(b) - keep], fromfile=f"a/{path}",
                                 tofile=f"b/{path}", lineterm="\n", n=CONTEXT)
    return "".join(_moved(line, skip) for line in lines)


def _moved(line: str, by: int) -> str:
    """A hunk header's line numbers moved down by ``by`` lines (any other line as it is)."""
    match = _HUNK.match(line.rstrip("\n")) if by and line.startswith("@@ ") else None
    if match is None:
        return line
    return f"@@ -{int(match[1]) + by}{match[2]} +{int(match[3]) + by}{match[4]} @@\n"


def _lines(data: bytes) -> list[str]:
    lines = data.decode("utf-8", errors="replace").splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines


@dataclass
class WriteReport:
    """What ``apply`` did; all paths repo-relative (``output/<cluster>/...``), sorted.

    ``written``/``unchanged`` cover bundle files (not the manifest); ``removed`` are owned files
    gen deleted (files dropped from a bundle, pruned clusters, leftover temp files); ``refused``
    are files gen left in place because it does not own them (e.g. user files in a pruned
    cluster directory).  ``clusters`` lists every cluster directory visited, including pruned ones.
    """

    clusters: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)  # clusters whose directory was pruned

    @property
    def changed(self) -> bool:
        return bool(self.written or self.removed)

    def lines(self) -> list[str]:
        """One summary line per cluster, e.g. ``output/prod: 3 written, 12 unchanged, 1 removed``."""
        counts = {name: Counter(layout.cluster_of(p) for p in paths) for name, paths in (
            ("written", self.written), ("unchanged", self.unchanged), ("removed", self.removed),
            ("refused", self.refused))}
        out = []
        for cluster in self.clusters:
            n = {name: count[cluster] for name, count in counts.items()}
            parts = [f"{n['written']} written", f"{n['unchanged']} unchanged", f"{n['removed']} removed"]
            if n["refused"]:
                parts.append(f"{n['refused']} not owned (kept)")
            suffix = " (pruned)" if cluster in self.pruned else ""
            out.append(f"output/{cluster}: " + ", ".join(parts) + suffix)
        out += [f"{printable(path)}: removed (a first bundle an interrupted gen bundle was laying out)"
                for path in self.removed if path.endswith("/") and is_temp_name(path.rstrip("/").rsplit("/", 1)[-1])]
        return out
