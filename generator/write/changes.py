"""Work out, read-only, what ``apply`` must do for one cluster directory."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from generator.render.output import Bundle
from generator.write import manifest as mf
from generator.write.paths import (
    MANIFEST_NAME,
    OUTPUT_DIR,
    Kind,
    check_cluster_root,
    is_temp_name,
    lstat_kind,
    walk,
)
from generator.write.refusals import CorruptManifest, UnsafePath


@dataclass
class ClusterPlan:
    cluster: str
    final_manifest: bytes | None  # None: prune (the manifest is deleted last)
    current_manifest: bytes | None
    intent_manifest: bytes | None = None  # written first when gen takes ownership of new paths
    writes: dict[str, bytes] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)  # owned (or forced) files to remove
    temps: list[str] = field(default_factory=list)  # leftover temp files
    rmdirs: list[str] = field(default_factory=list)  # dirs to remove if they end up empty
    refused: list[str] = field(default_factory=list)  # unowned files in the way (no --force)
    kept: list[str] = field(default_factory=list)  # unowned files left alone (no --force)
    edited: list[str] = field(default_factory=list)  # owned files changed since gen wrote them, now overwritten
    fresh: bool = False  # no output/<cluster>/ yet: laid out whole under a temporary name, then renamed into place

    @property
    def noop(self) -> bool:
        return (
            not (self.writes or self.deletes or self.temps)
            and self.final_manifest is not None
            and self.final_manifest == self.current_manifest
        )


class _Tree:
    def __init__(self, repo: Path, cluster: str) -> None:
        self.cluster = cluster
        self.root = check_cluster_root(repo, cluster)
        self.inv: dict[str, Kind] = walk(self.root)

    def show(self, rel: str) -> str:
        return f"{OUTPUT_DIR}/{self.cluster}/{rel}"

    def read(self, rel: str) -> bytes:
        return (self.root / rel).read_bytes()

    def unsafe(self, rel: str, what: str) -> UnsafePath:
        return UnsafePath(
            f"{self.show(rel)} is a {what}; gen never writes or deletes through it: "
            f"replace it with a regular file/directory or remove it"
        )

    def manifest(self) -> tuple[bytes | None, mf.Manifest | None]:
        kind = self.inv.get(MANIFEST_NAME)
        if kind is None:
            return None, None
        if kind != "file":
            raise CorruptManifest(f"{self.show(MANIFEST_NAME)} is a {kind}, not a file; remove it")
        data = mf.read(self.root / MANIFEST_NAME, self.show(MANIFEST_NAME))
        return data, mf.parse(data, self.show(MANIFEST_NAME))

    def temps(self) -> list[str]:
        return sorted(p for p, k in self.inv.items() if k != "dir" and is_temp_name(p.rsplit("/", 1)[-1]))

    def under(self, rel: str) -> list[str]:
        return [p for p in self.inv if p.startswith(rel + "/")]


def _parents(rel: str) -> list[str]:
    parts = rel.split("/")
    return ["/".join(parts[:i]) for i in range(len(parts) - 1, 0, -1)]


def plan_bundle(repo: Path, bundle: Bundle, *, force: bool) -> ClusterPlan:
    """Decide, read-only, what writing ``bundle`` does in ``output/<cluster>/``, so that ``apply`` can refuse
    before its first write and then only execute.

    - Written: each generated file whose bytes differ from the file on disk (an identical one is left alone, as
      unchanged). A directory where a generated file goes is removed with the directories inside it.
    - Deleted: the files gen owns (the old manifest lists them) that this bundle no longer has, and temp files a
      killed run left; then the directories that leaves empty, never one a generated file needs.
    - A file gen does not own that is in the way (at a generated path, even with the same bytes; inside a
      directory a generated file replaces; or where a generated file's parent directory must go) needs
      ``--force``: without it the plan refuses it, naming it, and ``apply`` writes nothing; with it the file is
      overwritten or deleted.
    - Any other file gen does not own (a stray) is kept, with a warning; ``--force`` deletes it too, so nothing
      but gen's files stays in the cluster's directory.
    - A symlink or special file on the way raises ``UnsafePath``, even with ``--force``: gen never writes or
      deletes through one.
    - When gen takes ownership of paths it did not own (new or forced files), an intent manifest listing the old
      and the new ones is written first (the final manifest always last), so a killed run never leaves a file
      gen wrote unowned.
    - When there is no ``output/<cluster>/`` at all, the plan is ``fresh``: every file is written, into a directory
      laid out whole under a temporary name and renamed into place (``apply``).

    A cluster whose spec is gone is not planned here: ``--prune`` removes its directory (``plan_prune``).
    """
    t = _Tree(repo, bundle.cluster)
    new = bundle.files
    final = mf.for_files(bundle.cluster, bundle.spec_file, new)
    if lstat_kind(t.root) is None:  # nothing there: the whole directory, no intent needed (see apply)
        return ClusterPlan(bundle.cluster, final.to_bytes(), None, writes=dict(sorted(new.items())), fresh=True)
    current, old = t.manifest()
    owned = set(old.files) if old else set()
    plan = ClusterPlan(bundle.cluster, final.to_bytes(), current, temps=t.temps())
    going = owned - set(new)  # owned files this run removes anyway
    blockers: set[str] = set()
    recorded = old.files if old else {}
    for rel, data in sorted(new.items()):
        _plan_write(t, plan, rel, data, owned=owned, going=going, blockers=blockers)
        if rel in plan.writes and t.inv.get(rel) == "file" and rel in recorded \
                and mf.sha256(t.read(rel)) != recorded[rel]:
            plan.edited.append(t.show(rel))  # not the bytes gen wrote: an edit by hand, about to be replaced
    _plan_owned_deletes(t, plan, going)
    forced = _settle_unowned(t, plan, blockers, owned=owned, new=new, force=force)
    taking = (set(new) | set(forced)) - owned
    if taking:
        plan.intent_manifest = _intent_manifest(t, bundle, old, final, forced)
    plan.rmdirs = _dirs_to_remove(plan, new)
    return plan


def _parent_in_the_way(t: _Tree, rel: str, going: set[str]) -> str | None:
    """The file (not one this run removes) where a parent directory of ``rel`` must go, outermost first; None if
    none is. A link or special file there is unsafe."""
    for parent in reversed(_parents(rel)):
        kind = t.inv.get(parent)
        if kind is None:
            return None
        if kind == "symlink" or kind == "other":
            raise t.unsafe(parent, kind)
        if kind == "file" and parent not in going:
            return parent
    return None


def _plan_write(t: _Tree, plan: ClusterPlan, rel: str, data: bytes, *, owned: set[str], going: set[str],
                blockers: set[str]) -> None:
    """Plan generated file ``rel``: unchanged, or written (a directory in its place removed). Adds to ``blockers``
    the files gen does not own that are in its way."""
    parent = _parent_in_the_way(t, rel, going)
    if parent is not None:
        blockers.add(parent)
    kind = t.inv.get(rel)
    if kind == "file":
        if rel not in owned:
            blockers.add(rel)
        if t.read(rel) == data:
            plan.unchanged.append(rel)
            return
    elif kind == "dir":
        inside = t.under(rel)
        blockers.update(p for p in inside if t.inv[p] != "dir" and p not in going)
        plan.rmdirs.extend(p for p in inside if t.inv[p] == "dir")
        plan.rmdirs.append(rel)
    elif kind is not None:
        raise t.unsafe(rel, kind)
    plan.writes[rel] = data


def _plan_owned_deletes(t: _Tree, plan: ClusterPlan, going: set[str]) -> None:
    """Delete the owned files no longer generated (one already gone is skipped; a link or special file is unsafe)."""
    for rel in sorted(going):
        kind = t.inv.get(rel)
        if kind == "file":
            plan.deletes.append(rel)
        elif kind in ("symlink", "other"):
            raise t.unsafe(rel, kind)


def _settle_unowned(t: _Tree, plan: ClusterPlan, blockers: set[str], *, owned: set[str], new: Mapping[str, bytes],
                    force: bool) -> list[str]:
    """Without ``force``: refuse the files gen does not own that are in the way, keep the other (stray) ones. With
    it: delete both (a blocker at a generated path is overwritten instead). Returns the forced deletes, sorted."""
    blockers = blockers - set(plan.temps)
    if blockers and not force:
        plan.refused = sorted(t.show(p) for p in blockers)
    strays = {p for p, k in t.inv.items() if k != "dir" and p != MANIFEST_NAME and p not in new and p not in owned
              and p not in plan.temps and p not in blockers}
    if force:
        blockers |= strays  # --force: nothing but gen's files stays in the cluster's directory
    else:
        plan.kept = sorted(t.show(p) for p in strays)
    forced = sorted(blockers - set(new))
    plan.deletes.extend(forced)
    return forced


def _intent_manifest(t: _Tree, bundle: Bundle, old: mf.Manifest | None, final: mf.Manifest,
                     forced: list[str]) -> bytes:
    """The incomplete manifest written first: the old owned files, the new ones and the forced ones (as found)."""
    files = dict(old.files) if old else {}
    files.update(final.files)
    files.update({p: mf.sha256(t.read(p)) if t.inv.get(p) == "file" else "" for p in forced})
    return mf.Manifest(bundle.cluster, bundle.spec_file, files, True).to_bytes()


def _dirs_to_remove(plan: ClusterPlan, new: Mapping[str, bytes]) -> list[str]:
    """The directories to remove if they end up empty, deepest first: those replaced by a generated file and those
    the deletes and temp files leave, never one a generated file needs."""
    needed = {d for rel in new for d in _parents(rel)}
    emptied = {d for rel in plan.deletes + plan.temps for d in _parents(rel)}
    return sorted((set(plan.rmdirs) | emptied) - needed, key=lambda d: (-d.count("/"), d))


def plan_prune(repo: Path, cluster: str, *, force: bool = False) -> ClusterPlan:
    """Remove an orphaned ``output/<cluster>/``: owned files, temp files, then the directories that leaves empty
    (never one gen did not empty itself). With ``force``, files gen does not own go too, and every directory."""
    t = _Tree(repo, cluster)
    current, old = t.manifest()
    owned = set(old.files) if old else set()
    plan = ClusterPlan(cluster, None, current, temps=t.temps())
    for rel, kind in sorted(t.inv.items()):
        if kind == "dir" or rel == MANIFEST_NAME or rel in plan.temps:
            continue
        if kind != "file" and (rel in owned or force):
            raise t.unsafe(rel, kind)
        if rel in owned or force:
            plan.deletes.append(rel)
        else:
            plan.kept.append(t.show(rel))
    emptied = {d for rel in plan.deletes + plan.temps for d in _parents(rel)}
    dirs = [p for p, k in t.inv.items() if k == "dir" and (force or p in emptied)]
    plan.rmdirs = sorted(dirs, key=lambda d: (-d.count("/"), d))
    return plan
