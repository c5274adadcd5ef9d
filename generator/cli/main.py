"""gen: cluster specs -> validated GitOps bundles for RDMA over InfiniBand on AKS.

The one place errors are caught and exit codes chosen (the codes are documented in ``generator.core.errors``).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path
from typing import Protocol

from generator.cli import (
    bundle,
    cache,
    catalog,
    chart,
    check,
    diff,
    images,
    init,
    lint,
    plan,
    releases,
    schemas,
    upgrade,
)
from generator.core.errors import EXIT_INTERRUPTED, EXIT_PIPE, GenError, InputError, os_failure, printable


class Command(Protocol):
    """A command's module."""

    HELP: str

    def add_arguments(self, p: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace, repo: Path, mirror: Path | None) -> int: ...


# Each command is a module with HELP, add_arguments(parser) and run(args, repo, mirror) -> exit code; in the order
# `gen --help` lists them.
COMMANDS: dict[str, Command] = {
    "bundle": bundle, "chart": chart, "check": check, "schemas": schemas, "plan": plan, "diff": diff, "lint": lint,
    "catalog": catalog, "upgrade": upgrade, "images": images, "releases": releases, "init": init, "cache": cache,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gen",
        description="Generate validated GitOps bundles (Kustomize + Argo CD) that enable RDMA over InfiniBand "
                    "on AKS with the NVIDIA Network Operator.",
        epilog="Exit codes: 0 ok, 1 validation failed or output out of date, 2 bad input or usage, "
               "3 the environment failed (network, disk, another run holding output/), 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=_version())
    repo_help = "GitOps repo root holding clusters/ and output/ (default: the current directory)"
    parser.add_argument("--repo", type=Path, default=None, help=repo_help)
    # --repo is also accepted after the command (`gen bundle --all --repo DIR`)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--repo", type=Path, default=argparse.SUPPRESS, help=repo_help)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        module.add_arguments(sub.add_parser(name, parents=[common], help=module.HELP))
    return parser


def _version() -> str:
    from generator import catalog, project_version

    tags = catalog.load().release_tags
    return f"gen {project_version()} (rdma-gitops); network-operator releases {tags[0]} to {tags[-1]}"


def _run(args: argparse.Namespace) -> int:
    repo = Path(os.path.realpath(args.repo or Path.cwd()))  # a link loop is reported as "no clusters/"
    mirror = getattr(args, "mirror", None)
    given = "--from"
    if mirror is None and os.environ.get("GEN_SCHEMA_MIRROR"):
        mirror, given = Path(os.environ["GEN_SCHEMA_MIRROR"]), "GEN_SCHEMA_MIRROR"
    if mirror is not None and not mirror.is_dir():
        # never a silent fallback to the cache: the user named where the schemas and charts come from
        raise InputError(f"{given} {printable(str(mirror))}: not a directory; give a mirror laid out like "
                         "../shared/upstream (network-operator/<tag>/...), or leave it out to use gen's cache")
    return COMMANDS[args.command].run(args, repo, mirror)


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a non-UTF-8 locale must not turn a message into a traceback
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except GenError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # the reader went away (`gen catalog | head`): stop quietly, as git does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_PIPE
    except KeyboardInterrupt:  # pragma: no cover
        print("gen: interrupted; nothing was left half-written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as exc:  # the machine (a cache, a temporary directory): the file and the reason, no traceback
        failure = os_failure(exc, str(exc.filename or "gen"), "use it")
        for line in failure.lines():
            print(line, file=sys.stderr)
        return failure.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
