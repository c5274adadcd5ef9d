"""The real git, read-only: which commit a ref names, the default branch's merge base, and the files of a commit.

gen never changes the checkout, the index or a ref: it runs only ``rev-parse``, ``symbolic-ref``, ``show-ref``,
``merge-base``, ``ls-tree`` and ``cat-file`` (with ``GIT_OPTIONAL_LOCKS=0``, so not even the index's stat cache is
refreshed). A commit's files are read as git stores them (``cat-file``), not through ``git archive``, so no
``.gitattributes`` of that commit (``export-ignore``, ``export-subst``, filters) changes what is compared; which
working-tree files differ from a commit is worked out here, by hashing them as git would, not by ``git diff`` or
``git status`` (which read the index and the work tree, and run the checkout's fsmonitor, filters and textconv).

A checkout's own configuration (``.git/config``) may name programs git runs: every call turns them off
(``SAFE_CONFIG``: the fsmonitor, hooks, external diff, pager, credential helpers, every transport), so a cloned or
unpacked repository cannot make gen run anything. git's own refusal of a repository another user owns
(``safe.directory``) is kept, and said as one message. Every blob's size is asked (``cat-file --batch-check``) before
a byte of it is read.
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from generator.core.errors import InputError, printable
from generator.core.fs import MAX_FILE_BYTES
from generator.programs.run import Program, Stopped, run

TIMEOUT_SECONDS = 120
MAX_TREE_BYTES = 512 * 1024 * 1024  # what one commit's output/ and overlays/ may hold, all files together
MAX_BLOB_BYTES = MAX_FILE_BYTES  # what one file of them may hold (as gen reads every other input)
DEFAULT_BRANCHES = ("main", "master")
# Configuration that names programs git would run, turned off for every call (``-c`` outranks the checkout's own)
SAFE_CONFIG = ("core.fsmonitor=false", "core.untrackedCache=false", "core.hooksPath=/dev/null", "core.pager=cat",
               "core.askPass=", "core.sshCommand=false", "core.gitProxy=", "core.alternateRefsCommand=",
               "credential.helper=", "diff.external=", "protocol.allow=never", "gpg.program=false")


class GitError(InputError):
    """Not a git checkout, an unknown ref, or git missing (exit 2)."""


@dataclass(frozen=True)
class Revision:
    """The commit to compare with, and how it was chosen (for the report's heading)."""

    commit: str
    ref: str  # "HEAD", "v1.2", "the merge base of HEAD and origin/main"
    why: str = ""  # why the default is this one ("HEAD is on the default branch main")

    @property
    def short(self) -> str:
        return self.commit[:12]


GIT = Program("git", "", (), (("git",),), "install git (gen diff, and gen lint --against, compare with a git commit)",
              GitError)


def _git(repo: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    command = GIT.command()
    if command is None:
        raise GitError("git is not installed (gen diff, and gen lint --against, compare with a git commit); install "
                       "git")
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    safe = [arg for pair in SAFE_CONFIG for arg in ("-c", pair)]
    proc = run(GIT, [*command, *safe, "-C", str(repo), *args], timeout=TIMEOUT_SECONDS, env=env, stdin=stdin)
    if isinstance(proc, Stopped):
        raise GitError(f"git {args[0]} {proc.why} in {repo}")
    if proc.returncode != 0 and b"dubious ownership" in proc.stderr:
        raise GitError(f"{repo}: the git repository is owned by another user, and git refuses it (safe.directory); "
                       "run gen as its owner, or, if you trust it, add it to safe.directory in your own git "
                       "configuration")
    return proc


def _said(proc: subprocess.CompletedProcess[bytes]) -> str:
    lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
    return printable(lines[-1]) if lines else f"git exited {proc.returncode}"


def _out(proc: subprocess.CompletedProcess[bytes]) -> str:
    return proc.stdout.decode("utf-8", "surrogateescape").strip()


def checkout(repo: Path) -> str:
    """The repo's path inside its git work tree ("" at the top); GitError when it is not in one."""
    proc = _git(repo, "rev-parse", "--is-inside-work-tree", "--show-prefix")
    lines = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
    if proc.returncode != 0 or not lines or lines[0] != "true":
        why = _said(proc) if proc.returncode != 0 else "inside a .git directory or a bare repository"
        raise GitError(f"{repo}: not a git checkout ({why}); gen diff compares the working tree with a commit: "
                       "run it in a clone of the GitOps repository")
    return lines[1] if len(lines) > 1 else ""


def toplevel(path: Path) -> Path:
    """The top of the git work tree ``path`` lies in; GitError when it lies in none."""
    proc = _git(path, "rev-parse", "--show-toplevel")
    if proc.returncode != 0 or not _out(proc):
        why = _said(proc) if proc.returncode != 0 else "inside a .git directory or a bare repository"
        raise GitError(f"{path}: not a git checkout ({why}); --against compares with a git commit: run it in a clone "
                       "of the GitOps repository")
    return Path(_out(proc))


def _commit(repo: Path, ref: str) -> str | None:
    proc = _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    return _out(proc) if proc.returncode == 0 and _out(proc) else None


def resolve(repo: Path, ref: str) -> Revision:
    """The commit ``ref`` names (a branch, a tag, a commit, ``HEAD~2``); GitError when it names none."""
    commit = _commit(repo, ref) if ref and not ref.startswith("-") else None
    if commit is None:
        raise GitError(f"--against {printable(ref)!r}: not a commit in {repo} (git rev-parse knows no such ref); give "
                       "a branch, a tag or a commit, e.g. --against HEAD or --against origin/main")
    return Revision(commit, ref)


def default_branch(repo: Path) -> str | None:
    """The default branch: the one ``origin/HEAD`` points at, else a local ``main``, else ``master``, else (a CI
    checkout of a pull request, with no local branch) ``origin/main`` or ``origin/master``."""
    proc = _git(repo, "symbolic-ref", "--quiet", "refs/remotes/origin/HEAD")
    if proc.returncode == 0 and _out(proc).startswith("refs/remotes/"):
        return _out(proc)
    candidates = [f"refs/heads/{b}" for b in DEFAULT_BRANCHES] + [f"refs/remotes/origin/{b}" for b in DEFAULT_BRANCHES]
    for ref in candidates:
        if _git(repo, "show-ref", "--verify", "--quiet", ref).returncode == 0:
            return ref
    return None


def _short(ref: str) -> str:
    for prefix in ("refs/heads/", "refs/remotes/"):
        if ref.startswith(prefix):
            return ref[len(prefix):]
    return ref


def default_revision(repo: Path) -> Revision:
    """The merge base of HEAD with the default branch; HEAD itself when HEAD is on that branch, or there is no
    default branch or no merge base (each said in the label)."""
    head = _commit(repo, "HEAD")
    if head is None:
        raise GitError(f"{repo}: the git repository has no commit yet; commit the GitOps repo first, or pass "
                       "--against REF")
    branch = default_branch(repo)
    if branch is None:
        return Revision(head, "HEAD", "no origin/HEAD, main or master branch to take the merge base with")
    current = _git(repo, "symbolic-ref", "--quiet", "HEAD")
    on = _out(current).removeprefix("refs/heads/") if current.returncode == 0 else None
    name = _short(branch)
    if on is not None and on in (name, name.partition("/")[2]):
        return Revision(head, "HEAD", f"HEAD is on the default branch {name}")
    base = _git(repo, "merge-base", head, branch)
    if base.returncode != 0 or not _out(base):
        return Revision(head, "HEAD", f"HEAD has no merge base with {name}")
    return Revision(_out(base), f"the merge base of HEAD and {name}")


def changed_paths(repo: Path, commit: str, paths: Sequence[str]) -> list[str]:
    """The files under ``paths`` (relative to ``repo``) that differ between ``commit`` and the working tree: changed,
    deleted, or there and not committed (untracked, ignored ones too). Worked out by hashing the working tree's files
    as git hashes blobs, so git never reads the index or the work tree (nor runs what the checkout configures)."""
    committed = {path: (mode, blob) for mode, blob, path in _entries(repo, commit, paths)}
    algorithm = _out(_git(repo, "rev-parse", "--show-object-format")) or "sha1"
    found: list[str] = []
    seen: set[str] = set()
    for top in paths:
        for here, dirs, files in os.walk(repo / top):
            dirs.sort()
            for name in [*sorted(files), *[d for d in dirs if os.path.islink(os.path.join(here, d))]]:
                path = Path(here) / name
                rel = path.relative_to(repo).as_posix()
                seen.add(rel)
                if committed.get(rel) != _worktree_entry(path, algorithm):
                    found.append(rel)
    return found + [path for path in committed if path not in seen]


def _worktree_entry(path: Path, algorithm: str) -> tuple[str, str] | None:
    """(mode, blob id) git would give the working-tree file ``path`` (None: not a file or link git would store)."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        target = os.fsencode(os.readlink(path))
        return "120000", _blob_id(algorithm, len(target), [target])
    if not stat.S_ISREG(st.st_mode):
        return None
    mode = "100755" if st.st_mode & stat.S_IXUSR else "100644"
    with open(path, "rb") as handle:
        return mode, _blob_id(algorithm, st.st_size, iter(lambda: handle.read(1 << 20), b""))


def _blob_id(algorithm: str, size: int, chunks: Iterable[bytes]) -> str:
    """The id git gives a blob of ``size`` bytes (``chunks``): its object format's hash of a header and the bytes."""
    h = hashlib.new(algorithm)
    h.update(b"blob %d\0" % size)
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()


def _entries(repo: Path, commit: str, paths: Sequence[str]) -> list[tuple[str, str, str]]:
    """(mode, blob, path) of every file under ``paths`` at ``commit`` (submodules left out)."""
    listing = _git(repo, "ls-tree", "-r", "-z", commit, "--", *paths)
    if listing.returncode != 0:
        raise GitError(f"git ls-tree {commit[:12]} failed: {_said(listing)}")
    entries: list[tuple[str, str, str]] = []
    for record in listing.stdout.split(b"\0"):
        if not record:
            continue
        meta, _, raw = record.partition(b"\t")
        mode, kind, blob = meta.decode().split()
        if kind != "blob":
            continue
        path = raw.decode("utf-8", "surrogateescape")
        parts = PurePosixPath(path).parts
        if not parts or path.startswith("/") or ".." in parts:
            raise GitError(f"{printable(path)} in {commit[:12]}: not a path inside the repository")
        entries.append((mode, blob, path))
    return entries


def _sizes(repo: Path, commit: str, entries: list[tuple[str, str, str]]) -> None:
    """Every blob's size, asked before any is read (``cat-file --batch-check``): GitError when one is larger than a
    file of a bundle may be, or all together more than a bundle may hold."""
    check = _git(repo, "cat-file", "--batch-check", stdin=b"".join(f"{blob}\n".encode() for _, blob, _ in entries))
    if check.returncode != 0:
        raise GitError(f"git cat-file {commit[:12]} failed: {_said(check)}")
    answers = check.stdout.decode("utf-8", "replace").splitlines()
    total = 0
    for (_, blob, path), answer in zip(entries, answers, strict=False):
        fields = answer.split()
        if len(fields) != 3 or fields[0] != blob or not fields[2].isdigit():
            raise GitError(f"git cat-file {blob}: unexpected answer {printable(answer)}")
        size = int(fields[2])
        total += size
        if size > MAX_BLOB_BYTES:
            raise GitError(f"{printable(path)} in {commit[:12]}: {size:,} bytes, more than the {MAX_BLOB_BYTES:,} "
                           "a file of a GitOps bundle may hold; not read")
        if total > MAX_TREE_BYTES:
            raise GitError(f"{printable(path)} in {commit[:12]}: the files up to it hold more than "
                           f"{MAX_TREE_BYTES:,} bytes; not a GitOps bundle")
    if len(answers) != len(entries):
        raise GitError(f"git cat-file {commit[:12]}: {len(answers)} answers for {len(entries)} files")


def uncommitted(repo: Path, paths: Sequence[str]) -> set[str] | None:
    """Which of ``paths`` (files relative to ``repo``) differ from HEAD: changed, or not committed at all; None where
    git cannot tell (git missing, not a checkout, no commit yet). Worked out as ``changed_paths`` does, by hashing the
    files as git hashes blobs: git never reads the index or the work tree."""
    try:
        if GIT.command() is None:
            return None
        head = _commit(repo, "HEAD")
        if head is None:
            return None
        committed = {path: (mode, blob) for mode, blob, path in _entries(repo, head, paths)}
        algorithm = _out(_git(repo, "rev-parse", "--show-object-format")) or "sha1"
        found = set()
        for path in paths:
            here = repo / path
            entry = _worktree_entry(here, algorithm) if os.path.lexists(here) else None
            if committed.get(path) != entry:
                found.add(path)
    except (GitError, OSError):
        return None
    return found


def read_tree(repo: Path, commit: str, paths: Sequence[str], dest: Path) -> int:
    """Write the files under ``paths`` (relative to ``repo``) as they are in ``commit`` into ``dest``, laid out as in
    ``repo``; links stay links. Returns the number of files written. Submodules are not followed (Argo CD
    applies nothing from them for a path in this repository)."""
    entries = _entries(repo, commit, paths)
    if not entries:
        return 0
    _sizes(repo, commit, entries)
    batch = _git(repo, "cat-file", "--batch", stdin=b"".join(f"{blob}\n".encode() for _, blob, _ in entries))
    if batch.returncode != 0:
        raise GitError(f"git cat-file {commit[:12]} failed: {_said(batch)}")
    data, at = batch.stdout, 0
    inside = os.path.realpath(dest)
    for mode, blob, path in entries:
        end = data.index(b"\n", at)
        header = data[at:end].decode().split()
        if len(header) != 3 or header[0] != blob:
            raise GitError(f"git cat-file {blob}: unexpected answer {printable(' '.join(header))}")
        size = int(header[2])
        content = data[end + 1:end + 1 + size]
        at = end + 1 + size + 1
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if os.path.commonpath([inside, os.path.realpath(target.parent)]) != inside:  # through a link of the commit
            raise GitError(f"{printable(path)} in {commit[:12]}: under a link that leaves the repository")
        if mode == "120000":
            target.symlink_to(os.fsdecode(content))
        else:
            target.write_bytes(content)
    return len(entries)
