"""Result types of ``apply`` and ``check``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

DriftKind = Literal["missing", "changed", "stray"]


@dataclass(frozen=True, order=True)
class Drift:
    """One difference between ``output/`` and the bundles; ``path`` is repo-relative."""

    path: str
    kind: DriftKind
    diff: str = ""  # unified diff (a/<path>, b/<path>) for "changed"; "" otherwise

    def render(self) -> str:
        return f"{self.path}: {self.kind}"


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
