"""Soak the property suites: >= 1,000 examples each (CI runs a bounded number).

    .venv/bin/python bench/soak.py [--valid N] [--broken N]

Prints examples run, failures and wall time per suite; docs/benchmarks.md records the figures.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--valid", type=int, default=1000)
    parser.add_argument("--broken", type=int, default=1000)
    args = parser.parse_args()
    env = {**os.environ, "GEN_PROPERTY_EXAMPLES_VALID": str(args.valid),
           "GEN_PROPERTY_EXAMPLES_BROKEN": str(args.broken), "GEN_PROPERTY_EXAMPLES_CLI": str(args.broken)}
    env.setdefault("GEN_SCHEMA_MIRROR", str(REPO.parent / "shared" / "upstream"))
    worst = 0
    for test, n in (("test_broken_spec_is_a_spec_error", args.broken),
                    ("test_broken_spec_exits_2_and_leaves_output_untouched", args.broken),
                    ("test_valid_spec_bundles_validates_and_is_idempotent", args.valid)):
        start = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               f"tests/cluster/test_properties.py::{test}"], cwd=REPO, env=env,
                              capture_output=True, text=True)
        took = time.monotonic() - start
        status = "ok" if proc.returncode == 0 else "FAILED"
        print(f"{test}: {n} examples, {status}, {took:.0f} s", flush=True)
        if proc.returncode:
            print(proc.stdout[-4000:], proc.stderr[-2000:])
            worst = 1
    return worst


if __name__ == "__main__":
    sys.exit(main())
