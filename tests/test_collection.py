"""Every folder of tests is collected by the configured pytest (pyproject.toml): a folder left out, as pytest's
default norecursedirs leaves out any folder named build, would pass CI without ever running."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

TESTS = REPO / "tests"


@pytest.mark.slow  # collects the whole suite in a pytest process
def test_every_folder_holding_tests_is_collected() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS" and not k.startswith("PYTEST_XDIST")}
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-p", "no:cacheprovider"], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # one line per test (path::name), or per file (path: count) when quieter
    collected = {Path(m.group(1)).parent for m in re.finditer(r"^(tests/\S+?\.py)(?:::|: \d+$)", proc.stdout, re.M)}
    on_disk = {p.parent.relative_to(REPO) for p in TESTS.rglob("test_*.py") if "__pycache__" not in p.parts}
    assert on_disk, "no test files found"
    assert sorted(map(str, on_disk - collected)) == [], "folders of tests that pytest does not collect"
    assert collected <= on_disk
