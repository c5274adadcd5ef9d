"""What a run has to say besides its result: the spec's warnings, the notes about charts not at hand, the checks'
findings. The pipeline says them through a ``Messages`` the command gives it (the CLI's writes to stderr; a test's may
collect), in the order they arise; nothing in the pipeline prints."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from generator import catalog
from generator.core.finding import Finding
from generator.report.reporter import text


def _stderr(message: str) -> None:
    sys.stderr.write(message)


# Set (to anything but "" or 0) by a user who works offline on purpose: the note that a chart is not at hand is not said
QUIET_CHART_NOTE = "GEN_NO_CHART_NOTE"


def chart_note_wanted() -> bool:
    return os.environ.get(QUIET_CHART_NOTE, "") in ("", "0")


@dataclass
class Messages:
    """Where one command's messages go; each missing chart is said once per command, however often it is looked
    for (``gen upgrade`` renders one cluster at several releases), and not at all with ``$GEN_NO_CHART_NOTE`` set."""

    write: Callable[[str], None] = _stderr
    charts_said: set[str] = field(default_factory=set)
    chart_notes: bool = field(default_factory=chart_note_wanted)

    def warnings(self, notes: Iterable[str]) -> None:
        for note in notes:
            self.write(f"gen: warning: {note}\n")

    def findings(self, findings: list[Finding]) -> None:
        self.write(text(findings))

    def note(self, command: str, note: str) -> None:
        self.write(f"{command}: note: {note}\n")

    def charts_missing(self, tags: Iterable[str], helm_missing: bool) -> None:
        """That these releases' network-operator charts are not rendered, why, and what stands in (once each)."""
        missing = sorted(set(tags) - self.charts_said, key=catalog.version_key)
        if missing and self.chart_notes:
            self.charts_said.update(missing)
            why = "helm is not installed" if helm_missing else "not in the cache or mirror"
            self.write(f"gen: note: network-operator chart {', '.join(missing)}: {why}; checked against the "
                       "catalog's chart facts instead (gen schemas pull fetches the charts)\n")

    def gpu_charts_missing(self, tags: Iterable[str], helm_missing: bool) -> None:
        """The same for the gpu-operator chart (once each)."""
        missing = sorted({f"gpu-operator/{t}" for t in tags} - self.charts_said)
        if missing and self.chart_notes:
            self.charts_said.update(missing)
            why = "helm is not installed" if helm_missing else "not in the cache or mirror"
            shown = ", ".join(m.split("/", 1)[1] for m in missing)
            self.write(f"gen: note: gpu-operator chart {shown}: {why}; checked against the catalog's chart facts "
                       "instead (gen schemas pull fetches the charts)\n")

