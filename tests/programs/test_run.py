"""The one subprocess gateway (``programs.run``): output and exit code captured, input given, a program stopped when it
outlives its timeout or holds more memory than its bound (an input that expands without bound, such as YAML aliases
of aliases fed to kustomize, would otherwise take the machine's memory), and nothing left running."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from generator.core.errors import GenError
from generator.programs import kustomize
from generator.programs.run import Program, Stopped, run

PYTHON = Program("python", "", (), (), "it is the interpreter running the tests", GenError)
GROW = ("import time\nheld = []\nwhile True:\n    held.append(bytearray(16 * 1024 * 1024))\n    time.sleep(0.01)\n")


def _running(marker: str) -> list[str]:
    """The processes whose command line holds ``marker`` (not zombies)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            zombie = "State:\tZ" in (entry / "status").read_text()
            if marker.encode() in (entry / "cmdline").read_bytes() and not zombie:
                found.append(entry.name)
        except OSError:
            continue
    return found


def test_output_exit_code_and_input() -> None:
    done = run(PYTHON, [sys.executable, "-c", "import sys; d = sys.stdin.read(); print(d.upper()); "
                        "print('e', file=sys.stderr); sys.exit(3)"], timeout=30, stdin=b"abc", max_memory_mib=512)
    assert not isinstance(done, Stopped)
    assert (done.returncode, done.stdout, done.stderr) == (3, b"ABC\n", b"e\n")


def test_a_program_past_its_timeout_is_stopped() -> None:
    started = time.monotonic()
    stopped = run(PYTHON, [sys.executable, "-c", "import time; time.sleep(60)"], timeout=1)
    assert stopped == Stopped("did not finish in 1 s") and time.monotonic() - started < 10


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="memory is looked at through /proc")
def test_a_program_holding_more_memory_than_its_bound_is_stopped_and_gone() -> None:
    started = time.monotonic()
    marker = f"# grows {os.getpid()}"
    stopped = run(PYTHON, [sys.executable, "-c", f"{GROW}{marker}"], timeout=60, max_memory_mib=128)
    assert stopped == Stopped("held more than 128 MiB of memory", memory=True)
    assert time.monotonic() - started < 20 and _running(marker) == []


def test_without_a_bound_memory_is_not_looked_at() -> None:
    done = run(PYTHON, [sys.executable, "-c", "x = bytearray(200 * 1024 * 1024); print(len(x))"], timeout=60)
    assert not isinstance(done, Stopped) and done.stdout == b"209715200\n"


ALIASES = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
           + "".join(f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9)))


@pytest.mark.kustomize
def test_kustomize_expanding_aliases_without_bound_is_stopped_and_said(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Real kustomize on a resource of aliases of aliases (10^9 strings once expanded; it passed 13 GB in two minutes
    unbounded): stopped at the bound, a build error that says why, and never kept as a build."""
    monkeypatch.setattr(kustomize, "MAX_MEMORY_MIB", 256)
    (tmp_path / "cm.yaml").write_text(ALIASES)
    (tmp_path / "kustomization.yaml").write_text("resources:\n- cm.yaml\n")
    started = time.monotonic()
    built = kustomize.build(tmp_path)
    assert built.objects == [] and built.error is not None
    assert built.error.startswith("kustomize held more than 256 MiB of memory; stopped: a resource that expands")
    assert time.monotonic() - started < 60
