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
import time
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


@dataclass(frozen=True)
class Stopped:
    """A program gen stopped (killed): ``why``, to follow its name ("did not finish in 120 s"), and whether it was
    for the memory it held."""

    why: str
    memory: bool = False


POLL_SECONDS = 0.1  # how often a program's memory is looked at, when it is bounded
# the most memory kustomize or helm may hold before it is stopped: an input that expands without bound (YAML aliases
# of aliases: 10 levels of 10 took kustomize past 13 GB in two minutes) would otherwise take the machine's; a
# 3,000-object kustomize build holds 290 MB
MAX_MEMORY_MIB = 2048


def run(program: Program, command: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None,
        stdin: bytes | None = None, max_memory_mib: int | None = None,
        ) -> subprocess.CompletedProcess[bytes] | Stopped:
    """``command`` with ``env`` (by default ``base_environment()``), its output captured as bytes; Stopped when it did
    not finish in ``timeout`` seconds or, with ``max_memory_mib``, held more memory than that (it is killed: an input
    that expands without bound, such as YAML aliases of aliases, would otherwise take the machine's memory; the bound
    is looked at every ``POLL_SECONDS`` where /proc tells it). A command that cannot be started raises
    ``program.missing``."""
    try:
        proc = subprocess.Popen(list(command), stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=dict(env) if env is not None else base_environment())
    except (FileNotFoundError, PermissionError, NotADirectoryError, IsADirectoryError) as exc:
        reason = os.strerror(exc.errno) if exc.errno else type(exc).__name__
        raise program.missing(f"cannot run {command[0]!r} ({reason.lower()}); {program.hint}") from None
    with proc:
        try:
            return _wait(proc, list(command), stdin, timeout, max_memory_mib)
        except BaseException:  # interrupted: the program does not outlive gen
            proc.kill()
            raise


def _wait(proc: subprocess.Popen[bytes], command: list[str], stdin: bytes | None, timeout: float,
          max_memory_mib: int | None) -> subprocess.CompletedProcess[bytes] | Stopped:
    deadline = time.monotonic() + timeout
    while True:
        left = max(0.0, deadline - time.monotonic())
        try:
            out, err = proc.communicate(stdin, timeout=left if max_memory_mib is None else min(left, POLL_SECONDS))
            return subprocess.CompletedProcess(command, proc.returncode, out, err)
        except subprocess.TimeoutExpired:
            stdin = None  # sent once; communicating again loses no output
        if time.monotonic() >= deadline:
            stopped = Stopped(f"did not finish in {timeout:g} s")
        elif max_memory_mib is not None and _resident_mib(proc.pid) > max_memory_mib:
            stopped = Stopped(f"held more than {max_memory_mib} MiB of memory", memory=True)
        else:
            continue
        proc.kill()
        proc.communicate()
        return stopped


def _resident_mib(pid: int) -> float:
    """A running process's resident memory in MiB (/proc/<pid>/status VmRSS); 0 where that cannot be read."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def text(data: bytes) -> str:
    """A program's output as text: UTF-8, anything else escaped rather than refused."""
    return data.decode("utf-8", "replace")
