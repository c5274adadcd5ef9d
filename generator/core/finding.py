"""The one result type: a ``Finding`` about a file, an object in it, or a field of that object.

Checks create findings through their ``Rule`` (``generator.core.rules``), so every finding names a
registered rule; the reporter (``generator.report.reporter``) is the only place that prints them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]
JsonPath = tuple[str | int, ...]


def dotted(path: JsonPath) -> str:
    """``("spec", "containers", 0, "image")`` -> ``spec.containers[0].image`` (for people, not for parsing)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass(frozen=True)
class Finding:
    """``path`` is the structured path inside the object (``()`` for the object or the file itself).

    ``file``/``line``/``column`` say where a person finds it (line 0: no position known); ``object`` is
    ``Kind/name`` or ``Kind/namespace/name``; ``index`` is which object of the checked set it is about, used
    only while the checker locates it (``-1``: about a file).
    """

    rule: str
    message: str
    severity: Severity
    path: JsonPath = ()
    file: str = ""
    line: int = 0
    column: int = 0
    object: str = ""
    index: int = field(default=-1, compare=False)

    @property
    def dotted_path(self) -> str:
        return dotted(self.path)

    def sort_key(self) -> tuple[str, int, int, str, str, str]:
        return (self.file, self.line, self.column, self.rule, self.dotted_path, self.message)
