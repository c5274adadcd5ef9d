"""Every error gen reports to a user, and its exit code. ``generator.cli.main`` catches ``GenError`` once.

Exit codes, for every command (the README's "Exit codes" repeats this table; tests check each):

    0  ok: done, or nothing to report (warnings allowed)
    1  the checks failed: a validation error, output/ out of date, or a file gen does not own in the way
    2  bad input or usage: a cluster spec, an overlay, a path, an option or a tool to fix first
    130 interrupted (Ctrl-C); nothing was left half-written

Each stage raises its own subclass (``cluster`` a ``SpecError``, ``write`` a ``WriteError``, ...); the
message names the file, the field and the fix, in one line where it can.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INPUT = 2
EXIT_INTERRUPTED = 130


class GenError(Exception):
    """A problem the user can fix; ``str()`` is the message, ``exit_code`` what ``gen`` exits with."""

    exit_code = EXIT_INPUT

    def lines(self) -> list[str]:
        """What ``gen`` prints on stderr for it."""
        return [f"gen: error: {self}"]


class InputError(GenError):
    """Bad input or usage: a file, a path, an option (exit 2)."""


class ToolMissing(GenError):
    """A program gen runs (kustomize, helm) cannot be found or started (exit 2)."""


class BuildFailed(GenError):
    """A kustomize (or helm) build of generated output failed; exit 1."""

    exit_code = EXIT_FAILED


class ChecksFailed(GenError):
    """The checks found errors (already reported one by one); exit 1."""

    exit_code = EXIT_FAILED

    def lines(self) -> list[str]:
        return [f"gen: {self}"]
