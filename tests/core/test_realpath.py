"""``fs.realpath``: the C library's realpath where it resolves a path, ``os.path.realpath`` where it does not: the
same string as ``os.path.realpath`` for every path, whatever the links."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.core import fs


def _tree(root: Path) -> None:
    """Folders, files and links of every kind: relative and absolute, to folders and files, chains, dangling, loops,
    a link back up, odd names."""
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "f.yaml").write_text("x")
    (root / "a" / "g").write_text("y")
    (root / "é space").mkdir()
    os.symlink("a/b", root / "rel")
    os.symlink(root / "a", root / "abs")
    os.symlink("rel", root / "chain")
    os.symlink("a/g", root / "tofile")
    os.symlink("missing", root / "dangling")
    os.symlink("loop2", root / "loop1")
    os.symlink("loop1", root / "loop2")
    os.symlink("self", root / "self")
    os.symlink("..", root / "a" / "b" / "up")
    os.symlink("../../abs/b", root / "a" / "b" / "back")
    os.symlink("é space", root / "odd")
    os.symlink(os.fsdecode(b"\xff\xfe"), root / "notutf8")
    (root / os.fsdecode(b"\xff\xfe")).mkdir()


NAMES = ["a", "b", "f.yaml", "g", "é space", "rel", "abs", "chain", "tofile", "dangling", "loop1", "self", "up",
         "back", "odd", "notutf8", os.fsdecode(b"\xff\xfe"), "..", ".", "", "missing"]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("real")
    _tree(root)
    return root


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(NAMES), max_size=6), st.booleans(), st.booleans())
def test_the_same_string_as_os_path_realpath(tree: Path, names: list[str], relative: bool, slash: bool) -> None:
    path = "/".join(names) + ("/" if slash else "")
    full = str(tree / path) if path else str(tree)
    if relative:
        cwd = os.getcwd()
        os.chdir(tree)
        try:
            assert fs.realpath(path) == os.path.realpath(path)
        finally:
            os.chdir(cwd)
    assert fs.realpath(full) == os.path.realpath(full)
    assert fs.realpath(Path(full)) == os.path.realpath(Path(full))


def test_paths_the_c_library_refuses(tree: Path) -> None:
    for path in ["", "\0", str(tree / ("x" * 5000)), str(tree / "a" / "g" / "h"), str(tree / "loop1" / "x"),
                 "//" + str(tree).lstrip("/"), str(tree) + "/" * 3]:
        if "\0" in path:
            with pytest.raises(ValueError):
                os.path.realpath(path)
            with pytest.raises(ValueError):
                fs.realpath(path)
            continue
        assert fs.realpath(path) == os.path.realpath(path)


def test_it_uses_the_c_library(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not isinstance(fs._libc_realpath(), tuple):
        pytest.skip("no C library realpath here")
    fs.realpath(tree)  # looked up
    monkeypatch.setattr(os.path, "realpath", lambda path: "from python")
    assert fs.realpath(tree / "chain" / "f.yaml") == str(tree / "a" / "b" / "f.yaml")
    assert fs.realpath(tree / "dangling") == "from python"
