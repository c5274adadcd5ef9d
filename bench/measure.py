"""Run a command as the user would and measure it: wall time, exit code, and the peak resident memory of the process
(``wait4``'s ``ru_maxrss``: the largest of the process and the children it waited for, such as kustomize)."""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Run:
    seconds: float
    code: int
    max_rss_mb: float
    stdout: str
    stderr: str


def run(cmd: Sequence[str], cwd: Path, env: Mapping[str, str]) -> Run:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        took = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(took, proc.returncode, usage.ru_maxrss / 1024, out.read().decode("utf-8", "replace"),
                   err.read().decode("utf-8", "replace"))


@dataclass
class Series:
    """Several runs of one measurement; the median is what the report shows."""

    runs: list[Run] = field(default_factory=list)

    def add(self, one: Run) -> Run:
        self.runs.append(one)
        return one

    @property
    def median(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def max_rss_mb(self) -> float:
        return max(r.max_rss_mb for r in self.runs)

    def as_json(self) -> dict[str, object]:
        times = [r.seconds for r in self.runs]
        return {"median_s": round(self.median, 3), "runs_s": [round(t, 3) for t in times],
                "spread_s": round(max(times) - min(times), 3),
                "max_rss_mb": round(self.max_rss_mb, 1), "exit_codes": sorted({r.code for r in self.runs})}
