"""The one way gen runs another program (kustomize, helm, git), as pre-commit runs its hooks: the program is found
the same way for each (an override variable, the pinned binary that scripts/setup.sh put beside this Python, then
PATH), run with a timeout and with only the environment it is given, and a program that cannot be started (missing,
not executable, not a file) is one error that names it and says how to get it."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from generator.core.errors import GenError

Missing = Callable[[str], GenError]  # the error to raise, given its message


@dataclass(frozen=True)
class Program:
    """An external program: its name in messages, where it is looked for, and how to get it."""

    name: str
    variable: str  # the environment variable that gives the command ("" when there is none), split like a shell
    pinned: tuple[str, ...]  # the pinned binary beside sys.executable, with its arguments ((): none)
    on_path: tuple[tuple[str, ...], ...]  # commands tried on PATH, in order
    hint: str  # how to get it, for messages
    missing: Missing

    def command(self) -> list[str] | None:
        """The command that runs it, or None when it is nowhere."""
        override = os.environ.get(self.variable) if self.variable else None
        if override:
            return shlex.split(override)
        if self.pinned:
            pinned = Path(sys.executable).parent / self.pinned[0]
            if pinned.is_file() and os.access(pinned, os.X_OK):
                return [str(pinned), *self.pinned[1:]]
        for candidate in self.on_path:
            found = shutil.which(candidate[0])
            if found:
                return [found, *candidate[1:]]
        return None


def base_environment(**extra: str) -> dict[str, str]:
    """What every program gets from gen's own environment: PATH, HOME and TMPDIR, and C messages; plus ``extra``."""
    keep = {name: os.environ[name] for name in ("PATH", "HOME", "TMPDIR") if name in os.environ}
    return {**keep, "LC_ALL": "C", **extra}


def run(program: Program, command: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None,
        stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes] | None:
    """``command`` with ``env`` (by default ``base_environment()``), its output captured as bytes; None when it did
    not finish in ``timeout`` seconds (it is killed). A command that cannot be started raises ``program.missing``."""
    try:
        return subprocess.run(list(command), input=stdin, capture_output=True, check=False, timeout=timeout,
                              env=dict(env) if env is not None else base_environment())
    except (FileNotFoundError, PermissionError, NotADirectoryError, IsADirectoryError) as exc:
        reason = os.strerror(exc.errno) if exc.errno else type(exc).__name__
        raise program.missing(f"cannot run {command[0]!r} ({reason.lower()}); {program.hint}") from None
    except subprocess.TimeoutExpired:
        return None


def text(data: bytes) -> str:
    """A program's output as text: UTF-8, anything else escaped rather than refused."""
    return data.decode("utf-8", "replace")
