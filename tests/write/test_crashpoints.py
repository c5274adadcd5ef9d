"""Deterministic complement to the SIGKILL test: stop ``apply`` after each filesystem step."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.core.fs import TEMP_MARK, is_temp_name
from generator.render.output import Bundle
from generator.write import apply, check
from generator.write.fsops import DirTree
from tests.write.conftest import bundle, expected_tree, files_under

OLD = [bundle("prod", {"k.yaml": "old k\n", "a": "old a\n", "gone/x.yaml": "x\n", "same.yaml": "s\n"}),
       bundle("old", {"o.yaml": "o\n", "d/p.yaml": "p\n"})]
NEW = [bundle("prod", {"k.yaml": "new k\n", "a/b.yaml": "b\n", "new/y.yaml": "y\n", "same.yaml": "s\n"}),
       bundle("fresh", {"f.yaml": "f\n"})]
THIRD = [bundle("prod", {"k.yaml": "third k\n"})]


class Crash(Exception):
    pass


def crash_after(monkeypatch: pytest.MonkeyPatch, steps: int) -> None:
    count = [0]
    for name in ("write", "unlink", "rmdir", "create", "rename", "remove_tree"):
        real = getattr(DirTree, name)

        def wrapped(self: DirTree, parts: tuple[str, ...], *a: object, _real=real) -> object:
            if count[0] >= steps:
                raise Crash
            count[0] += 1
            return _real(self, parts, *a)

        monkeypatch.setattr(DirTree, name, wrapped)


def contents(fleets: list[list[Bundle]]) -> dict[str, set[bytes]]:
    out: dict[str, set[bytes]] = {}
    for fleet in fleets:
        for b in fleet:
            for p, data in b.files.items():
                out.setdefault(f"{b.cluster}/{p}", set()).add(data)
    return out


@pytest.mark.parametrize("steps", range(17))  # apply(OLD -> NEW) takes 16 steps
@pytest.mark.parametrize("recover_to", ["NEW", "THIRD"])
def test_crash_at_every_step_then_recover(
    repo: Path, monkeypatch: pytest.MonkeyPatch, steps: int, recover_to: str
) -> None:
    apply(repo, OLD)
    with monkeypatch.context() as m:
        crash_after(m, steps)
        try:
            apply(repo, NEW, prune=True, all_clusters=True)
            finished = True
        except Crash:
            finished = False
    allowed = contents([OLD, NEW])
    for path, data in files_under(repo / "output").items():
        top, _, rest = path.partition("/")
        if is_temp_name(top):  # a first bundle being laid out: its cluster's new files, complete
            path = f"{top[1:].rsplit(TEMP_MARK, 1)[0]}/{rest}"
        if not path.endswith(".gen-manifest.json"):
            assert data in allowed[path], path
    # check() is clean exactly when the tree is exactly NEW (a crash that only skipped removing an
    # already-empty directory leaves a complete tree: git cannot see empty directories)
    exact = files_under(repo / "output") == expected_tree(NEW)
    assert (check(repo, NEW, all_clusters=True) == []) == exact
    assert exact or not finished
    target = NEW if recover_to == "NEW" else THIRD
    apply(repo, target, prune=True, all_clusters=True)  # never WriteRefused: nothing orphaned
    assert check(repo, target, all_clusters=True) == []
    assert not [p for p in files_under(repo / "output") if ".gen-tmp-" in p]
