"""Objects as they were at a git commit, for the update checks: ``gen lint --against [REF]`` and ``gen check``.

An update is checked by evaluating the CRD's CEL rules with ``oldSelf`` bound to the object's previous version (so
a transition rule such as ``self == oldSelf``, an immutable field, fails when the change would be refused). The
previous version is the same object (apiVersion group, kind, namespace, name) at REF, read without a checkout
(``generator.programs.git``): for ``gen lint``, the linted paths and the kustomize directories they build, collected
and built as they were there; for ``gen check``, what Argo CD applied from the committed ``output/`` there.

REF defaults to the merge base of HEAD with the default branch (HEAD on that branch). An explicit REF that git does
not know is an error (exit 2); with the default, outside a git checkout or before the first commit, the update
checks are skipped with a note.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from generator.core import layout
from generator.core.errors import GenError
from generator.core.kube import Obj
from generator.programs import applied, git

if TYPE_CHECKING:  # the checks are imported by gen lint --against when it compares: gen check's start-up stays short
    from generator.check.validators.kinds import Schemas
    from generator.manifests.collect import Collected


def revision(repo: Path, ref: str | None) -> git.Revision:
    """The commit ``ref`` names (None: the default); GitError when there is none."""
    top = git.toplevel(repo)
    return git.resolve(top, ref) if ref is not None else git.default_revision(top)


class _Against:
    """A commit to compare with, resolved when made: an explicit REF git does not know is a GitError before anything
    is read; without one (the default), a failure is kept as the note that says why nothing was compared."""

    def __init__(self, where: Path, ref: str | None) -> None:
        self.revision: git.Revision | None = None
        self.top = where
        self.skipped = ""
        try:
            self.revision = revision(where, ref)
            self.top = Path(os.path.realpath(git.toplevel(where)))
        except git.GitError as exc:
            if ref is not None:
                raise
            self.skipped = f"update rules (oldSelf) not checked: {exc}"


class LintAgainst(_Against):
    """``gen lint --against [REF]``: gives every linted object whose previous version matters (it has a field a
    transition rule sits on, or fails a CEL rule) its version at REF."""

    def __init__(self, ref: str | None, base: Path, paths: list[Path], build: bool, schemas: Schemas) -> None:
        first = (base / paths[0]) if paths else base  # the repository of the linted paths, not of the directory
        where = first if first.is_dir() else first.parent
        super().__init__(where if where.is_dir() else base, ref)
        self.base, self.paths, self.build, self.schemas = base, paths, build, schemas

    def __call__(self, collected: Collected) -> list[str]:
        from generator.check.cel.rule import needs_previous
        from generator.check.previous import PreviousIndex
        from generator.manifests.collect import collect

        wanted = [item for item in collected.items if not item.patch and needs_previous(item.obj, self.schemas)]
        rev, top = self.revision, self.top
        if rev is None:
            return [self.skipped] if wanted else []
        if not wanted:
            return [f"{rev.ref} ({rev.short}) not read: no object has a field with an update rule (oldSelf) or fails "
                    "a CEL rule"]
        lint_rels = _inside(top, self.paths)
        reads = sorted(set(lint_rels) | set(_inside(top, collected.kustomize_dirs)))
        index = PreviousIndex()
        with tempfile.TemporaryDirectory(prefix="gen-lint-") as tmp:
            root = Path(os.path.realpath(tmp))
            if reads:
                git.read_tree(top, rev.commit, reads, root)
            then = collect([root / rel for rel in lint_rels], base=root, build=self.build, missing_ok=True)
        for item in then.items:
            if not item.patch:
                index.add(item.obj, item.doc is None, os.path.normpath(item.file))
        found = 0
        for item in wanted:
            scope = os.path.relpath(os.path.realpath(self.base / item.file), top)
            item.old = index.find(item.obj, item.doc is None, scope)
            found += item.old is not None
        return [f"compared with {rev.ref} ({rev.short}): {found} of {len(wanted)} object(s) with update rules "
                "(oldSelf) or failing CEL rules were there, and checked as updates"]


def _inside(top: Path, paths: Iterable[Path]) -> list[str]:
    """The paths' places in the work tree (those outside it are left out)."""
    out = []
    for path in paths:
        rel = os.path.relpath(os.path.realpath(path), top)
        if rel != ".." and not rel.startswith("../"):
            out.append("." if rel == "." else Path(rel).as_posix())
    return out


class CommittedOutput(_Against):
    """``gen check``: what Argo CD applied from the committed output of a cluster at REF (its built overlay), read
    when a cluster's objects first need it (``None``: not there, or not compared; ``notes`` say why)."""

    def __init__(self, repo: Path, ref: str | None) -> None:
        super().__init__(repo, ref)
        self.repo = repo
        self.compared: list[str] = []
        self.problems: list[str] = []
        self._done: dict[str, list[Obj] | None] = {}
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._root = repo

    def __call__(self, name: str) -> list[Obj] | None:
        if name not in self._done:
            self._done[name] = self._read(name)
        return self._done[name]

    def changed_clusters(self) -> set[str] | None:
        """The clusters whose ``output/<name>/`` or ``overlays/<name>/`` differs from the commit (files changed,
        deleted or not committed): only their objects can be updates. Empty when nothing is compared; None (every
        cluster) when git cannot say, or a shared overlay directory changed."""
        rev = self.revision
        if rev is None:
            return set()
        out = f"{self._inside()}{layout.OUTPUT_DIR}/"
        overlays = f"{self._inside()}{layout.OVERLAYS_DIR}/"
        try:
            paths = git.changed_paths(self.top, rev.commit, [out, overlays])
        except git.GitError:
            return None
        names = set(applied.clusters_in(self.repo))
        found: set[str] = set()
        for path in paths:
            prefix = out if path.startswith(out) else overlays if path.startswith(overlays) else ""
            name = path[len(prefix):].split("/", 1)[0] if prefix else ""
            if prefix == overlays and name not in names:
                return None  # a directory user overlays share (components: [../common]): any cluster may use it
            found.add(name)
        return found

    def unchanged_note(self) -> list[str]:
        """The note when no checked cluster's output differs from the commit (so there is no update to check)."""
        rev = self.revision
        return [] if rev is None else [f"compared with the output at {rev.ref} ({rev.short}): the checked clusters' "
                                       "output is as committed there"]

    def _inside(self) -> str:
        prefix = os.path.relpath(os.path.realpath(self.repo), self.top)
        return "" if prefix == "." else f"{Path(prefix).as_posix()}/"

    def _tree(self, commit: str) -> Path:
        """The commit's output/ and overlays/, read once into a temporary directory kept while this object lives."""
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="gen-check-")
            root = Path(os.path.realpath(self._tmp.name))
            inside = self._inside()
            git.read_tree(self.top, commit, [f"{inside}{layout.OUTPUT_DIR}", f"{inside}{layout.OVERLAYS_DIR}"], root)
            self._root = root / inside if inside else root
        return self._root

    def _read(self, name: str) -> list[Obj] | None:
        rev = self.revision
        if rev is None:
            return None
        where = f"at {rev.ref}"
        tree = self._tree(rev.commit)
        if name not in applied.clusters_in(tree):
            self.compared.append(f"{name} (not there: created)")
            return None
        try:
            applied.check_links(tree, where)
            side = applied.from_tree(tree, [name], where, ())[name]
        except GenError as exc:
            self.problems.append(f"update rules (oldSelf) of {name} not checked: its output {where} "
                                 f"({rev.short}) does not build: {exc}")
            return None
        self.compared.append(name)
        return side.overlay

    @property
    def notes(self) -> list[str]:
        """What was compared, or why nothing was (when an object needed its previous version)."""
        if not self._done:
            return []
        if self.revision is None:
            return [self.skipped]
        done = [f"compared with the output at {self.revision.ref} ({self.revision.short}): "
                f"{', '.join(self.compared)}"] if self.compared else []
        return done + self.problems
