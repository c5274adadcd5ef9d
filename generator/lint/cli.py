"""The ``gen lint`` subcommand: arguments and the run (heavy imports happen only when it runs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


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
    p.add_argument("--list-rules", action="store_true", help="print every rule id with its one-line doc and exit")


def _err(message: str) -> int:
    print(f"gen lint: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _auto_cluster(repo: Path, paths: list[Path]) -> str | None:
    """clusters/<name>.yaml when every path lies under output/<name>/ of the repo."""
    names = set()
    for path in paths:
        try:
            rel = path.resolve().relative_to(repo / "output")
        except ValueError:
            return None
        if not rel.parts:
            return None
        names.add(rel.parts[0])
    if len(names) == 1 and (repo / "clusters" / f"{next(iter(names))}.yaml").is_file():
        return next(iter(names))
    return None


def run(args: argparse.Namespace, repo: Path, mirror: Path | None) -> int:
    from generator.lint.rules import list_rules

    if args.list_rules:
        print(list_rules(), end="")
        return EXIT_OK
    if not args.paths:
        return _err("give at least one PATH (a YAML file or a directory)")
    from generator import catalog
    from generator.lint.collect import UsageError
    from generator.lint.output import FORMATTERS
    from generator.lint.run import lint_paths
    from generator.validate import store as schema_store
    from generator.validate.kustomize import KustomizeMissing

    cat = catalog.load()
    release, vm_nics = args.release, args.vm_nics
    cluster = args.cluster or (None if args.release else _auto_cluster(repo, args.paths))
    if cluster:
        from generator.spec.load import SpecError, load_spec
        try:
            spec = load_spec(repo, cluster)
        except SpecError as exc:
            return _err(str(exc))
        except (OSError, ValueError) as exc:
            return _err(f"clusters/{cluster}.yaml: {exc}")
        release = release or spec.release.tag
        if vm_nics is None and args.vm_size is None:
            vm_nics = spec.vm_size.nics
    release = release or cat.default_release
    if release not in schema_store.NETWORK_OPERATOR_RELEASES:
        return _err(f"unknown release {release!r}; known: {', '.join(schema_store.NETWORK_OPERATOR_RELEASES)}")
    if args.vm_size:
        size = cat.vm_sizes.get(args.vm_size)
        if size is None:
            return _err(f"unknown VM size {args.vm_size!r}; known: {', '.join(cat.vm_sizes)}")
        vm_nics = size.nics
    if vm_nics is not None and vm_nics < 1:
        return _err("--vm-nics must be at least 1")
    try:
        store = schema_store.open_store(mirror)
        result = lint_paths(args.paths, release, base=Path.cwd(), strict=args.strict, vm_nics=vm_nics,
                            build=not args.no_kustomize, store=store)
    except UsageError as exc:
        return _err(str(exc))
    except (schema_store.SchemaSourceError, KustomizeMissing) as exc:
        return _err(str(exc))
    sys.stdout.write(FORMATTERS[args.format](result))
    return EXIT_FAILED if result.errors else EXIT_OK
