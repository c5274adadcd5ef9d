"""``gen lint PATH...``: its arguments, and the run (the checks are imported only when it runs)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from generator.cli.options import schema_source
from generator.core import layout
from generator.core.errors import EXIT_FAILED, EXIT_OK, InputError, printable
from generator.core.fs import realpath

if TYPE_CHECKING:
    from generator.check.engine import Checker
    from generator.cluster.model import Cluster, Pool
    from generator.manifests.collect import LintResult, SpecContext
    from generator.pipeline.lint_verdicts import Key, Part, Scope, Verdict
    from generator.pipeline.spec_facts import LintSpec
    from generator.programs.kustomization import RootsRead


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


def _cluster_of(repo: Path, path: Path, tops: list[str]) -> str | None:
    """The cluster whose files ``path`` is among: output/<name>/... or overlays/<name>/... of the repo (``tops``:
    their real paths), when clusters/<name>.yaml exists."""
    real = realpath(path)  # a link loop stays as it is
    for top in tops:
        if real.startswith(top + os.sep):
            name = real[len(top) + 1:].split(os.sep, 1)[0]
            if (repo / layout.spec_file(name)).is_file():
                return name
    return None


def _tops(repo: Path) -> list[str]:
    """The real paths of the repo's output/ and overlays/."""
    return [realpath(repo / top) for top in (layout.OUTPUT_DIR, layout.OVERLAYS_DIR)]


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

    keyed = _keyed(args, repo, mirror)
    split = lint_verdicts.parts_of(args.paths, repo) if keyed is not None and _per_cluster(args) else None
    verdict = _lint_in_parts(args, repo, mirror, split) if split is not None else None
    key = lint_verdicts.verdict_key(*keyed) if keyed is not None and verdict is None else None
    verdict = verdict or lint_verdicts.kept(key)
    if verdict is None:
        verdict = _lint(args, repo, mirror)
        again = _keyed(args, repo, mirror)  # the charts at hand too may have changed while it ran
        if key is not None and again is not None and lint_verdicts.still_holds(key, *again):
            lint_verdicts.keep(key, verdict)  # nothing changed while it ran
    sys.stderr.write(verdict.stderr)
    sys.stdout.write(verdict.stdout)
    return verdict.code


def _per_cluster(args: argparse.Namespace) -> bool:
    """Whether each cluster's files are checked with their own spec's checker (no option names one for all)."""
    return not (args.release or args.cluster or args.vm_size or args.vm_nics is not None or args.against is not None)


def _lint_in_parts(args: argparse.Namespace, repo: Path, mirror: Path | None,
                   split: list[tuple[Scope, list[Path]]]) -> Verdict | None:
    """Lint ``output/`` cluster by cluster (``lint_verdicts.parts_of``): each cluster's part printed from what was
    kept of it when nothing it reads changed, the others linted and kept. None when a part cannot be keyed (then the
    paths are linted whole). The parts are keyed, and then linted, half in a forked process (``programs.forked``:
    the same parts, findings and errors as one process gives); each cluster's checker is made before, once."""
    from generator.pipeline import lint_verdicts
    from generator.programs.forked import in_halves

    keyed = _keyed(args, repo, mirror)
    assert keyed is not None
    fixed = lint_verdicts.fixed_digest(repo, keyed[2], keyed[3])
    if fixed is None:
        return None
    kept = lint_verdicts.kept_parts(fixed)  # read once, before the fork
    builds = not args.no_kustomize
    looked = in_halves(split, lambda chunk: [_looked_up(scope, paths, repo, keyed, builds, kept)
                                             for scope, paths in chunk])
    if any(each.key is None for each in looked):
        return None
    keys = [each.key for each in looked if each.key is not None]
    parts = [each.part for each in looked]
    missed = [i for i, part in enumerate(parts) if part is None]
    if missed:
        held = _lint_missed(args, repo, mirror, split, looked, keys, missed, parts)
        lint_verdicts.keep_parts(fixed, [(keys[i], part) for i, part in enumerate(parts)
                                         if part is not None and (i in held or i not in missed)])
    return _verdict(args, *_merged([part for part in parts if part is not None]))


def _lint_missed(args: argparse.Namespace, repo: Path, mirror: Path | None, split: list[tuple[Scope, list[Path]]],
                 looked: list[_Looked], keys: list[Key], missed: list[int], parts: list[Part | None]) -> set[int]:
    """Lint the parts nothing was kept of (``missed``), into ``parts``; which of them may be kept (their keys still
    hold)."""
    from generator.programs.forked import in_halves

    linter = _Linter(args, repo, mirror)
    for i in missed:  # each cluster's checker made once, before the parts are shared out
        facts, name = looked[i].facts, split[i][0].spec
        if facts is not None and name is not None:  # had while keying, in two processes
            linter.take(name, facts)
        for path in split[i][1]:  # (a spec whose facts were not had: read here, its error raised in turn)
            linter.per_file(path)
    known = {directory: key for i in missed for directory, key in looked[i].builds.items()}
    if known:  # every part's builds made once, in one pool, before the parts are shared out
        from generator.programs.kustomize import build_missing

        build_missing(known)
    linter.keep_facts()
    linted = in_halves(missed, lambda chunk: _linted_and_held(
        linter, [keys[i] for i in chunk], [split[i] for i in chunk], repo, mirror, known))
    for i, (part, _) in zip(missed, linted, strict=True):
        parts[i] = part
    return {i for i, (_, holds) in zip(missed, linted, strict=True) if holds}


class _Looked(NamedTuple):
    """A part as keying found it: its key (None: not keyed), what was kept under it (None: nothing), and, when nothing
    was, its cluster's spec facts (None: no cluster, or they could not be had here: then they are read where they
    were needed before, and a spec's error is raised there, in turn) and the keys of its kustomize directories'
    builds (``kustomize.inputs_key``, by real path)."""

    key: Key | None
    part: Part | None
    facts: LintSpec | None
    builds: dict[Path, str | None]


def _looked_up(scope: Scope, paths: list[Path], repo: Path, keyed: tuple[list[Path], Path, list[str], list[str]],
               builds: bool, kept: dict[str, Any]) -> _Looked:
    """A part's key and what ``kept`` (``lint_verdicts.kept_parts``) holds under it; when nothing, its spec's facts
    and, with ``builds``, its builds' keys, taken from the same reads of its kustomization roots as its key."""
    from generator.pipeline import lint_verdicts
    from generator.pipeline.spec_facts import spec_facts
    from generator.programs.kustomization import RootsRead

    read = RootsRead()
    key = lint_verdicts.verdict_key(paths, repo, keyed[2], keyed[3], scope, read)
    part = lint_verdicts.part_in(kept, key) if key is not None else None
    if key is None or part is not None:
        return _Looked(key, part, None, {})
    facts = None
    if scope.spec is not None:
        try:
            facts = spec_facts(repo, scope.spec)
        except Exception:  # read again in turn, where its error is raised as before
            facts = None
    return _Looked(key, None, facts, _build_keys(paths, read) if builds else {})


def _build_keys(paths: list[Path], read: RootsRead) -> dict[Path, str | None]:
    """The build key of every kustomize directory under ``paths`` (by real path, as ``gen lint`` builds them)."""
    from generator.manifests.files import walk
    from generator.programs.kustomization import real_path
    from generator.programs.kustomize import inputs_key, kustomize_command

    command = kustomize_command()
    directories = dict.fromkeys(real_path(d) for path in paths if path.is_dir() for d in walk(path).kustomize_dirs)
    return {directory: inputs_key(directory, command, read) for directory in directories}


def _linted_and_held(linter: _Linter, keys: list[Key], parts: list[tuple[Scope, list[Path]]], repo: Path,
                     mirror: Path | None, builds: dict[Path, str | None]) -> list[tuple[Part, bool]]:
    """Parts linted (their builds, by the keys ``builds`` took, read from the cache), each with whether its key still
    holds: nothing it read changed while they ran (the charts at hand among them); only those are kept."""
    from generator.pipeline import lint_verdicts
    from generator.pipeline.lint_verdicts import Part
    from generator.programs.kustomize import keys_once

    linted = []
    with keys_once(builds):
        for _, paths in parts:
            result, inferred = linter.lint(paths)
            linted.append(Part(tuple(result.findings), result.files, result.objects, result.builds,
                               tuple((str(p), why) for p, why in result.skipped), tuple(inferred)))
    again = _keyed(linter.args, repo, mirror)
    return [(part, again is not None and lint_verdicts.still_holds(key, paths, repo, again[2], again[3], scope))
            for key, (scope, paths), part in zip(keys, parts, linted, strict=True)]


def _merged(parts: list[Part]) -> tuple[LintResult, list[str]]:
    """The parts as one result (its findings in the order a whole run sorts them), and the releases inferred."""
    from generator.manifests.collect import LintResult

    result = LintResult(sorted({f for part in parts for f in part.findings}, key=lambda f: f.sort_key()),
                        files=sum(p.files for p in parts), objects=sum(p.objects for p in parts),
                        builds=sum(p.builds for p in parts),
                        skipped=[(Path(p), why) for part in parts for p, why in part.skipped])
    return result, [how for part in parts for how in part.inferred]


def _keyed(args: argparse.Namespace, repo: Path, mirror: Path | None,
           ) -> tuple[list[Path], Path, list[str], list[str]] | None:
    """What this run's verdict is keyed on besides the files (``lint_verdicts``): the paths, the repo, the options,
    the mirror and the charts at hand; None with --against (the verdict then depends on git's history too)."""
    if args.against is not None:
        return None
    from generator.pipeline.charts_at_hand import charts_at_hand

    options = [f"{name}={getattr(args, name)!r}" for name in
               ("release", "cluster", "vm_size", "vm_nics", "strict", "format", "no_kustomize")]
    charts = [f"{name}:{sha}" for name, sha in charts_at_hand(mirror)]
    return list(args.paths), repo, options, [str(mirror), *charts]


def _lint(args: argparse.Namespace, repo: Path, mirror: Path | None) -> Verdict:
    """Lint the paths: what to print on stderr and stdout, and the exit code."""
    linter = _Linter(args, repo, mirror)
    result, inferred = linter.lint(args.paths)
    linter.keep_facts()
    return _verdict(args, result, inferred)


class _Linter:
    """Lints paths with the options' checker, or each cluster's files with its spec's (checkers shared by every
    call)."""

    def __init__(self, args: argparse.Namespace, repo: Path, mirror: Path | None):
        from generator import catalog
        from generator.check.engine import checker_for
        from generator.sources.schema_store import open_store

        self.args, self.repo = args, repo
        self.cat = catalog.load()
        self.release, self.vm_nics, gpu_release, self.pools = _options(args, repo, self.cat)
        self.store = open_store(mirror)
        self.clusters: dict[str, tuple[Checker, SpecContext]] = {}
        self.facts: dict[str, LintSpec] = {}
        self.checkers: dict[tuple[str, str, str | None], Checker] = {}
        self.tops = _tops(repo)
        self.explicit = (checker_for(self.release, store=self.store, gpu_release=gpu_release)
                         if self.release else None)

    def per_file(self, path: Path) -> tuple[Checker, SpecContext] | None:
        """A cluster's files (output/<name>/, overlays/<name>/): its spec's release, VM sizes and pools."""
        from generator.pipeline.spec_facts import spec_facts

        name = _cluster_of(self.repo, path, self.tops)
        if name is None:
            return None
        if name not in self.clusters:
            self.take(name, spec_facts(self.repo, name))
        return self.clusters[name]

    def take(self, name: str, facts: LintSpec) -> None:
        """Cluster ``name``'s checker and spec context, from its spec's facts."""
        from generator.check.engine import checker_for
        from generator.manifests.collect import SpecContext

        self.facts[name] = facts
        which = (facts.release, facts.kube_version, facts.gpu_release)
        if which not in self.checkers:  # many clusters share a release and a Kubernetes version
            self.checkers[which] = checker_for(facts.release, store=self.store, kube_version=facts.kube_version,
                                               gpu_release=facts.gpu_release)
        self.clusters[name] = (self.checkers[which],
                               SpecContext(self.vm_nics if self.vm_nics is not None else facts.nics, facts.pools))

    def keep_facts(self) -> None:
        """Keep the facts of the specs read (``spec_facts.keep``): the next run reads them instead of the specs."""
        from generator.pipeline import spec_facts

        spec_facts.keep(self.repo, self.facts.items())

    def lint(self, paths: list[Path]) -> tuple[LintResult, list[str]]:
        """The result of linting ``paths``, and the releases inferred for files of no cluster."""
        from generator.check.engine import checker_for
        from generator.check.infer import infer_release
        from generator.manifests.collect import lint_paths

        args, inferred = self.args, []

        def choose(objects: list[Any]) -> Checker:
            """The release the policies' image versions name, else the catalog default."""
            found = infer_release(objects)
            if found is not None:
                inferred.append(f"network-operator {found[0]} ({found[1]}; --release to choose)")
            return checker_for(found[0] if found else self.cat.default_release, store=self.store)

        against = None
        if args.against is not None:
            from generator.manifests.committed import LintAgainst

            # which objects need their previous version: by the chosen release's CRDs, else by the newest (update
            # rules are only ever added); each object is then checked with its own release's
            schemas = checker_for(self.release or self.cat.release_tags[-1], store=self.store).schemas
            against = LintAgainst(args.against or None, Path.cwd(), paths, not args.no_kustomize, schemas)
        result = lint_paths(paths, self.explicit or choose, base=Path.cwd(), strict=args.strict,
                            vm_nics=self.vm_nics, build=not args.no_kustomize,
                            per_file=None if self.explicit else self.per_file, against=against, pools=self.pools)
        return result, inferred


def _verdict(args: argparse.Namespace, result: LintResult, inferred: list[str]) -> Verdict:
    """What to print for a lint's result (stderr, stdout) and its exit code."""
    from generator.pipeline.lint_verdicts import Verdict
    from generator.report.reporter import Summary, report

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
