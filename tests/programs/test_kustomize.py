"""kustomize's errors reach the user whole, on one line, without kubectl's log prefix or raw control characters."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.programs.kustomize import MAX_MESSAGE, build, error_message

KLOG = ('E1130 01:15:05.534162   28984 run.go:72] "command failed" err="accumulating resources: accumulation '
        "err='accumulating resources from 'missing.yaml': evalsymlink failure on '/r/missing.yaml' : lstat "
        "/r/missing.yaml: no such file or directory': must build at directory: not a valid directory: "
        "evalsymlink failure on '/r/missing.yaml' : lstat /r/missing.yaml: no such file or directory\"")


def test_kubectl_log_prefix_is_removed_and_nothing_is_cut() -> None:
    message = error_message(KLOG + "\n")
    assert message.startswith("accumulating resources: accumulation err=") and "run.go" not in message
    assert message.endswith("no such file or directory") and "must build at directory" in message


def test_kustomize_error_prefix_lines_and_control_characters() -> None:
    assert error_message("Error: first\n  second\n") == "first; second"
    assert error_message('error: bad "x\x1b[31m"\n') == 'bad "x\\x1b[31m"'
    assert len(error_message("error: " + "x" * 10_000)) == MAX_MESSAGE


@pytest.mark.kustomize
def test_a_real_build_error_keeps_its_detail(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources:\n- a.yaml\n")
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: [1\n")
    result = build(tmp_path)
    assert "a.yaml" in result.error and "did not find expected" in result.error
    assert "\n" not in result.error and not result.error.lower().startswith("error:")


@pytest.mark.kustomize
def test_lint_builds_are_shared_by_content_and_a_change_is_a_new_build(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from generator.programs import kustomize

    monkeypatch.setenv("GEN_CACHE_DIR", str(tmp_path / "cache"))
    dirs = []
    for name in ("one", "two"):
        d = tmp_path / name
        d.mkdir()
        (d / "kustomization.yaml").write_text(f"# {name}\nresources:\n- cm.yaml\n")
        (d / "cm.yaml").write_text(f"# the header of {name}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
        dirs.append(d)
    assert kustomize.inputs_key(dirs[0], ["kubectl", "kustomize"]) == kustomize.inputs_key(dirs[1],
                                                                                          ["kubectl", "kustomize"])
    calls: list[int] = []
    real = kustomize.build_many
    monkeypatch.setattr(kustomize, "build_many", lambda ds, *a: calls.append(len(ds)) or real(ds, *a))
    first = kustomize.build_many_cached(dirs)
    assert calls == [1] and first[0].objects == first[1].objects and first[1].directory == dirs[1]
    assert kustomize.build_many_cached(dirs)[1].objects == first[1].objects and calls == [1, 0]
    (dirs[1] / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n")
    changed = kustomize.build_many_cached(dirs)
    assert calls == [1, 0, 1] and changed[1].objects[0]["metadata"]["name"] == "y"
    (dirs[0] / "kustomization.yaml").write_text("resources:\n- cm.yaml\nconfigMapGenerator:\n- name: g\n"
                                                 "  files: [data.txt]\n")
    (dirs[0] / "data.txt").write_text("# a")
    key = kustomize.inputs_key(dirs[0], ["kubectl", "kustomize"])
    (dirs[0] / "data.txt").write_text("# b")  # read as data: its comments are data too
    assert key is not None and kustomize.inputs_key(dirs[0], ["kubectl", "kustomize"]) not in (key, None)
    (dirs[0] / "kustomization.yaml").write_text("resources:\n- https://example.com/cm.yaml\n")
    assert kustomize.inputs_key(dirs[0], ["kubectl", "kustomize"]) is None  # remote: never cached
