from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.render.output import Bundle
from generator.write import apply, check
from tests.write.conftest import age_tree, mtimes

segment = st.text(alphabet="abz09-_.", min_size=1, max_size=6).filter(
    lambda s: s not in (".", "..") and ".gen-tmp-" not in s
)
path = st.lists(segment, min_size=1, max_size=3).map("/".join).filter(lambda p: p != ".gen-manifest.json")


def no_file_dir_clash(files: dict[str, bytes]) -> dict[str, bytes]:
    """Drop paths that are also used as a directory of another path."""
    dirs = {"/".join(p.split("/")[:i]) for p in files for i in range(1, p.count("/") + 1)}
    return {p: c for p, c in files.items() if p not in dirs}


files = st.dictionaries(path, st.binary(max_size=64), max_size=8).map(no_file_dir_clash)
fleet = st.dictionaries(st.sampled_from(["a", "prod", "x-1"]), files, min_size=1, max_size=3).map(
    lambda d: [Bundle(c, f"clusters/{c}.yaml", f) for c, f in sorted(d.items())]
)


@pytest.mark.slow  # 40 examples of three fsynced applies: 2-13 s, with the disk
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=fleet, second=fleet)
def test_apply_twice_is_a_noop_and_check_is_clean(first: list[Bundle], second: list[Bundle]) -> None:
    with tempfile.TemporaryDirectory() as d:
        repo = Path(d)
        apply(repo, first)
        assert check(repo, first, all_clusters=True) == []
        apply(repo, second, prune=True, all_clusters=True)
        assert check(repo, second, all_clusters=True) == []
        age_tree(repo / "output")
        before = mtimes(repo / "output")
        again = apply(repo, second, prune=True, all_clusters=True)
        assert again.written == [] and again.removed == [] and again.refused == []
        assert len(again.unchanged) == sum(len(b.files) for b in second)
        assert mtimes(repo / "output") == before
        assert check(repo, second, all_clusters=True) == []
