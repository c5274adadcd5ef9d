"""``gen init [DIR]``: a new GitOps repo from the cookiecutter template in ``generator/init/template/``.

Everything happens in a temporary directory first: the answers are checked, the template rendered, and the new repo
bundled there (``gen bundle --all``: every overlay built with kustomize and validated). Only then is DIR written.

- DIR new or empty: the rendered repo and its ``output/`` are copied in. On any failure before that, nothing is
  written.
- DIR not empty: refused (exit 2) unless ``--force``. With ``--force``, the template's files replace the same paths in
  DIR (the cluster spec, README.md, .gitignore, .pre-commit-config.yaml, the CI workflow, the cluster schema) and
  nothing else is changed or deleted; a link or a non-regular file on one of those paths is refused before anything
  is written. The check in the temporary directory then includes DIR's other specs, and once the files are written
  ``gen bundle --all`` runs in DIR itself, so ``output/`` covers every cluster there (by gen's ownership rules).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path, PurePosixPath

from generator.cli.bundle import bundle
from generator.cli.options import schema_source
from generator.cluster.model import MODES
from generator.cluster.overlay import check_overlays_tree
from generator.cluster.parse import MAX_SPEC_BYTES
from generator.core import layout
from generator.core.errors import EXIT_OK, GenError, InputError, printable
from generator.core.fs import atomic_write, read_regular
from generator.pipeline.messages import Messages

LOCK = f"{layout.OUTPUT_DIR}/.gen.lock"


HELP = ("scaffold a new GitOps repo in DIR from gen's cookiecutter template: a cluster spec, pre-commit hooks, a CI "
        "workflow, a README, and the bundle with the Argo CD bootstrap")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", nargs="?", type=Path, default=None, metavar="DIR",
                   help="the new repo's directory, created if missing (default: --repo, else the current directory)")
    p.add_argument("--no-input", action="store_true",
                   help="ask nothing: answers from the options below, --config-file and the template's defaults")
    p.add_argument("--config-file", type=Path, default=None, metavar="FILE",
                   help="a cookiecutter user config; its default_context gives answers (repo_url, cluster_name, "
                        "mode, vm_size, gen_package)")
    p.add_argument("--force", action="store_true",
                   help="write into a non-empty DIR: the template's files replace the same paths there, nothing "
                        "else is changed or deleted; then gen bundle --all runs there")
    p.add_argument("--repo-url", default=None, metavar="URL",
                   help="Git URL of the new repo as Argo CD reads it (https:// or ssh, no credentials)")
    p.add_argument("--cluster", dest="cluster_name", default=None, metavar="NAME",
                   help="the first cluster's name (a DNS-1123 label)")
    p.add_argument("--mode", default=None, metavar="MODE", help=f"its mode: {', '.join(MODES)}")
    p.add_argument("--vm-size", default=None, metavar="SIZE",
                   help="the VM size of its InfiniBand node pool (gen catalog vm-sizes)")
    p.add_argument("--gen-package", default=None, metavar="REQUIREMENT",
                   help="where the new repo's CI and README install gen from, as a pip requirement (default: this "
                        "gen's source at its release tag, git+<source>@v<version>; or a wheel's path or URL, or "
                        "rdma-gitops==VERSION on your own package index)")
    schema_source(p)


def _target(args: argparse.Namespace) -> Path:
    if args.dir is not None and args.repo is not None:
        raise InputError("gen init: give the new repo's directory once: DIR or --repo")
    target: Path = args.dir if args.dir is not None else (args.repo or Path("."))
    return target


def _occupied(target: Path, shown: str, force: bool) -> bool:
    """Whether DIR holds anything (then only with --force); refuses a DIR that is not a directory."""
    if not os.path.lexists(target):
        return False
    if not target.is_dir():
        raise InputError(f"{shown}: not a directory; give gen init a new or empty directory for the repo")
    entries = sorted(os.listdir(target))
    if not entries:
        return False
    if not force:
        listed = ", ".join(printable(e) for e in entries[:3]) + (", ..." if len(entries) > 3 else "")
        raise InputError(f"{shown}: not empty ({listed}); gen init writes into a new or empty directory, or pass "
                         "--force to write the template's files over the same paths there (nothing else is changed "
                         "or deleted)")
    return True


def _preflight(target: Path, shown: str, rels: list[str]) -> int:
    """With --force: every existing directory on a path the template writes must be a directory (not a link to one)
    and every existing file a regular file; returns how many files will be replaced."""
    replaced = 0
    for rel in rels:
        parts = PurePosixPath(rel).parts
        for depth in range(1, len(parts) + 1):
            sub = "/".join(parts[:depth])
            try:
                mode = os.lstat(target / sub).st_mode
            except FileNotFoundError:
                break
            last = depth == len(parts)
            if stat.S_ISLNK(mode):
                raise InputError(f"{shown}/{sub}: is a symbolic link; gen init --force writes only into directories "
                                 f"and over regular files inside {shown} (it writes {rel}); move the link away")
            if not last and not stat.S_ISDIR(mode):
                raise InputError(f"{shown}/{sub}: not a directory, but gen init writes {rel}; move it away")
            if last and not stat.S_ISREG(mode):
                raise InputError(f"{shown}/{sub}: not a regular file, but gen init writes a file there; move it away")
            replaced += last
    return replaced


def _copy_inputs(target: Path, staged: Path, own: str) -> None:
    """DIR's other cluster specs and its overlays/ into the staged repo, so that the staged bundle checks the repo as
    it will be. The overlays are checked as gen bundle checks them (links inside the repo, nothing but directories
    and regular files), then copied with their links as links."""
    clusters = target / layout.CLUSTERS_DIR
    if clusters.is_dir():
        for entry in sorted(clusters.iterdir()):
            rel = f"{layout.CLUSTERS_DIR}/{entry.name}"
            if rel != own and entry.suffix in (".yaml", ".yml") and not entry.is_dir():
                atomic_write(staged / rel, read_regular(entry, MAX_SPEC_BYTES, rel))
    overlays = target / layout.OVERLAYS_DIR
    if overlays.is_dir() and not overlays.is_symlink():
        check_overlays_tree(target)
        shutil.copytree(overlays, staged / layout.OVERLAYS_DIR, symlinks=True)


class Unfinished(GenError):
    """With --force, the template's files are written but ``gen bundle --all`` failed in DIR (its exit code)."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


def run(args: argparse.Namespace, repo: Path, mirror: Path | None) -> int:
    target = _target(args)
    messages = Messages()  # one per command: a chart not at hand is said once, in the staged run or the real one
    shown = printable(str(target))
    occupied = _occupied(target, shown, args.force)
    from generator.init import scaffold  # cookiecutter (and rich, jinja2) only when gen init runs

    config: dict[str, scaffold.Given] = {}
    if args.config_file is not None:
        config, warnings = scaffold.read_config(args.config_file, printable(str(args.config_file)))
        for warning in warnings:
            print(f"gen: warning: {warning}", file=sys.stderr)
    options = {key: scaffold.Given(getattr(args, key), flag) for key, flag in scaffold.QUESTIONS.items()
               if getattr(args, key) is not None}
    with scaffold.template_dir() as template, tempfile.TemporaryDirectory(prefix="gen-init-") as tmp:
        answers = scaffold.ask(template, config, options, no_input=args.no_input)
        staged = scaffold.render(template, answers, Path(tmp))
        own = scaffold.files(staged)
        spec = layout.spec_file(answers["cluster_name"])
        replaced = 0
        if occupied:
            replaced = _preflight(target, shown, own)
            _copy_inputs(target, staged, spec)
        report = io.StringIO()
        with contextlib.redirect_stdout(report):
            bundle(staged, [], True, prune=False, force=False, mirror=mirror, messages=messages)
        written = own if occupied else [rel for rel in scaffold.files(staged) if rel != LOCK]
        for rel in written:
            atomic_write(target / rel, (staged / rel).read_bytes())
    what = (f"cluster {answers['cluster_name']} ({answers['mode']} on {answers['vm_size']}, network-operator "
            f"{answers['_network_operator_version']})")
    if not occupied:
        print(report.getvalue(), end="")
        print(f"gen init: {shown}: a new GitOps repo for {what}: {len(written)} file(s) written")
        print(f"gen init: next: commit it all (git init, if {shown} is no git repo yet), push it to "
              f"{answers['repo_url']}, and see its README.md to set up and bootstrap Argo CD")
        return EXIT_OK
    print(f"gen init: {shown}: the template's {len(written)} file(s) for {what} written ({replaced} replaced); "
          "nothing else changed")
    try:
        return bundle(Path(os.path.realpath(target)), [], True, prune=False, force=False, mirror=mirror,
                      messages=messages)
    except GenError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        raise Unfinished(f"gen init: {shown}: the template's files are written, but output/ is not up to date: mend "
                         "what is said above, then run gen bundle --all there", exc.exit_code) from None
