"""Every error gen reports to a user, and its exit code. ``generator.cli.main`` catches ``GenError`` once.

Exit codes, for every command (the README's "Exit codes" repeats this table; tests check each):

    0  ok: done, or nothing to report (warnings allowed)
    1  the checks failed: a validation error, output/ out of date, or a file gen does not own in the way
    2  bad input or usage: a cluster spec, an overlay, a path, an option or a tool to fix first
    3  the environment failed: the network, the disk (full, read-only, no permission), or another gen run
       holding output/ for too long; the input may be fine, and output/ is as it was
    130 interrupted (Ctrl-C); nothing was left half-written
    141 the reader of gen's output went away (``gen catalog | head``), as for any command killed by SIGPIPE

Each stage raises its own subclass (``cluster`` a ``SpecError``, ``write`` a ``WriteError``, ...); the
message names the file, the field and the fix, in one line where it can.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INPUT = 2
EXIT_ENVIRONMENT = 3
EXIT_INTERRUPTED = 130
EXIT_PIPE = 141


def printable(text: str) -> str:
    """``text`` on one line: a newline, a NUL or an escape sequence in a file name or a value is shown escaped
    (``\\n``), so a message can never forge another line (or a CI workflow command) in a log."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class GenError(Exception):
    """A problem the user can fix; ``str()`` is the message, ``exit_code`` what ``gen`` exits with."""

    exit_code = EXIT_INPUT

    def lines(self) -> list[str]:
        """What ``gen`` prints on stderr for it."""
        return [f"gen: error: {printable(str(self))}"]


class InputError(GenError):
    """Bad input or usage: a file, a path, an option (exit 2)."""


class EnvironmentFailure(GenError):
    """The machine, not the input: the network, the disk, permissions, a lock another run holds (exit 3)."""

    exit_code = EXIT_ENVIRONMENT


def os_failure(exc: OSError, shown: str, doing: str) -> EnvironmentFailure:
    """One line for an OS error while ``doing`` something to ``shown``, with what to do about it."""
    import errno

    advice = {errno.ENOSPC: "free some space", errno.EDQUOT: "free some space (disk quota)",
              errno.EROFS: "make it writable (it is on a read-only file system)",
              errno.EACCES: "check its permissions", errno.EPERM: "check its permissions"}
    hint = advice.get(exc.errno or 0, "check the disk and try again")
    return EnvironmentFailure(f"{shown}: cannot {doing}: {exc.strerror or exc}; {hint}")


class ToolMissing(GenError):
    """A program gen runs (kustomize, helm) cannot be found or started (exit 2)."""


class BuildFailed(GenError):
    """A kustomize (or helm) build of generated output failed; exit 1."""

    exit_code = EXIT_FAILED


class ChecksFailed(GenError):
    """The checks found errors (already reported one by one); exit 1."""

    exit_code = EXIT_FAILED

    def lines(self) -> list[str]:
        return [f"gen: {printable(str(self))}"]
