"""``gen lint PATH...``: its arguments, and the run (the checks are imported only when it runs)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.cli.options import schema_source
from generator.core import layout
from generator.core.errors import EXIT_FAILED, EXIT_OK, InputError, printable

if TYPE_CHECKING:
    from generator.check.engine import Checker
    from generator.cluster.model import Cluster, Pool
    from generator.manifests.collect import SpecContext
    from generator.pipeline.lint_verdicts import Verdict


HELP = "lint Kubernetes YAML (files, directories, kustomize) for the Network Operator"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                   help="YAML files and directories (kustomize directories are built with kustomize)")
    p.add_argument("--release", default=None, metavar="TAG",
                   help="network-operator release whose CRDs and webhook rules apply (default: for output/NAME/ and "
                        "overlays/NAME/, the release of clusters/NAME.yaml; for other files, the one their "
                        "NicClusterPolicy's image versions name, else the catalog default)")
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
    schema_source(p)


def _nics(model: Cluster) -> int:
    """The most InfiniBand NICs a node of the cluster has (its pools' VM sizes, else its own)."""
    return max(pool.vm_size.nics for pool in model.pools) if model.pools else model.vm_size.nics


def _cluster_of(repo: Path, path: Path) -> str | None:
    """The cluster whose files ``path`` is among: output/<name>/... or overlays/<name>/... of the repo, when
    clusters/<name>.yaml exists."""
    for top in (layout.OUTPUT_DIR, layout.OVERLAYS_DIR):
        try:
            rel = Path(os.path.realpath(path)).relative_to(os.path.realpath(repo / top))  # a link loop stays
        except ValueError:
            continue
        if rel.parts and (repo / layout.spec_file(rel.parts[0])).is_file():
            return rel.parts[0]
    return None


def _skipped_lines(skipped: list[tuple[Path, str]], files: int, paths: list[Path]) -> str:
    """A warning naming every entry of the directories that was not read (a FIFO, a device, a link loop); InputError
    (after saying them) when nothing at all was left to check."""
    from generator.manifests.files import display_path

    lines = "".join(f"gen lint: warning: {printable(display_path(path, Path.cwd()))}: skipped: {what}, not a regular "
                    "file\n" for path, what in skipped)
    if not files:
        sys.stderr.write(lines)
        said = f" ({len(skipped)} skipped, not regular files)" if skipped else ""
        raise InputError(f"nothing to lint: no YAML file or kustomization in {', '.join(map(str, paths))}{said}; "
                         "give the files or directories that hold the manifests")
    return lines


def _options(args: argparse.Namespace, repo: Path,
             cat: Any) -> tuple[str | None, int | None, str | None, tuple[Pool, ...]]:
    """The release, NICs per node, GPU Operator release and pools the options (and --cluster's spec) ask for;
    InputError for an unknown release or VM size."""
    from generator.pipeline.clusters import load_cluster

    release, vm_nics = args.release, args.vm_nics
    gpu_release = None  # the GPU Operator's CRDs: the cluster's release (--cluster), else the default's
    pools: tuple[Pool, ...] = ()
    if args.cluster:
        model = load_cluster(repo, args.cluster)
        release = release or model.release.tag
        gpu_release = model.gpu.operator.release.tag if model.gpu and model.gpu.operator else None
        pools = model.pools
        if vm_nics is None and args.vm_size is None:
            vm_nics = _nics(model)
    if release is not None and release not in cat.releases:
        raise InputError(f"unknown release {release!r}; known: {', '.join(cat.release_tags)}")
    if args.vm_size:
        size = cat.vm_sizes.get(args.vm_size)
        if size is None:
            raise InputError(f"unknown VM size {args.vm_size!r}; known: {', '.join(cat.vm_sizes)}")
        vm_nics = size.nics
    if vm_nics is not None and vm_nics < 1:
        raise InputError("--vm-nics must be at least 1")
    return release, vm_nics, gpu_release, pools


def run(args: argparse.Namespace, repo: Path, mirror: Path | None) -> int:
    from generator.core.rules import list_rules

    if args.list_rules:
        print(list_rules(), end="")
        return EXIT_OK
    if not args.paths:
        raise InputError("give at least one PATH (a YAML file or a directory)")
    from generator.pipeline import lint_verdicts

    key = _verdict_key(args, repo, mirror)
    verdict = lint_verdicts.kept(key)
    if verdict is None:
        verdict = _lint(args, repo, mirror)
        if key is not None and key == _verdict_key(args, repo, mirror):  # nothing changed while it ran
            lint_verdicts.keep(key, verdict)
    sys.stderr.write(verdict.stderr)
    sys.stdout.write(verdict.stdout)
    return verdict.code


def _verdict_key(args: argparse.Namespace, repo: Path, mirror: Path | None) -> str | None:
    """The key of this run's verdict (``lint_verdicts``); None with --against (the verdict then depends on git's
    history too) or when what it reads cannot be keyed."""
    if args.against is not None:
        return None
    from generator.pipeline.charts_at_hand import charts_at_hand
    from generator.pipeline.lint_verdicts import verdict_key

    options = [f"{name}={getattr(args, name)!r}" for name in
               ("release", "cluster", "vm_size", "vm_nics", "strict", "format", "no_kustomize")]
    charts = [f"{name}:{sha}" for name, sha in charts_at_hand(mirror)]
    return verdict_key(args.paths, repo, options, [str(mirror), *charts])


def _lint(args: argparse.Namespace, repo: Path, mirror: Path | None) -> Verdict:
    """Lint the paths: what to print on stderr and stdout, and the exit code."""
    from generator import catalog
    from generator.check.engine import checker_for
    from generator.check.infer import infer_release
    from generator.manifests.collect import SpecContext, lint_paths
    from generator.pipeline.lint_verdicts import Verdict
    from generator.pipeline.spec_facts import spec_facts
    from generator.report.reporter import Summary, report
    from generator.sources.schema_store import open_store

    cat = catalog.load()
    release, vm_nics, gpu_release, pools = _options(args, repo, cat)
    store = open_store(mirror)
    inferred: list[str] = []
    clusters: dict[str, tuple[Checker, SpecContext]] = {}
    checkers: dict[tuple[str, str, str | None], Checker] = {}

    def choose(objects: list[Any]) -> Checker:
        """The release the policies' image versions name, else the catalog default."""
        found = infer_release(objects)
        if found is not None:
            inferred.append(f"network-operator {found[0]} ({found[1]}; --release to choose)")
        return checker_for(found[0] if found else cat.default_release, store=store)

    def per_file(path: Path) -> tuple[Checker, SpecContext] | None:
        """A cluster's files (output/<name>/, overlays/<name>/): its spec's release, VM sizes and pools."""
        name = _cluster_of(repo, path)
        if name is None:
            return None
        if name not in clusters:
            facts = spec_facts(repo, name)
            which = (facts.release, facts.kube_version, facts.gpu_release)
            if which not in checkers:  # many clusters share a release and a Kubernetes version
                checkers[which] = checker_for(facts.release, store=store, kube_version=facts.kube_version,
                                              gpu_release=facts.gpu_release)
            checker = checkers[which]
            clusters[name] = (checker, SpecContext(vm_nics if vm_nics is not None else facts.nics, facts.pools))
        return clusters[name]

    explicit = bool(release)
    chosen: Checker | Callable[[list[Any]], Checker] = (checker_for(release, store=store, gpu_release=gpu_release)
                                                          if release else choose)
    against = None
    if args.against is not None:
        from generator.manifests.committed import LintAgainst

        # which objects need their previous version: by the chosen release's CRDs, else by the newest (update
        # rules are only ever added); each object is then checked with its own release's
        schemas = checker_for(release or cat.release_tags[-1], store=store).schemas
        against = LintAgainst(args.against or None, Path.cwd(), args.paths, not args.no_kustomize, schemas)
    result = lint_paths(args.paths, chosen, base=Path.cwd(), strict=args.strict, vm_nics=vm_nics,
                        build=not args.no_kustomize, per_file=None if explicit else per_file, against=against,
                        pools=pools)
    stderr = "".join(f"gen lint: note: {note}\n" for note in result.notes)
    stderr += _skipped_lines(result.skipped, result.files, args.paths)
    files_with = len({f.file for f in result.findings})
    verdict = "ok" if not result.errors else "failed"
    found = (f"{result.errors} error(s), {result.warnings} warning(s) in {files_with} file(s)" if result.findings
             else "nothing found")
    summary = Summary(
        f"gen lint: {verdict}: {found}; checked {result.files} file(s), {result.objects} object(s), "
        f"{result.builds} kustomize build(s)" + "".join(f"; against {how}" for how in inferred),
        {"files": result.files, "objects": result.objects, "builds": result.builds})
    return Verdict(stderr, report(result.findings, args.format, summary), EXIT_FAILED if result.errors else EXIT_OK)
