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


def test_a_lint_build_whose_inputs_changed_while_it_ran_is_not_kept(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from generator.programs import kustomize

    monkeypatch.setenv("GEN_CACHE_DIR", str(tmp_path / "cache"))
    d = tmp_path / "one"
    d.mkdir()
    (d / "kustomization.yaml").write_text("resources:\n- cm.yaml\n")
    (d / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
    real = kustomize.build_many

    def edited_meanwhile(ds: list[Path], *args: object) -> list[kustomize.BuildResult]:
        (d / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n")  # after the key
        return real(ds, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(kustomize, "build_many", edited_meanwhile)
    assert kustomize.build_many_cached([d])[0].objects[0]["metadata"]["name"] == "y"  # what the build read
    monkeypatch.setattr(kustomize, "build_many", real)
    (d / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
    assert kustomize.build_many_cached([d])[0].objects[0]["metadata"]["name"] == "x"  # not y under x's key


def test_build_missing_builds_each_key_gen_s_cache_lacks_once_and_reads_no_entry(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """gen lint's builds made before its parts are shared out: one build per key the cache lacks; an entry there is
    not read (nor vouched for: a planted one is a miss where the build is read, and built there); an unkeyable
    directory is left to where it is read."""
    from generator.core.cache import DiskCache
    from generator.programs import kustomize

    monkeypatch.setenv("GEN_CACHE_DIR", str(tmp_path / "cache"))
    dirs = []
    for name in ("one", "two", "three"):
        d = tmp_path / name
        d.mkdir()
        (d / "kustomization.yaml").write_text("resources:\n- cm.yaml\n")
        cm = "x" if name != "three" else "z"
        (d / "cm.yaml").write_text(f"# {name}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {cm}\n")
        dirs.append(d)
    remote = tmp_path / "remote"
    remote.mkdir()
    (remote / "kustomization.yaml").write_text("resources:\n- https://example.com/cm.yaml\n")
    command = kustomize.kustomize_command()
    keys = {d: kustomize.inputs_key(d, command) for d in [*dirs, remote]}
    assert keys[dirs[0]] == keys[dirs[1]] != keys[dirs[2]] and keys[remote] is None
    built: list[list[str]] = []
    real = kustomize.build_many
    monkeypatch.setattr(kustomize, "build_many",
                        lambda ds, *a: (built.append([d.name for d in ds]) if ds else None) or real(ds, *a))
    reads: list[str] = []
    get = DiskCache.get
    monkeypatch.setattr(DiskCache, "get", lambda self, key: reads.append(key) or get(self, key))
    kustomize.build_missing(keys)
    assert built == [["two", "three"]] and reads == []  # one per key (the last directory of it), none unkeyable
    kustomize.build_missing(keys)
    assert built == [["two", "three"]] and reads == []  # held: nothing built, nothing read
    monkeypatch.setattr(DiskCache, "get", get)
    with kustomize.keys_once(keys):
        results = kustomize.build_many_cached(dirs)
    assert built == [["two", "three"]] and [r.objects[0]["metadata"]["name"] for r in results] == ["x", "x", "z"]
    entry = DiskCache(tmp_path / "cache", "kustomize-dirs", kustomize.CACHE_VERSION)._path(str(keys[dirs[2]]))
    entry.write_bytes(entry.read_bytes().replace(b'"z"', b'"w"'))  # altered: held, but not authentic
    kustomize.build_missing(keys)
    assert built == [["two", "three"]]  # only looked for here
    with kustomize.keys_once(keys):
        assert kustomize.build_many_cached([dirs[2]])[0].objects[0]["metadata"]["name"] == "z"  # built where read
    assert built == [["two", "three"], ["three"]]


def test_kustomize_runs_with_the_go_runtime_tuned_and_nothing_else_of_gen_s_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in kustomize prints the environment it was given as a ConfigMap."""
    script = tmp_path / "env-kustomize"
    script.write_text("#!/usr/bin/env python3\nimport json, os\n"
                      "print(json.dumps({'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': 'env'},"
                      " 'data': dict(os.environ)}))\n")
    script.chmod(0o755)
    monkeypatch.setenv("GEN_KUSTOMIZE", str(script))
    monkeypatch.setenv("A_SECRET_OF_THE_USER", "x")
    monkeypatch.setenv("GOGC", "100")
    [env] = build(tmp_path).objects
    given = env["data"]
    assert given["GOGC"] == "off" and given["GOMEMLIMIT"] == "256MiB" and given["LC_ALL"] == "C"
    assert "A_SECRET_OF_THE_USER" not in given


@pytest.mark.kustomize
def test_the_tuned_go_runtime_builds_the_same_bytes() -> None:
    import subprocess

    from generator.programs.kustomize import GO_RUNTIME, kustomize_command
    from generator.programs.run import base_environment
    from tests.conftest import REPO

    for overlay in sorted((REPO / "output" / "prod" / "overlays").iterdir()):
        command = [*kustomize_command(), str(overlay)]
        plain = subprocess.run(command, env=base_environment(), capture_output=True, check=True).stdout
        tuned = subprocess.run(command, env=base_environment(**GO_RUNTIME), capture_output=True, check=True).stdout
        assert plain == tuned and plain


def test_a_fifo_kustomize_would_open_is_an_error_without_running_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """kustomize waits on a FIFO until gen's timeout (120 s): said at once, wherever the build opens it."""
    import os

    from generator.programs import kustomize

    monkeypatch.setattr(kustomize, "run", lambda *a, **k: pytest.fail("kustomize ran"))
    listed = tmp_path / "listed"
    listed.mkdir()
    (listed / "kustomization.yaml").write_text("resources:\n- a.yaml\n- ../base\n")
    os.mkfifo(listed / "a.yaml")
    error = build(listed, ["kubectl", "kustomize"]).error
    assert error == f"{listed}/a.yaml is a FIFO (named pipe), not a regular file: kustomize would wait on it or " \
                    "read it without end; replace it with a file or remove it"
    (listed / "a.yaml").unlink()
    (listed / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n")
    base = tmp_path / "base"
    base.mkdir()
    (base / "kustomization.yaml").write_text("patches:\n- path: p.yaml\n")
    os.mkfifo(base / "p.yaml")  # a patch of a base
    assert build(listed, ["kubectl", "kustomize"]).error.startswith(f"{base}/p.yaml is a FIFO")
    (base / "p.yaml").unlink()
    (base / "kustomization.yaml").unlink()
    os.mkfifo(base / "kustomization.yaml")
    assert build(listed, ["kubectl", "kustomize"]).error.startswith(f"{base}/kustomization.yaml is a FIFO")
