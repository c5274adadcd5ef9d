"""Result types of ``apply`` and ``check``."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

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


def unified_diff(path: str, old: bytes, new: bytes) -> str:
    """``git diff``-style text diff of ``old`` -> ``new`` labelled ``a/<path>`` and ``b/<path>``."""
    lines = difflib.unified_diff(
        _lines(old), _lines(new), fromfile=f"a/{path}", tofile=f"b/{path}", lineterm="\n"
    )
    return "".join(lines)


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
        out = []
        for cluster in self.clusters:
            prefix = f"output/{cluster}/"

            def n(paths: list[str], prefix: str = prefix) -> int:
                return sum(p.startswith(prefix) for p in paths)

            parts = [f"{n(self.written)} written", f"{n(self.unchanged)} unchanged",
                     f"{n(self.removed)} removed"]
            if n(self.refused):
                parts.append(f"{n(self.refused)} not owned (kept)")
            suffix = " (pruned)" if cluster in self.pruned else ""
            out.append(f"output/{cluster}: " + ", ".join(parts) + suffix)
        return out
