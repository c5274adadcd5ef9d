"""``gen lint PATH...``: its arguments, and the run (the checks are imported only when it runs)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from generator import layout
from generator.errors import EXIT_FAILED, EXIT_OK, InputError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                   help="YAML files and directories (kustomize directories are built with kustomize)")
    p.add_argument("--release", default=None, metavar="TAG",
                   help="network-operator release whose CRDs and webhook rules apply (default: the cluster spec's, "
                        "else the catalog default)")
    p.add_argument("--cluster", default=None, metavar="NAME",
                   help="take the release and VM size from clusters/NAME.yaml")
    nics = p.add_mutually_exclusive_group()
    nics.add_argument("--vm-size", default=None, metavar="SIZE", help="Azure VM size: pods may not ask for more "
                      "RDMA devices than it has InfiniBand NICs")
    nics.add_argument("--vm-nics", type=int, default=None, metavar="N", help="InfiniBand NICs per node")
    p.add_argument("--strict", action="store_true", help="unknown kinds are errors, not warnings")
    p.add_argument("--format", choices=["text", "json", "github"], default="text", help="output format")
    p.add_argument("--no-kustomize", action="store_true", help="do not build kustomize directories")
    p.add_argument("--against", nargs="?", const="", default=None, metavar="REF",
                   help="check updates too: evaluate the CRDs' CEL rules with oldSelf against each object's version at "
                        "the git commit REF (default: the merge base of HEAD and the default branch, else HEAD; "
                        "outside git, or before the first commit, skipped with a note); put it after the paths or "
                        "end it with --: gen lint --against -- PATH...")
    p.add_argument("--list-rules", action="store_true", help="print every rule id with its one-line doc and exit")


def _auto_cluster(repo: Path, paths: list[Path]) -> str | None:
    """clusters/<name>.yaml when every path lies under output/<name>/ of the repo."""
    names = set()
    for path in paths:
        try:
            rel = Path(os.path.realpath(path)).relative_to(repo / layout.OUTPUT_DIR)  # a link loop stays as it is
        except ValueError:
            return None
        if not rel.parts:
            return None
        names.add(rel.parts[0])
    if len(names) == 1 and (repo / layout.spec_file(next(iter(names)))).is_file():
        return next(iter(names))
    return None


def run(args: argparse.Namespace, repo: Path, mirror: Path | None) -> int:
    from generator.check.rules import list_rules

    if args.list_rules:
        print(list_rules(), end="")
        return EXIT_OK
    if not args.paths:
        raise InputError("give at least one PATH (a YAML file or a directory)")
    from generator import catalog
    from generator.check.engine import checker_for
    from generator.check.schemas.store import open_store
    from generator.cluster.load import load_cluster
    from generator.manifests.collect import lint_paths
    from generator.report.reporter import Summary, report

    cat = catalog.load()
    release, vm_nics = args.release, args.vm_nics
    cluster = args.cluster or (None if args.release else _auto_cluster(repo, args.paths))
    if cluster:
        model = load_cluster(repo, cluster)
        release = release or model.release.tag
        if vm_nics is None and args.vm_size is None:
            vm_nics = model.vm_size.nics
    release = release or cat.default_release
    if release not in cat.releases:
        raise InputError(f"unknown release {release!r}; known: {', '.join(cat.release_tags)}")
    if args.vm_size:
        size = cat.vm_sizes.get(args.vm_size)
        if size is None:
            raise InputError(f"unknown VM size {args.vm_size!r}; known: {', '.join(cat.vm_sizes)}")
        vm_nics = size.nics
    if vm_nics is not None and vm_nics < 1:
        raise InputError("--vm-nics must be at least 1")
    store = open_store(mirror)
    checker = checker_for(release, store=store)
    against = None
    if args.against is not None:
        from generator.manifests.previous import LintAgainst

        against = LintAgainst(args.against or None, Path.cwd(), args.paths, not args.no_kustomize, checker.schemas)
    result = lint_paths(args.paths, checker, base=Path.cwd(), strict=args.strict, vm_nics=vm_nics,
                        build=not args.no_kustomize, against=against)
    for note in result.notes:
        print(f"gen lint: note: {note}", file=sys.stderr)
    files_with = len({f.file for f in result.findings})
    verdict = "ok" if not result.errors else "failed"
    found = (f"{result.errors} error(s), {result.warnings} warning(s) in {files_with} file(s)" if result.findings
             else "nothing found")
    summary = Summary(
        f"gen lint: {verdict}: {found}; checked {result.files} file(s), {result.objects} object(s), "
        f"{result.builds} kustomize build(s)",
        {"files": result.files, "objects": result.objects, "builds": result.builds})
    sys.stdout.write(report(result.findings, args.format, summary))
    return EXIT_FAILED if result.errors else EXIT_OK
