"""When the machine fails, not the input: a full or read-only disk, no permission, no network, a non-UTF-8 locale.
One line naming the file and what to do; exit 3 for the environment (2 for input); output/ as it was.

In-process (tests.helpers.run_gen, with the failures injected there) but for no network and the locale: urllib
builds its opener (proxies included) from the environment once per process, and the streams' encoding is chosen as
the interpreter starts."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from generator.cli import main as cli_main
from generator.core import cache as cache_module
from generator.core import fs
from generator.write import fsops
from tests.conftest import run_gen_process, snapshot, write_spec
from tests.helpers import run_gen


@pytest.fixture
def generated(gitops_repo: Path) -> Path:
    write_spec(gitops_repo, version="v26.4.1")  # the latest release: no lifecycle warning besides the failure
    run_gen("bundle", "--cluster", "prod", repo=gitops_repo, check=True)
    spec = gitops_repo / "clusters/prod.yaml"
    spec.write_text(spec.read_text().replace("mode: sriov", "mode: shared"))  # the next run must write
    return gitops_repo


def _output(repo: Path) -> dict[str, bytes]:
    return {k: v for k, v in snapshot(repo / "output").items() if k != ".gen.lock"}


@pytest.mark.parametrize(("code", "words"), [
    (errno.ENOSPC, "free some space"),
    (errno.EROFS, "read-only file system"),
    (errno.EDQUOT, "disk quota"),
    (errno.EIO, "check the disk"),
])
def test_a_failing_disk_is_exit_3_and_leaves_output_as_it_was(generated: Path, monkeypatch: pytest.MonkeyPatch,
                                                              code: int, words: str) -> None:
    before = _output(generated)
    real = fsops.write_atomic_at
    calls = []

    def failing(dir_fd: int, name: str, data: bytes) -> None:
        calls.append(name)
        if len(calls) == 3:  # some files are written, then the disk fails
            raise OSError(code, os.strerror(code))
        real(dir_fd, name, data)

    monkeypatch.setattr(fsops, "write_atomic_at", failing)
    failed = run_gen("bundle", "--cluster", "prod", repo=generated)
    assert failed.code == 3
    errors = [line for line in failed.err.splitlines() if not line.startswith("gen: note:")]
    assert len(errors) == 1 and errors[0].startswith("gen: error: output/prod/") and words in errors[0]
    assert not [p for p in (generated / "output").rglob("*") if fs.is_temp_name(p.name)]  # no temp file left
    after = _output(generated)
    changed = {k for k in before if after.get(k) != before[k]}
    assert changed and all(k.startswith("prod/") for k in changed)  # each file old or new; fleet/ not touched yet
    assert run_gen("check", repo=generated).code == 1  # so gen check says so
    monkeypatch.setattr(fsops, "write_atomic_at", real)
    assert run_gen("bundle", "--cluster", "prod", repo=generated).code == 0
    assert run_gen("check", repo=generated).code == 0


def test_a_read_only_output_directory_is_exit_3(generated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _output(generated)
    real_mkdir = os.mkdir

    def read_only(path: object, mode: int = 0o777, *, dir_fd: int | None = None) -> None:
        if str(path) == "prod2" or str(path).startswith(".prod2.gen-tmp-"):  # (a first bundle's: laid out aside)
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        real_mkdir(path, mode, dir_fd=dir_fd)  # type: ignore[arg-type]

    write_spec(generated, "prod2")
    monkeypatch.setattr(fsops.os, "mkdir", read_only)
    proc = run_gen("bundle", "--cluster", "prod2", repo=generated)
    assert proc.code == 3
    err = proc.err
    assert "output/prod2: cannot create the directory" in err and "read-only" in err
    assert _output(generated) == before  # nothing of prod2, and the fleet (written last) untouched


def test_an_unreadable_spec_is_one_line(generated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """chmod 000 does not stop root (CI runs as root), so the permission error is injected where gen opens it."""
    real_open = os.open

    def no_permission(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if str(path).endswith("clusters/prod.yaml"):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    before = _output(generated)
    monkeypatch.setattr(fs.os, "open", no_permission)
    proc = run_gen("bundle", "--cluster", "prod", repo=generated)
    assert proc.code == 2
    err = proc.err
    assert "clusters/prod.yaml: cannot open it: permission denied; make it readable" in err
    assert _output(generated) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file; the injected variant above runs everywhere")
def test_an_unreadable_spec_for_real(generated: Path) -> None:  # pragma: no cover - not root
    spec = generated / "clusters/prod.yaml"
    spec.chmod(0)
    proc = run_gen("bundle", "--cluster", "prod", repo=generated)
    assert proc.code == 2 and "permission denied" in proc.err


@pytest.mark.slow  # a real process
def test_no_network_for_schemas_is_exit_3(gitops_repo: Path, tmp_path: Path) -> None:
    write_spec(gitops_repo)
    dead = "http://127.0.0.1:9"
    env = {"GEN_SCHEMA_MIRROR": "", "GEN_CACHE_DIR": str(tmp_path / "empty"), "https_proxy": dead,
           "HTTPS_PROXY": dead, "no_proxy": "", "NO_PROXY": ""}
    proc = run_gen_process("bundle", "--cluster", "prod", cwd=gitops_repo, env=env)  # urllib's proxies: a process
    assert proc.code == 3, proc.err
    assert "cannot download" in proc.err and "--from DIR" in proc.err and "Traceback" not in proc.err
    assert not (gitops_repo / "output" / "prod").exists()


@pytest.mark.slow  # real processes
def test_a_non_utf8_locale_never_turns_a_message_into_a_traceback(tmp_path: Path) -> None:
    """An ASCII-only terminal: a file name gen must print is shown escaped, on stdout (findings) and stderr."""
    bad = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata: {x: 1}\n"
    (tmp_path / "gr\u00f6\u00dfe.yaml").write_text(bad)
    env = {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0", "PYTHONIOENCODING": "ascii"}
    proc = run_gen_process("lint", "--no-kustomize", ".", cwd=tmp_path, env=env)
    assert proc.code == 1 and "Traceback" not in proc.err
    assert "gr\\" in proc.out and "e.yaml:5:" in proc.out  # the bytes shown escaped
    proc = run_gen_process("lint", "m\u00f6\u00f6.yaml", cwd=tmp_path, env=env)
    assert proc.code == 2 and "Traceback" not in proc.err and "m\\" in proc.err


def test_an_os_error_anywhere_is_one_line_exit_3(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object) -> int:
        raise OSError(errno.EIO, os.strerror(errno.EIO), "/var/tmp/x")

    monkeypatch.setattr(cli_main.catalog, "run", broken)
    proc = run_gen("catalog")
    assert proc.code == 3
    assert proc.err == "gen: error: /var/tmp/x: cannot use it: Input/output error; check the disk and try again\n"


def test_a_cache_others_can_write_is_not_used(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shared = tmp_path / "shared-cache"
    shared.mkdir()
    shared.chmod(0o777)
    cache = cache_module.DiskCache(shared, "kustomize", 1)
    cache.put("k" * 64, b"planted")
    assert cache.get("k" * 64) is None and not (shared / "kustomize").exists()
    assert "is not used" in capsys.readouterr().err
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o700)
    assert cache_module.private(mine)
    os.chown(mine, 65534, 65534) if os.geteuid() == 0 else None
    if os.geteuid() == 0:
        assert not cache_module.private(mine)  # someone else's


def test_a_tampered_build_entry_is_a_miss(tmp_path: Path) -> None:
    root = tmp_path / "c"
    root.mkdir(mode=0o700)
    cache = cache_module.DiskCache(root, "kustomize", 1)
    cache.put("a" * 64, b'{"x": 1}')
    entry = root / "kustomize" / "v1" / "aa" / ("a" * 64)
    entry.write_bytes(entry.read_bytes().replace(b'"x": 1', b'"x": 2'))
    assert cache.get("a" * 64) is None
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
