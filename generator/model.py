"""Types that cross the pipeline's stages: spec -> render -> validate -> write."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Finding:
    """One validation result about one object (or one file).

    ``path`` is a dotted JSON path inside the object (``spec.ofedDriver.image``; list items as
    ``[0]``), ``rule`` a stable id (``schema``, ``kustomize``, ...), ``message`` a sentence saying
    what is wrong and, where it can, the fix.
    """

    file: str
    object: str  # "Kind/name" or "Kind/namespace/name"; "" for file-level findings
    path: str
    rule: str
    message: str
    severity: Severity = "error"
    line: int = 0
    column: int = 0

    def render(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}:{self.column or 1}"
        subject = f" {self.object}" if self.object else ""
        at = f" ({self.path})" if self.path else ""
        return f"{where}: {self.severity} {self.rule}:{subject} {self.message}{at}"


@dataclass(frozen=True)
class Bundle:
    """Everything generated for one cluster: file path (POSIX, relative to ``output/<cluster>/``)
    to the exact bytes to write, plus the objects each YAML file holds (for validation)."""

    cluster: str
    spec_file: str  # repo-relative path of the spec it came from
    files: dict[str, bytes]
    objects: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
