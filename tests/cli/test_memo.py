"""A no-op run reads unchanged clusters back from output/ instead of rendering, building and checking them again
(generator.pipeline.records); anything that changes their inputs or their files gets them rendered again, and the run
says exactly what a full run says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from generator.cli.bundle import bundle
from generator.cli.check import check
from generator.pipeline import checking, records
from generator.yamlio import cached
from tests.conftest import write_spec
from tests.helpers import run_gen


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[list[str]]:
    """The clusters each in-process check_clusters call renders (a cache of this test's own)."""
    monkeypatch.setenv("GEN_CACHE_DIR", str(tmp_path / "cache"))
    calls: list[list[str]] = []
    real = checking.check_clusters

    def spy(repo: Path, clusters: list[Any], *args: Any, **kwargs: Any) -> Any:
        calls.append([c.name for c in clusters])
        return real(repo, clusters, *args, **kwargs)

    monkeypatch.setattr(checking, "check_clusters", spy)
    return calls


def _fleet(repo: Path) -> None:
    write_spec(repo, name="a", version="v25.4.0")  # end of life: a warning on every run
    write_spec(repo, name="b", mode="ipoib", version="v26.4.1")
    write_spec(repo, name="c", mode="shared", version="v26.1.2")


def _run(repo: Path, capsys: pytest.CaptureFixture[str], *args: str, code: int = 0) -> tuple[str, str]:
    mirror = None
    if args[0] == "bundle":
        result = bundle(repo, [], True, prune=False, force=False, mirror=mirror)
    else:
        result = check(repo, [], all_clusters=True, mirror=mirror)
    assert result == code
    out, err = capsys.readouterr()
    return out, err


@pytest.mark.kustomize
def test_a_no_op_run_renders_nothing_and_says_the_same(gitops_repo: Path, rendered: list[list[str]],
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    _fleet(gitops_repo)
    _, first = _run(gitops_repo, capsys, "bundle")
    assert rendered == [["a", "b", "c"]]
    out, again = _run(gitops_repo, capsys, "bundle")
    _, check = _run(gitops_repo, capsys, "check")
    assert rendered == [["a", "b", "c"]]  # neither run rendered anything
    assert "0 files written" in out.splitlines()[-1]
    assert first == again == check and "end of life" in first


@pytest.mark.kustomize
def test_a_changed_spec_renders_that_cluster_only(gitops_repo: Path, rendered: list[list[str]],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    _fleet(gitops_repo)
    _run(gitops_repo, capsys, "bundle")
    write_spec(gitops_repo, name="b", mode="ipoib", version="v26.1.2")
    out, _ = _run(gitops_repo, capsys, "check", code=1)
    assert rendered[-1] == ["b"] and "output/b/" in out
    again, _ = _run(gitops_repo, capsys, "check", code=1)
    assert again == out and len(rendered) == 2  # recorded with its bytes: said again without rendering
    _run(gitops_repo, capsys, "bundle")
    _run(gitops_repo, capsys, "check")
    assert len(rendered) == 2  # written from the record, then up to date: nothing rendered


@pytest.mark.kustomize
def test_an_edited_output_file_or_a_corrupt_record_gets_the_cluster_rendered(
        gitops_repo: Path, rendered: list[list[str]], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _fleet(gitops_repo)
    _run(gitops_repo, capsys, "bundle")
    policy = gitops_repo / "output" / "c" / "base" / "nicclusterpolicy.yaml"
    policy.write_text(policy.read_text() + "# edited\n")
    out, _ = _run(gitops_repo, capsys, "check", code=1)
    # its inputs are as recorded: the bytes the record keeps are the bundle, and output/ differs from them
    assert len(rendered) == 1 and "output/c/base/nicclusterpolicy.yaml: changed" in out
    (tmp_path / "cache" / "rendered").rename(tmp_path / "cache" / "rendered-gone")
    again, _ = _run(gitops_repo, capsys, "check", code=1)
    assert rendered[-1] == ["c"] and again == out  # without those bytes: rendered again, the same verdict
    _run(gitops_repo, capsys, "bundle")
    assert "# edited" not in policy.read_text()
    for entry in (tmp_path / "cache" / "checked").rglob("*"):
        if entry.is_file():
            entry.write_bytes(entry.read_bytes()[:-3] + b"xx}")
    _run(gitops_repo, capsys, "check")
    assert rendered[-1] == ["a", "b", "c"]  # no record could be trusted: everything checked again


@pytest.mark.kustomize
def test_a_new_cluster_is_checked_and_errors_are_never_recorded(gitops_repo: Path, capsys: pytest.CaptureFixture[str],
                                                                rendered: list[list[str]]) -> None:
    _fleet(gitops_repo)
    _run(gitops_repo, capsys, "bundle")
    (gitops_repo / "overlays" / "a").mkdir(parents=True)
    (gitops_repo / "overlays" / "a" / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n- missing.yaml\n")
    for _ in range(2):
        with pytest.raises(Exception, match="validation failed"):
            _run(gitops_repo, capsys, "check")
        assert rendered[-1] == ["a"]


def test_the_environment_covers_gen_the_programs_and_the_charts() -> None:
    base = records.environment(["kubectl", "kustomize"], ["helm"], [("v25.4.0", "")], False)
    assert base == records.environment(["kubectl", "kustomize"], ["helm"], [("v25.4.0", "")], False)
    assert base != records.environment(["kustomize", "build"], ["helm"], [("v25.4.0", "")], False)
    assert base != records.environment(["kubectl", "kustomize"], None, [("v25.4.0", "")], False)
    assert base != records.environment(["kubectl", "kustomize"], ["helm"], [("v25.4.0", "ab")], False)
    assert base != records.environment(["kubectl", "kustomize"], ["helm"], [("v25.4.0", "")], True)


def test_run_twice_through_the_cli_is_byte_identical(gitops_repo: Path) -> None:
    _fleet(gitops_repo)
    first = run_gen("bundle", "--all", repo=gitops_repo, check=True)
    files = {p: p.read_bytes() for p in (gitops_repo / "output").rglob("*") if p.is_file() and p.name != ".gen.lock"}
    second = run_gen("bundle", "--all", repo=gitops_repo, check=True)
    assert first.err == second.err
    assert files == {p: p.read_bytes() for p in (gitops_repo / "output").rglob("*")
                     if p.is_file() and p.name != ".gen.lock"}


def test_trusted_yaml_is_parsed_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GEN_CACHE_DIR", str(tmp_path))
    text = "a: 1\nb: [x, 2.5, null, true]\n---\nc: {d: e}\n"
    first = cached.load_all(text)
    assert first == [{"a": 1, "b": ["x", 2.5, None, True]}, {"c": {"d": "e"}}]
    assert cached.load_all(text) == first and len(list((tmp_path / "parsed-yaml").rglob("*"))) == 3
    dated = "when: 2024-01-01\n"  # a date: JSON cannot hold it, so it is never cached
    assert str(cached.load(dated)["when"]) == "2024-01-01" and str(cached.load(dated)["when"]) == "2024-01-01"
    assert len([p for p in (tmp_path / "parsed-yaml").rglob("*") if p.is_file()]) == 1
    for entry in (tmp_path / "parsed-yaml").rglob("*"):
        if entry.is_file():
            entry.write_bytes(entry.read_bytes().replace(b'"x"', b'"y"'))  # a corrupt entry is a miss
    assert cached.load_all(text) == first


@pytest.mark.kustomize
def test_gen_lint_right_after_gen_bundle_builds_nothing_and_says_what_an_empty_cache_says(
        gitops_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """gen bundle keeps its builds under the key gen lint gives each written directory (every byte kustomize can read
    there): gen lint output/ right after builds none of the mode overlays (only what gen bundle checks without
    building: base/ and argocd/), not even those that read a user overlay (a component in overlays/b/, which gen
    bundle reaches through a link), and its verdict is the one an empty cache gives."""
    from generator.programs import kustomize

    _fleet(gitops_repo)
    (gitops_repo / "overlays" / "b").mkdir(parents=True)
    (gitops_repo / "overlays" / "b" / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nlabels:\n- pairs:\n    team: b\n")
    write_spec(gitops_repo, name="d", mode="sriov", version="v26.4.1")  # builds alike c's in part: shared, one build
    shared = {"GEN_CACHE_DIR": str(tmp_path / "shared")}
    run_gen("bundle", "--all", repo=gitops_repo, env=shared, check=True)
    built: list[Path] = []
    real = kustomize.build

    def spy(directory: Path, command: Any = None) -> Any:
        built.append(directory)
        return real(directory, command)

    monkeypatch.setattr(kustomize, "build", spy)
    warm = run_gen("lint", "output", cwd=gitops_repo, env=shared)
    assert built and all(path.parent.name == "overlays" or path.name in ("base", "argocd")
                         or path.name.startswith("gen-batch-") for path in built)  # argocd/ dirs built together
    assert not [path for path in built if path.parent.name == "overlays"]
    built.clear()
    empty = run_gen("lint", "output", cwd=gitops_repo, env={"GEN_CACHE_DIR": str(tmp_path / "empty")})
    assert [path for path in built if path.parent.name == "overlays"]
    assert (warm.code, warm.out, warm.err) == (empty.code, empty.out, empty.err)
    # a written directory edited by hand is another key: built by gen lint, and said
    policy = gitops_repo / "output" / "d" / "base" / "nicclusterpolicy.yaml"
    policy.write_text(policy.read_text().replace("nvcr.io/nvidia/mellanox", "nvcr.io/nvstaging/mellanox"))
    built.clear()
    edited = run_gen("lint", "output", cwd=gitops_repo, env=shared)
    assert [path for path in built if path.parent.name == "overlays"] and edited.code == 1
    assert (edited.code, edited.out) == (lambda r: (r.code, r.out))(
        run_gen("lint", "output", cwd=gitops_repo, env={"GEN_CACHE_DIR": str(tmp_path / "empty-2")}))


@pytest.mark.kustomize
def test_a_recorded_gpu_cluster_says_its_chart_note_as_a_rendered_one(
        gitops_repo: Path, rendered: list[list[str]], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The GPU Operator chart not at hand is said by every run, whether the cluster is rendered or read back from its
    record (a warm and an empty cache say the same)."""
    monkeypatch.delenv("GEN_NO_CHART_NOTE", raising=False)
    write_spec(gitops_repo, name="g", mode="sriov", version="v26.4.1", vm_size="Standard_ND96isr_H100_v5",
               extra="gpu:\n  driver: operator\n")
    _, first = _run(gitops_repo, capsys, "bundle")
    _, again = _run(gitops_repo, capsys, "bundle")
    _, checked = _run(gitops_repo, capsys, "check")
    assert rendered == [["g"]]  # the later runs read it back
    assert "gpu-operator chart" in first and first == again == checked
