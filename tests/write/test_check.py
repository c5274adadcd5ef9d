from __future__ import annotations

import time
from pathlib import Path

from generator.write import Drift, apply, check
from tests.write.conftest import bundle

PROD = {"kustomization.yaml": "resources:\n- a.yaml\n", "a.yaml": "kind: A\nspec:\n  x: 1\n"}


def kinds(drift: list[Drift]) -> list[tuple[str, str]]:
    return [(d.path, d.kind) for d in drift]


def test_empty_tree_is_all_missing(repo: Path) -> None:
    assert kinds(check(repo, [bundle("prod", PROD)], all_clusters=True)) == [
        ("output/prod/.gen-manifest.json", "missing"),
        ("output/prod/a.yaml", "missing"),
        ("output/prod/kustomization.yaml", "missing"),
    ]


def test_missing_changed_stray_with_diff(repo: Path) -> None:
    apply(repo, [bundle("prod", PROD), bundle("old", {"x.yaml": "x\n"})])
    (repo / "output/prod/kustomization.yaml").unlink()
    (repo / "output/prod/a.yaml").write_text("kind: A\nspec:\n  x: 2\n")
    (repo / "output/prod/sub").mkdir()
    (repo / "output/prod/sub/extra.yaml").write_text("e\n")
    (repo / "output/README.md").write_text("hi\n")
    drift = check(repo, [bundle("prod", PROD)], all_clusters=True)
    assert kinds(drift) == [
        ("output/README.md", "stray"),
        ("output/old/.gen-manifest.json", "stray"),
        ("output/old/x.yaml", "stray"),
        ("output/prod/a.yaml", "changed"),
        ("output/prod/kustomization.yaml", "missing"),
        ("output/prod/sub/extra.yaml", "stray"),
    ]
    assert drift[3].diff == (
        "--- a/output/prod/a.yaml\n"
        "+++ b/output/prod/a.yaml\n"
        "@@ -1,3 +1,3 @@\n"
        " kind: A\n"
        " spec:\n"
        "-  x: 2\n"
        "+  x: 1\n"
    )
    # without all_clusters other clusters' dirs and top-level files are not looked at
    assert kinds(check(repo, [bundle("prod", PROD)], all_clusters=False)) == [
        ("output/prod/a.yaml", "changed"),
        ("output/prod/kustomization.yaml", "missing"),
        ("output/prod/sub/extra.yaml", "stray"),
    ]


def test_outdated_manifest_is_drift(repo: Path) -> None:
    apply(repo, [bundle("prod", PROD)])
    (repo / "output/prod/.gen-manifest.json").write_text("{}\n")
    drift = check(repo, [bundle("prod", PROD)], all_clusters=False)
    assert kinds(drift) == [("output/prod/.gen-manifest.json", "changed")]
    assert drift[0].diff.startswith("--- a/output/prod/.gen-manifest.json\n+++ b/output/prod/")


def test_no_newline_at_end_and_symlink_reported(repo: Path) -> None:
    apply(repo, [bundle("prod", {"a": "x"})])
    (repo / "output/prod/a").write_text("y")
    (repo / "output/prod/link").symlink_to("/etc/passwd")
    drift = check(repo, [bundle("prod", {"a": "x"})], all_clusters=False)
    assert kinds(drift) == [("output/prod/a", "changed"), ("output/prod/link", "stray")]
    assert "-y\n\\ No newline at end of file\n+x\n\\ No newline at end of file\n" in drift[0].diff


def test_check_writes_nothing_and_is_fast(repo: Path) -> None:
    fleet = [bundle(f"c{i}", {f"d{j}/f{k}.yaml": f"{i}-{j}-{k}\n" * 20 for j in range(5) for k in range(5)})
             for i in range(20)]
    apply(repo, fleet)
    (repo / "output/.gen.lock").unlink()
    before = sorted(p.as_posix() for p in repo.rglob("*"))
    t = time.perf_counter()
    assert check(repo, fleet, all_clusters=True) == []
    elapsed = time.perf_counter() - t
    assert sorted(p.as_posix() for p in repo.rglob("*")) == before
    assert elapsed < 1.0, elapsed  # 500 files
