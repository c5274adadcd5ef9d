"""gen: cluster specs -> validated GitOps bundles for RDMA over InfiniBand on AKS.

The one place errors are caught and exit codes chosen (the codes are documented in ``generator.core.errors``).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path

from generator.cli import commands
from generator.cli import diff as diff_cli
from generator.cli import images as images_cli
from generator.cli import init as init_cli
from generator.cli import lint as lint_cli  # light; the checks are imported when `gen lint` runs
from generator.cli import releases as releases_cli
from generator.cli import upgrade as upgrade_cli
from generator.core.errors import EXIT_INTERRUPTED, EXIT_PIPE, GenError, os_failure


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
    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], help=help)

    def schema_source(p: argparse.ArgumentParser) -> None:
        p.add_argument("--from", dest="mirror", type=Path, default=None, metavar="DIR",
                       help="read CRD schemas from DIR laid out like shared/upstream/ instead of the cache "
                            "(env GEN_SCHEMA_MIRROR)")

    def selection(p: argparse.ArgumentParser, required: bool) -> None:
        group = p.add_mutually_exclusive_group(required=required)
        group.add_argument("--cluster", action="append", default=[], metavar="NAME",
                           help="a cluster spec clusters/NAME.yaml (repeatable)")
        group.add_argument("--all", action="store_true", help="every spec in clusters/")

    bundle = command("bundle", help="render, validate and write output/<cluster>/")
    selection(bundle, required=True)
    bundle.add_argument("--prune", action="store_true",
                        help="with --all: remove output/<name>/ of clusters whose spec is gone")
    bundle.add_argument("--force", action="store_true",
                        help="overwrite or delete files in output/ that gen does not own")
    schema_source(bundle)

    chart = command("chart", help="write the rdma-infiniband Helm chart (output/charts/rdma-infiniband/) and the "
                                  "clusters' bundles with its values files; gen bundle keeps it current from then on")
    chart.add_argument("--cluster", action="append", default=[], metavar="NAME",
                       help="write the bundles of these clusters only (repeatable; default: every spec)")
    chart.add_argument("--force", action="store_true",
                       help="overwrite or delete files in output/ that gen does not own")
    schema_source(chart)

    check = command("check", help="exit 1 if committed output/ differs from what the specs generate")
    selection(check, required=False)
    check.add_argument("--against", metavar="REF", default=None,
                       help="check the objects as updates of the output committed at REF (CEL rules on oldSelf, such "
                            "as immutable fields; default: the merge base of HEAD and the default branch, else HEAD; "
                            "outside git, skipped with a note)")
    schema_source(check)

    schemas = command("schemas", help="manage the CRD schema cache")
    schemas_sub = schemas.add_subparsers(dest="schemas_command", required=True, metavar="ACTION")
    pull = schemas_sub.add_parser("pull", help="fetch the pinned releases' CRDs (sha256-checked) into the cache")
    schema_source(pull)

    plan = command("plan", help="print the order Argo CD applies a cluster's bundle (phase, wave, kind)")
    plan.add_argument("--cluster", required=True, metavar="NAME", help="the cluster spec clusters/NAME.yaml")
    schema_source(plan)

    diff = command("diff", help="what changes in what Argo CD applies, object by object and field by field, between "
                                "the working tree and a git commit")
    selection(diff, required=True)
    diff.add_argument("--against", metavar="REF", default=None,
                      help="the commit to compare with (a branch, tag or commit; default: the merge base of HEAD and "
                           "the default branch, or HEAD on that branch)")
    diff.add_argument("--format", choices=diff_cli.FORMATS, default="text",
                      help="text (default), json, or markdown (for a pull-request comment)")
    schema_source(diff)

    lint = command("lint", help="lint Kubernetes YAML (files, directories, kustomize) for the Network Operator")
    lint_cli.add_arguments(lint)
    schema_source(lint)

    cat = command("catalog", help="list known network-operator releases (with their component images) and Azure "
                                  "InfiniBand VM sizes (with their NICs and IPoIB interface)")
    cat.add_argument("what", nargs="?", choices=["releases", "vm-sizes"], default=None)

    upgrade = command("upgrade", help="move a cluster to a newer network-operator release: print the plan, then "
                                       "write the spec and bundle if every step validates")
    upgrade_cli.add_arguments(upgrade)
    schema_source(upgrade)
    images = command("images", help="list every image the clusters' output makes nodes pull, with its public "
                                    "source and its imageRegistry mirror (for crane copy or az acr import)")
    images_cli.add_arguments(images)
    rel = command("releases", help="network-operator releases: support status (NVIDIA's lifecycle notes), dates, "
                                   "Kubernetes range, DOCA driver, every image, modes and IPoIB IPAM")
    rel.add_argument("--format", dest="output", choices=["text", "json"], default="text")

    init = command("init", help="scaffold a new GitOps repo in DIR from gen's cookiecutter template: a cluster spec, "
                                 "pre-commit hooks, a CI workflow, a README, and the bundle with the Argo CD bootstrap")
    init_cli.add_arguments(init)
    schema_source(init)

    cache = command("cache", help="show where gen keeps its caches, or clear them")
    cache.add_argument("action", nargs="?", choices=["show", "clear"], default="show")
    return parser


def _version() -> str:
    from generator import catalog, project_version

    tags = catalog.load().release_tags
    return f"gen {project_version()} (rdma-gitops); network-operator releases {tags[0]} to {tags[-1]}"


def _run(args: argparse.Namespace) -> int:
    repo = Path(os.path.realpath(args.repo or Path.cwd()))  # a link loop is reported as "no clusters/"
    mirror = getattr(args, "mirror", None)
    if mirror is None and os.environ.get("GEN_SCHEMA_MIRROR"):
        mirror = Path(os.environ["GEN_SCHEMA_MIRROR"])
    if args.command == "bundle":
        return commands.bundle(repo, args.cluster, args.all, prune=args.prune, force=args.force, mirror=mirror)
    if args.command == "chart":
        return commands.chart(repo, args.cluster, force=args.force, mirror=mirror)
    if args.command == "check":
        return commands.check(repo, args.cluster, all_clusters=not args.cluster, mirror=mirror, against=args.against)
    if args.command == "schemas":
        return commands.schemas_pull(mirror)
    if args.command == "plan":
        return commands.plan(repo, args.cluster, mirror)
    if args.command == "diff":
        return diff_cli.run(repo, args.cluster, args.all, args.against, args.format, mirror)
    if args.command == "lint":
        return lint_cli.run(args, repo, mirror)
    if args.command == "upgrade":
        return upgrade_cli.run(args, repo, mirror)
    if args.command == "images":
        return images_cli.run(args, repo)
    if args.command == "init":
        return init_cli.run(args, mirror)
    if args.command == "cache":
        return commands.cache(args.action)
    if args.command == "releases":
        return releases_cli.run(args.output)
    return commands.catalog(args.what)


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
